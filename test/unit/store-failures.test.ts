import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { closeSync, mkdirSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describeStoreFailure } from '../../src/store/store-errors.js'
import { StoreUnavailable } from '../../src/errors.js'
import { openSqliteStore } from '../../src/store/sqlite-store.js'
import { SCHEMA_VERSION } from '../../src/store/migrations.js'
import { record, remount, tempDir, tmpfs, uuid } from './store-fixtures.ts'

const NO_MOUNT = 'cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)'

/** A StoreUnavailable (503) whose message is one line naming `path` and matching `reason`. */
function unavailable (path: string, reason: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof StoreUnavailable, `a StoreUnavailable, not ${String(error)}`)
    assert.equal(error.code, 'CU_STORE_UNAVAILABLE')
    assert.equal(error.statusCode, 503)
    assert.ok(!error.message.includes('\n'), 'one line, no stack')
    assert.ok(error.message.includes(path), `${error.message} names ${path}`)
    assert.match(error.message, reason)
    return true
  }
}

test('a missing data directory is created, parents included', (t) => {
  const dataDir = join(tempDir(t), 'a', 'b', 'data')
  const store = openSqliteStore({ dataDir })
  t.after(() => store.close())
  assert.ok(statSync(dataDir).isDirectory())
  assert.equal(store.file, join(dataDir, 'updates.db'))
  store.save(record(1))
  assert.equal(store.get(uuid(1))?.status, 'completed')
})

test('a data directory that cannot be created: a file in the way, or a parent that refuses', (t) => {
  const base = tempDir(t)
  writeFileSync(join(base, 'file'), 'x')
  assert.throws(() => openSqliteStore({ dataDir: join(base, 'file') }), unavailable(join(base, 'file'), /\(ENOTDIR\): point DATA_DIR at a directory/))
  assert.throws(() => openSqliteStore({ dataDir: join(base, 'file', 'data') }), unavailable(join(base, 'file', 'data'), /ENOTDIR/))
  // /proc answers mkdir with ENOENT under an existing parent, where Node's own mkdir -p loops forever.
  assert.throws(() => openSqliteStore({ dataDir: '/proc/cu-data/x' }), unavailable('/proc/cu-data/x', /cannot create the data directory .*ENOENT/))
})

test('a directory where the database file should be', (t) => {
  const dataDir = tempDir(t)
  mkdirSync(join(dataDir, 'updates.db'))
  assert.throws(() => openSqliteStore({ dataDir }), unavailable(join(dataDir, 'updates.db'), /cannot open database .*SQLITE_CANTOPEN/))
})

test('a database file of random bytes is not a database', (t) => {
  const dataDir = tempDir(t)
  const file = join(dataDir, 'updates.db')
  writeFileSync(file, randomBytes(8192))
  assert.throws(() => openSqliteStore({ dataDir }), unavailable(file, /is not a SQLite database \(SQLITE_NOTADB\): move it aside or restore a backup/))
  // and nothing was written over it
  assert.equal(statSync(file).size, 8192)
})

test('a database whose schema page is damaged is corrupt', (t) => {
  const dataDir = tempDir(t)
  const store = openSqliteStore({ dataDir })
  store.save(record(1))
  store.close()
  // Page 1 holds the schema after the 100-byte file header: overwrite it with noise.
  const fd = openSync(join(dataDir, 'updates.db'), 'r+')
  writeSync(fd, randomBytes(3000), 0, 3000, 100)
  closeSync(fd)
  assert.throws(() => openSqliteStore({ dataDir }), unavailable(join(dataDir, 'updates.db'), /corrupt|not a SQLite database/))
})

test('a database written by a newer updater is refused, not migrated backwards', (t) => {
  const dataDir = tempDir(t)
  openSqliteStore({ dataDir }).close()
  const db = new Database(join(dataDir, 'updates.db'))
  db.pragma('user_version = 99')
  db.close()
  assert.throws(() => openSqliteStore({ dataDir }), unavailable(join(dataDir, 'updates.db'), new RegExp(`newer updater \\(schema 99 > ${SCHEMA_VERSION}\\)`)))
})

