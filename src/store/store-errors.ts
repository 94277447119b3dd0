import { StoreUnavailable } from '../errors.js'

/**
 * Failures of the record store, as StoreUnavailable (src/errors.ts). A store that cannot be opened
 * stops the start with this error's one line; a read or write that fails later is answered 503 with
 * the same line, so a record is never lost silently.
 */

interface ErrorWithCode { code?: unknown, message?: unknown }

/**
 * What went wrong, in one line an operator can act on: the path, Node's errno or SQLite's code,
 * and the remedy. `action` says what the store was doing ("open", "write", "read").
 */
export function describeStoreFailure (path: string, action: string, error: unknown): string {
  const { code: rawCode, message: rawMessage } = (error ?? {}) as ErrorWithCode
  const code = typeof rawCode === 'string' ? rawCode : 'UNKNOWN'
  // Node's errno messages start with the code again ("ENOENT: no such file…")
  const detail = (typeof rawMessage === 'string' ? rawMessage : String(error)).replace(/^[A-Z_]+: /, '').split('\n', 1)[0] ?? ''
  const uid = typeof process.getuid === 'function' ? ` by uid ${process.getuid()}` : ''
  const what = path.endsWith('.db') ? 'database' : 'directory'
  if (code === 'EROFS' || code.startsWith('SQLITE_READONLY')) {
    return `${what} ${path} is read-only (${code}): mount DATA_DIR writable`
  }
  if (code === 'EACCES' || code === 'EPERM' || code.startsWith('SQLITE_PERM') || code.startsWith('SQLITE_AUTH')) {
    return `permission denied on ${path} (${code}): make DATA_DIR writable${uid}`
  }
  if (code === 'ENOTDIR' || code === 'EEXIST') {
    return `${path} cannot be a directory: a file is in the way (${code}): point DATA_DIR at a directory`
  }
  // SHMSIZE: SQLite could not grow its -shm file, which on a full volume is the first write to fail.
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL' || code === 'SQLITE_IOERR_SHMSIZE') {
    return `disk full while trying to ${action} ${path} (${code}): free space on the DATA_DIR volume`
  }
  if (code === 'SQLITE_NOTADB') {
    return `${path} is not a SQLite database (${code}): move it aside or restore a backup`
  }
  if (code.startsWith('SQLITE_CORRUPT')) {
    return `database ${path} is corrupt (${code}: ${detail}): restore a backup or move it aside`
  }
  if (code.startsWith('SQLITE_CANTOPEN')) {
    return `cannot open database ${path} (${code}): DATA_DIR must be a writable directory${uid}`
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return `database ${path} is locked by another process (${code}): only one updater may use a DATA_DIR at a time`
  }
  if (code.startsWith('SQLITE_IOERR')) {
    return `I/O error while trying to ${action} ${path} (${code}: ${detail})`
  }
  return `cannot ${action} ${path} (${code}: ${detail})`
}

/** Wraps a failure of the database (or file system) in StoreUnavailable, keeping the cause. */
export function storeFailure (path: string, action: string, error: unknown): Error {
  if (error instanceof StoreUnavailable) return error
  return new StoreUnavailable(describeStoreFailure(path, action, error), { cause: error })
}
