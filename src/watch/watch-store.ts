import { openSideConnection } from '../store/side-connection.js'

/**
 * The watcher's durable state (DESIGN §7: first-seen times, quarantines, last checks and results),
 * in the record store's database (tables of migration 2, src/store/migrations.ts), through a
 * connection of its own: WAL lets both connections of the process read and write the one file.
 * Synchronous like the record store; every failure is a StoreUnavailable naming the file.
 */
export interface Quarantine { serviceId: string, service: string, digest: string, updateId: string, sinceMs: number }

export interface ServiceCheck {
  serviceId: string
  service: string
  lastCheckedMs: number | null
  state: string | null
  message: string | null
  /** the `digest` or `tag@digest` last notified as available */
  notified: string | null
}

export interface WatchStore {
  /** When `digest` was first seen under `image` (normalised repo:tag); recorded as `nowMs` if never before. */
  firstSeen: (image: string, digest: string, nowMs: number) => number
  getCheck: (serviceId: string) => ServiceCheck | undefined
  checks: () => ServiceCheck[]
  saveCheck: (check: ServiceCheck) => void
  /** Several checks in one transaction (a cycle's, src/watch/check-writer.ts): one commit, not one per service. */
  saveChecks: (checks: readonly ServiceCheck[]) => void
  /** Deletes the checks of these services (no longer watched), in one statement. */
  forget: (serviceIds: readonly string[]) => void
  getQuarantine: (serviceId: string) => Quarantine | undefined
  quarantines: () => Quarantine[]
  quarantine: (q: Quarantine) => void
  /** true when there was one */
  lift: (serviceId: string) => boolean
  close: () => void
}

interface CheckRow { service_id: string, service: string, last_checked_ms: number | null, state: string | null, message: string | null, notified: string | null }
interface QuarantineRow { service_id: string, service: string, digest: string, update_id: string, since_ms: number }

const fromCheck = (r: CheckRow): ServiceCheck => ({ serviceId: r.service_id, service: r.service, lastCheckedMs: r.last_checked_ms, state: r.state, message: r.message, notified: r.notified })
const fromQuarantine = (r: QuarantineRow): Quarantine => ({ serviceId: r.service_id, service: r.service, digest: r.digest, updateId: r.update_id, sinceMs: r.since_ms })

/**
 * Opens the watch tables of an already migrated database file (openSqliteStore ran first), or a
 * database of its own in memory for `:memory:` (DATA_DIR=:memory:, tests).
 */
export function openWatchStore (file: string, busyTimeoutMs = 5000): WatchStore {
  const { db, guard } = openSideConnection(file, busyTimeoutMs)
  const statements = guard('open', () => ({
    insertSeen: db.prepare<[string, string, number]>('INSERT OR IGNORE INTO watch_seen (image, digest, first_seen_ms) VALUES (?, ?, ?)'),
    getSeen: db.prepare<[string, string], { first_seen_ms: number }>('SELECT first_seen_ms FROM watch_seen WHERE image = ? AND digest = ?'),
    getCheck: db.prepare<[string], CheckRow>('SELECT * FROM watch_services WHERE service_id = ?'),
    checks: db.prepare<[], CheckRow>('SELECT * FROM watch_services'),
    // Positional parameters (one check, or a cycle's in a transaction): binding an object by name
    // cost a cycle's writes about half again as much (500 checks: 1.1 ms against 0.7 ms here; a
    // json_each statement, 1.2 ms).
    saveCheck: db.prepare<[string, string, number | null, string | null, string | null, string | null]>(`INSERT INTO watch_services (service_id, service, last_checked_ms, state, message, notified)
      VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (service_id) DO UPDATE SET service = excluded.service, last_checked_ms = excluded.last_checked_ms,
      state = excluded.state, message = excluded.message, notified = excluded.notified`),
    forget: db.prepare<[string]>('DELETE FROM watch_services WHERE service_id IN (SELECT value FROM json_each(?))'),
    getQuarantine: db.prepare<[string], QuarantineRow>('SELECT * FROM quarantines WHERE service_id = ?'),
    quarantines: db.prepare<[], QuarantineRow>('SELECT * FROM quarantines ORDER BY since_ms'),
    quarantine: db.prepare<QuarantineRow>(`INSERT OR REPLACE INTO quarantines (service_id, service, digest, update_id, since_ms)
      VALUES (@service_id, @service, @digest, @update_id, @since_ms)`),
    lift: db.prepare<[string]>('DELETE FROM quarantines WHERE service_id = ?')
  }))
  const firstSeen = db.transaction((image: string, digest: string, nowMs: number): number => {
    statements.insertSeen.run(image, digest, nowMs)
    return statements.getSeen.get(image, digest)!.first_seen_ms
  })
  const save = (c: ServiceCheck): void => { statements.saveCheck.run(c.serviceId, c.service, c.lastCheckedMs, c.state, c.message, c.notified) }
  const saveChecks = db.transaction((checks: readonly ServiceCheck[]) => { for (const c of checks) save(c) })
  return {
    firstSeen: (image, digest, nowMs) => guard('write', () => firstSeen(image, digest, nowMs)),
    getCheck: (serviceId) => guard('read', () => {
      const row = statements.getCheck.get(serviceId)
      return row === undefined ? undefined : fromCheck(row)
    }),
    checks: () => guard('read', () => statements.checks.all().map(fromCheck)),
    saveCheck: (c) => guard('write', () => { save(c) }),
    saveChecks: (checks) => guard('write', () => { saveChecks(checks) }),
    forget: (ids) => guard('write', () => { statements.forget.run(JSON.stringify(ids)) }),
    getQuarantine: (serviceId) => guard('read', () => {
      const row = statements.getQuarantine.get(serviceId)
      return row === undefined ? undefined : fromQuarantine(row)
    }),
    quarantines: () => guard('read', () => statements.quarantines.all().map(fromQuarantine)),
    quarantine: (q) => guard('write', () => {
      statements.quarantine.run({ service_id: q.serviceId, service: q.service, digest: q.digest, update_id: q.updateId, since_ms: q.sinceMs })
    }),
    lift: (serviceId) => guard('write', () => statements.lift.run(serviceId).changes > 0),
    close: () => {
      if (db.open) db.close()
    }
  }
}
