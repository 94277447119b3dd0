import Database from 'better-sqlite3'
import { migrate } from './migrations.js'
import { storeFailure } from './store-errors.js'

/** A connection of its own to the record database, and the guard that turns its failures into StoreUnavailable. */
export interface SideConnection {
  db: Database.Database
  /** Runs `fn`; a SQLite or file-system failure is thrown as StoreUnavailable naming the file and `action`. */
  guard: <T>(action: string, fn: () => T) => T
}

/**
 * Opens the record database for the tables of another concern (the watcher's, the freezes, the hook
 * deliveries), each through its own connection: `file` was opened and migrated by openSqliteStore
 * first. `:memory:` (DATA_DIR=:memory:, tests) is a database of its own, migrated here.
 */
export function openSideConnection (file: string, busyTimeoutMs = 5000): SideConnection {
  let db: Database.Database
  try {
    db = new Database(file, { timeout: busyTimeoutMs, fileMustExist: file !== ':memory:' })
    db.pragma('synchronous = NORMAL')
    if (file === ':memory:') migrate(db)
  } catch (error) {
    throw storeFailure(file, 'open', error)
  }
  const guard = <T>(action: string, fn: () => T): T => {
    try {
      return fn()
    } catch (error) {
      throw storeFailure(file, action, error)
    }
  }
  return { db, guard }
}
