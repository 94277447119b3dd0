import { openSideConnection } from './side-connection.js'

/**
 * Freezes in force (DESIGN §8), in the record store's database (table of migration 5,
 * src/store/sqlite-schema.ts) through a connection of its own, as the watch store does: WAL lets
 * both connections of the process read and write the one file. Synchronous; every failure is a
 * StoreUnavailable naming the file.
 */
export interface Freeze {
  freezeId: string
  /** service names or globs (`*` any run of characters), as token scopes (src/auth/scope.ts) */
  services: string[]
  /** ISO date-time: the freeze ends then */
  until: string
  reason: string
  createdAt: string
  /** the admin token's subject */
  createdBy?: string
}

export interface FreezeStore {
  add: (freeze: Freeze) => void
  /** every freeze stored, soonest end first */
  list: () => Freeze[]
  /** true when there was one */
  remove: (freezeId: string) => boolean
  close: () => void
}

interface FreezeRow { freeze_id: string, services: string, until: string, until_ms: number, reason: string, created_at: string, created_by: string | null }

const fromRow = (r: FreezeRow): Freeze => ({
  freezeId: r.freeze_id,
  services: JSON.parse(r.services) as string[],
  until: r.until,
  reason: r.reason,
  createdAt: r.created_at,
  ...(r.created_by !== null && { createdBy: r.created_by })
})

/**
 * Opens the freezes of an already migrated database file (openSqliteStore ran first), or a
 * database of its own in memory for `:memory:` (DATA_DIR=:memory:, tests).
 */
export function openFreezeStore (file: string, busyTimeoutMs = 5000): FreezeStore {
  const { db, guard } = openSideConnection(file, busyTimeoutMs)
  const statements = guard('open', () => ({
    add: db.prepare<FreezeRow>(`INSERT INTO freezes (freeze_id, services, until, until_ms, reason, created_at, created_by)
      VALUES (@freeze_id, @services, @until, @until_ms, @reason, @created_at, @created_by)`),
    list: db.prepare<[], FreezeRow>('SELECT * FROM freezes ORDER BY until_ms, freeze_id'),
    remove: db.prepare<[string]>('DELETE FROM freezes WHERE freeze_id = ?')
  }))
  return {
    add: (f) => guard('write', () => {
      statements.add.run({ freeze_id: f.freezeId, services: JSON.stringify(f.services), until: f.until, until_ms: Date.parse(f.until), reason: f.reason, created_at: f.createdAt, created_by: f.createdBy ?? null })
    }),
    list: () => guard('read', () => statements.list.all().map(fromRow)),
    remove: (freezeId) => guard('write', () => statements.remove.run(freezeId).changes > 0),
    close: () => {
      if (db.open) db.close()
    }
  }
}
