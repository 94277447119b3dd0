import { accessSync, constants, mkdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import Database from 'better-sqlite3'
import { collectPage, decodeCursor, sinceMs, type Position } from './cursor.js'
import { FINAL_STATES, type ListQuery, type StoredBatch, type StoredUpdate, type UpdateStore } from './records.js'
import { fromBatchRow, fromRow, toBatchRow, toRow, UPDATE_COLUMNS, type BatchRow, type UpdateRow } from './sqlite-schema.js'
import { migrate, NewerSchema, SCHEMA_VERSION } from './migrations.js'
import { StoreUnavailable } from '../errors.js'
import { storeFailure } from './store-errors.js'

/**
 * The durable record store (DESIGN §6): SQLite through better-sqlite3, whose calls are synchronous,
 * so `save()` has returned (the row is in the WAL) before the answer naming the record is sent.
 * Why this driver and these settings: docs/DESIGN-NOTES.md, "Record store".
 */
export interface SqliteStoreOptions {
  dataDir: string
  /**
   * NORMAL (default): a commit survives the process being killed (kill -9, OOM); only an OS crash
   * or power loss can lose the last commits. FULL also fsyncs the WAL at every commit.
   */
  synchronous?: 'NORMAL' | 'FULL'
  /** milliseconds a writer waits for another process's lock (a self-update's two instances) */
  busyTimeoutMs?: number
}

export interface SqliteStore extends UpdateStore {
  /** the database file */
  readonly file: string
}

export const DATABASE_FILE = 'updates.db'
const FINAL_LIST = FINAL_STATES.map((s) => `'${s}'`).join(', ')

/** Errors that come from SQLite or the file system (anything else is a bug and passes unchanged). */
const isStorageError = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && (code.startsWith('SQLITE_') || /^E[A-Z]+$/.test(code))
}

/**
 * Opens (creating when missing) `${dataDir}/updates.db`. Every failure, now or later, is a
 * StoreUnavailable (503) whose message names the file, the cause and the remedy.
 */
export function openSqliteStore (options: SqliteStoreOptions): SqliteStore {
  const { dataDir, synchronous = 'NORMAL', busyTimeoutMs = 5000 } = options
  const file = join(dataDir, DATABASE_FILE)
  try {
    ensureDirectory(dataDir)
  } catch (error) {
    throw storeFailure(dataDir, 'create the data directory', error)
  }
  try {
    // SQLite would open a write-protected file read-only without a word; ask the file system first.
    accessSync(dataDir, constants.W_OK)
  } catch (error) {
    throw storeFailure(file, 'open', error)
  }
  let db: Database.Database
  try {
    db = new Database(file, { timeout: busyTimeoutMs })
  } catch (error) {
    throw storeFailure(file, 'open', error)
  }
  try {
    // WAL: readers never block the writer; a commit is one append to the -wal file.
    const mode = db.pragma('journal_mode = WAL', { simple: true })
    if (mode !== 'wal') throw Object.assign(new Error(`journal_mode is ${String(mode)}, not wal`), { code: 'SQLITE_CANTOPEN_WAL' })
    db.pragma(`synchronous = ${synchronous}`)
    migrate(db)
    // A real write at every start: a read-only or full volume is found now, not at the first update.
    db.prepare('INSERT OR REPLACE INTO opened (id, at, pid) VALUES (1, ?, ?)').run(new Date().toISOString(), process.pid)
    return buildStore(db, file)
  } catch (error) {
    try { db.close() } catch {}
    if (error instanceof NewerSchema) {
      throw new StoreUnavailable(`database ${file} was written by a newer updater (schema ${error.found} > ${SCHEMA_VERSION}): run that version or restore a backup`)
    }
    throw storeFailure(file, 'open', error)
  }
}

/**
 * mkdir -p, written out because Node's recursive mkdirSync loops forever where mkdir answers
 * ENOENT under an existing parent (e.g. DATA_DIR=/proc/x, measured on Node 20 and 24).
 */
function ensureDirectory (dir: string): void {
  try {
    mkdirSync(dir)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') {
      if (!statSync(dir).isDirectory()) throw Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' })
      return
    }
    const parent = dirname(dir)
    if (code !== 'ENOENT' || parent === dir) throw error
    ensureDirectory(parent)
    mkdirSync(dir) // ENOENT again now, with the parent there, is final
  }
}

