import { collectPage, sinceMs, decodeCursor, positionOf, type Position } from './cursor.js'
import { isFinal, type ListQuery, type StoredBatch, type StoredUpdate, type UpdateStore } from './records.js'

/**
 * The record store in memory, with the SQLite store's semantics (ordering, paging, pruning):
 * for unit tests of the engine and `DATA_DIR=:memory:`. Records are copied in and out, as a
 * database would; at most `max` are kept (the oldest written first go).
 */
export function createMemoryStore (max = Number.MAX_SAFE_INTEGER): UpdateStore {
  const updates = new Map<string, StoredUpdate>()
  const batches = new Map<string, StoredBatch>()
  const copy = <T>(value: T): T => structuredClone(value)
  const newerFirst = (a: Position, b: Position): number =>
    b.startedMs - a.startedMs || (a.updateId < b.updateId ? 1 : a.updateId > b.updateId ? -1 : 0)

  return {
    save: (record) => {
      // As the database does: an unparseable startedAt is a bug of the caller.
      if (Number.isNaN(Date.parse(record.startedAt))) throw new TypeError(`startedAt is not a date: ${record.startedAt}`)
      updates.set(record.updateId, copy(record))
      while (updates.size > max) updates.delete(updates.keys().next().value as string)
    },
    get: (updateId) => {
      const record = updates.get(updateId)
      return record === undefined ? undefined : copy(record)
    },
    list: (query: ListQuery) => {
      const since = sinceMs(query.since) ?? Number.MIN_SAFE_INTEGER
      const start = query.cursor === undefined ? undefined : decodeCursor(query.cursor)
      const matching = [...updates.values()]
        .filter((r) => Date.parse(r.startedAt) >= since && (query.service === undefined || r.service === query.service) &&
          (query.status === undefined || r.status === query.status))
        .sort((a, b) => newerFirst(positionOf(a), positionOf(b)))
      return collectPage((after, count) => {
        const from = after === undefined ? 0 : matching.findIndex((r) => newerFirst(after, positionOf(r)) < 0)
        return from === -1 ? [] : matching.slice(from, from + count).map(copy)
      }, query.limit, query.visible, start)
    },
    unfinished: () => [...updates.values()]
      .filter((r) => !isFinal(r.status))
      .sort((a, b) => -newerFirst(positionOf(a), positionOf(b)))
      .map(copy),
    saveBatch: (batch) => { batches.set(batch.batchId, copy(batch)) },
    getBatch: (batchId) => {
      const batch = batches.get(batchId)
      return batch === undefined ? undefined : copy(batch)
    },
    prune: (before, limit = Number.MAX_SAFE_INTEGER) => {
      let deleted = 0
      for (const [id, record] of updates) {
        if (deleted === limit) return deleted
        if (isFinal(record.status) && Date.parse(record.finishedAt ?? record.startedAt) < before.getTime()) {
          updates.delete(id)
          deleted++
        }
      }
      const referenced = new Set([...updates.values()].map((r) => r.batchId))
      for (const [id, batch] of batches) {
        if (deleted === limit) return deleted
        if (Date.parse(batch.createdAt) < before.getTime() && !referenced.has(id)) {
          batches.delete(id)
          deleted++
        }
      }
      return deleted
    },
    close: () => {}
  }
}
