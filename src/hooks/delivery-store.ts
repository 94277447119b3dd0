import { boundedEventId, DELIVERY_DEFAULTS, type DeliveryLimits, type DeliveryMemory } from './deliveries.js'
import { openSideConnection } from '../store/side-connection.js'

/**
 * The event ids of registry push deliveries already handled, in the record database (table
 * `hook_deliveries`, migration 4 of migrations.ts), through a connection of its own as the
 * watch store has: a redelivery after a restart is still a duplicate. Bounded: ids are at most 128
 * characters (boundedEventId), rows older than the TTL are deleted, and beyond `max` rows the oldest
 * go, all in the transaction that records a delivery's ids (one commit per delivery).
 */
export function openDeliveryStore (file: string, limits: DeliveryLimits & { now?: () => number } = {}, busyTimeoutMs = 5000): DeliveryMemory {
  const { max = DELIVERY_DEFAULTS.max, ttlMs = DELIVERY_DEFAULTS.ttlMs, now = Date.now } = limits
  const { db, guard } = openSideConnection(file, busyTimeoutMs)
  const statements = guard('open', () => ({
    seen: db.prepare<[string, string], { seen_ms: number }>('SELECT seen_ms FROM hook_deliveries WHERE source = ? AND event_id = ?'),
    record: db.prepare<[string, string, number]>('INSERT OR REPLACE INTO hook_deliveries (source, event_id, seen_ms) VALUES (?, ?, ?)'),
    forget: db.prepare<[string, string]>('DELETE FROM hook_deliveries WHERE source = ? AND event_id = ?'),
    expire: db.prepare<[number]>('DELETE FROM hook_deliveries WHERE seen_ms < ?'),
    count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM hook_deliveries'),
    dropOldest: db.prepare<[number]>(`DELETE FROM hook_deliveries WHERE (source, event_id) IN
      (SELECT source, event_id FROM hook_deliveries INDEXED BY hook_deliveries_by_age ORDER BY seen_ms LIMIT ?)`)
  }))
  const remember = db.transaction((source: string, ids: readonly string[]): boolean[] => {
    const at = now()
    const fresh = ids.map((raw) => {
      const id = boundedEventId(raw)
      const seen = statements.seen.get(source, id)
      if (seen !== undefined && at - seen.seen_ms < ttlMs) return false
      statements.record.run(source, id, at)
      return true
    })
    if (fresh.some(Boolean)) {
      statements.expire.run(at - ttlMs)
      const excess = statements.count.get()!.n - max
      if (excess > 0) statements.dropOldest.run(excess)
    }
    return fresh
  })
  const forget = db.transaction((source: string, ids: readonly string[]) => {
    for (const id of ids) statements.forget.run(source, boundedEventId(id))
  })
  return {
    remember: (source, ids) => guard('write', () => remember(source, ids)),
    forget: (source, ids) => guard('write', () => { forget(source, ids) }),
    close: () => {
      if (db.open) db.close()
    }
  }
}