function buildStore (db: Database.Database, file: string): SqliteStore {
  const guard = <T>(action: string, fn: () => T): T => {
    try {
      return fn()
    } catch (error) {
      throw isStorageError(error) ? storeFailure(file, action, error) : error
    }
  }

  const columns = UPDATE_COLUMNS.join(', ')
  const saveUpdate = db.prepare<UpdateRow>(`INSERT INTO updates (${columns}) VALUES (${UPDATE_COLUMNS.map((c) => '@' + c).join(', ')})
    ON CONFLICT (update_id) DO UPDATE SET ${UPDATE_COLUMNS.filter((c) => c !== 'update_id').map((c) => `${c} = excluded.${c}`).join(', ')}`)
  const saveNames = db.prepare<UpdateRow>('INSERT OR IGNORE INTO names (service, app_name) VALUES (@service, @app_name)')
  // One transaction, so one commit (one WAL append) for both statements.
  const saveRow = db.transaction((row: UpdateRow) => {
    saveUpdate.run(row)
    saveNames.run(row)
  })
  const getUpdate = db.prepare<[string], UpdateRow>('SELECT * FROM updates WHERE update_id = ?')
  const unfinished = db.prepare<[], UpdateRow>("SELECT * FROM updates WHERE status IN ('queued', 'held', 'pending_approval', 'updating', 'verifying', 'timeout') ORDER BY started_ms, update_id")
  const saveBatch = db.prepare<BatchRow>(`INSERT OR REPLACE INTO batches (batch_id, target, update_ids, skipped, created_at, created_ms, requested_by)
    VALUES (@batch_id, @target, @update_ids, @skipped, @created_at, @created_ms, @requested_by)`)
  const getBatch = db.prepare<[string], BatchRow>('SELECT * FROM batches WHERE batch_id = ?')
  const pruneUpdates = db.prepare<[number, number]>(`DELETE FROM updates WHERE rowid IN (SELECT rowid FROM updates INDEXED BY updates_by_end
    WHERE coalesce(finished_ms, started_ms) < ? AND status IN (${FINAL_LIST}) LIMIT ?)`)
  const pruneBatches = db.prepare<[number, number]>(`DELETE FROM batches WHERE rowid IN (SELECT rowid FROM batches AS b
    WHERE created_ms < ? AND NOT EXISTS (SELECT 1 FROM updates AS u WHERE u.batch_id = b.batch_id) LIMIT ?)`)

  // One prepared statement per combination of filters, so each uses its own index.
  interface ListParams { since: number, count: number, names: string | null, service?: string, status?: string, afterMs?: number, afterId?: string }
  const distinctNames = db.prepare<[], [string, string]>('SELECT service, app_name FROM names').raw()
  const listStatements = new Map<string, Database.Statement<ListParams, UpdateRow>>()
  for (const service of [false, true]) {
    for (const status of [false, true]) {
      for (const after of [false, true]) {
        // names: the JSON array of the `service US app_name` pairs the caller may see (null: all)
        const where = ['started_ms >= @since', '(@names IS NULL OR service || char(31) || app_name IN (SELECT value FROM json_each(@names)))']
        if (service) where.push('service = @service')
        if (status) where.push('status = @status')
        if (after) where.push('(started_ms, update_id) < (@afterMs, @afterId)')
        listStatements.set(`${service}${status}${after}`, db.prepare<ListParams, UpdateRow>(
          `SELECT * FROM updates WHERE ${where.join(' AND ')} ORDER BY started_ms DESC, update_id DESC LIMIT @count`))
      }
    }
  }

  /** The (service, appName) pairs in the history that the caller may see; null when it may see all. */
  const visibleNames = (visible: NonNullable<ListQuery['visible']>): string | null => {
    const pairs = distinctNames.all()
    const allowed = pairs.filter(([service, appName]) => visible({ service, appName }))
    return allowed.length === pairs.length ? null : JSON.stringify(allowed.map(([service, appName]) => `${service}\u001f${appName}`))
  }

  return {
    file,
    save: (record: StoredUpdate) => {
      const row = toRow(record)
      guard('write', () => saveRow(row))
    },
    get: (updateId: string) => guard('read', () => {
      const row = getUpdate.get(updateId)
      return row === undefined ? undefined : fromRow(row)
    }),
    list: (query: ListQuery) => {
      const since = sinceMs(query.since) ?? Number.MIN_SAFE_INTEGER
      const start = query.cursor === undefined ? undefined : decodeCursor(query.cursor)
      const statement = (after: Position | undefined) => listStatements.get(`${query.service !== undefined}${query.status !== undefined}${after !== undefined}`)!
      return guard('read', () => {
        const names = query.visible === undefined ? null : visibleNames(query.visible)
        return collectPage((after, count) => statement(after).all({
          since,
          count,
          names,
          ...(query.service !== undefined && { service: query.service }),
          ...(query.status !== undefined && { status: query.status }),
          ...(after !== undefined && { afterMs: after.startedMs, afterId: after.updateId })
        }).map(fromRow), query.limit, query.visible, start)
      })
    },
    unfinished: () => guard('read', () => unfinished.all().map(fromRow)),
    saveBatch: (batch: StoredBatch) => {
      const row = toBatchRow(batch)
      guard('write', () => saveBatch.run(row))
    },
    getBatch: (batchId: string) => guard('read', () => {
      const row = getBatch.get(batchId)
      return row === undefined ? undefined : fromBatchRow(row)
    }),
    prune: (before: Date, limit = Number.MAX_SAFE_INTEGER) => guard('prune', () => {
      const deleted = pruneUpdates.run(before.getTime(), limit).changes
      // Batches go once none of their updates is left (theirs were older or pruned just now).
      return deleted < limit ? deleted + pruneBatches.run(before.getTime(), limit - deleted).changes : deleted
    }),
    close: () => {
      if (db.open) db.close()
    }
  }
}