test('a read-only volume: a clear error at open, whether the database exists or not', (t) => {
  const mount = tmpfs(t, '1m')
  if (mount === undefined) return t.skip(NO_MOUNT)
  const store = openSqliteStore({ dataDir: join(mount, 'data') })
  store.save(record(1))
  store.close()
  remount(mount, 'ro')
  assert.throws(() => openSqliteStore({ dataDir: join(mount, 'data') }),
    unavailable(join(mount, 'data', 'updates.db'), /^The record store is unavailable: database .* is read-only \(EROFS\): mount DATA_DIR writable$/))
  assert.throws(() => openSqliteStore({ dataDir: join(mount, 'other') }), unavailable(join(mount, 'other'), /directory .* is read-only \(EROFS\)/))
})

test('a full volume at start is a clear error', (t) => {
  const mount = tmpfs(t, '64k')
  if (mount === undefined) return t.skip(NO_MOUNT)
  assert.throws(() => openSqliteStore({ dataDir: mount }), unavailable(join(mount, 'updates.db'), /disk full while trying to open .*: free space on the DATA_DIR volume/))
})

test('a volume that fills up later: the write fails with StoreUnavailable, nothing half saved, and it recovers', (t) => {
  const mount = tmpfs(t, '512k')
  if (mount === undefined) return t.skip(NO_MOUNT)
  const store = openSqliteStore({ dataDir: join(mount, 'data') })
  t.after(() => store.close())
  // Room to give back once the volume is full.
  writeFileSync(join(mount, 'ballast'), Buffer.alloc(128 * 1024))
  let saved = 0
  assert.throws(() => {
    for (; saved < 1000; saved++) store.save(record(saved, { message: 'x'.repeat(16 * 1024) }))
  }, unavailable(join(mount, 'data', 'updates.db'), /disk full while trying to write .*\(SQLITE_FULL\)/))
  assert.ok(saved > 0 && saved < 1000)
  assert.equal(store.get(uuid(saved)), undefined, 'the failed record is not there')
  assert.equal(store.get(uuid(saved - 1))?.message?.length, 16 * 1024, 'the ones before are whole')
  assert.equal(store.list({ limit: 100 }).updates.length, saved, 'reads go on')

  rmSync(join(mount, 'ballast'))
  store.save(record(saved))
  assert.equal(store.get(uuid(saved))?.updateId, uuid(saved))
})

test('each cause has its own remedy in the message', () => {
  const file = '/data/updates.db'
  const cases: Array<[{ code: string, message?: string }, RegExp]> = [
    [{ code: 'EACCES' }, /permission denied on \/data\/updates.db \(EACCES\): make DATA_DIR writable/],
    [{ code: 'SQLITE_READONLY_DBMOVED' }, /database \/data\/updates.db is read-only/],
    [{ code: 'SQLITE_BUSY', message: 'database is locked' }, /locked by another process \(SQLITE_BUSY\): only one updater/],
    [{ code: 'SQLITE_CORRUPT_INDEX', message: 'database disk image is malformed' }, /corrupt \(SQLITE_CORRUPT_INDEX: database disk image is malformed\)/],
    [{ code: 'SQLITE_IOERR_FSYNC', message: 'disk I/O error' }, /I\/O error while trying to write \/data\/updates.db \(SQLITE_IOERR_FSYNC: disk I\/O error\)/],
    [{ code: 'ENOSPC', message: 'ENOSPC: no space left on device' }, /disk full/]
  ]
  for (const [error, expected] of cases) assert.match(describeStoreFailure(file, 'write', error), expected)
  assert.match(describeStoreFailure(file, 'read', new Error('odd\n    at x')), /^cannot read \/data\/updates.db \(UNKNOWN: odd\)$/)
})
