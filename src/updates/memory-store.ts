import type { ListQuery, StoredBatch, StoredUpdate, UpdateStore } from './records.js'

/**
 * Records in memory, bounded (oldest evicted first): for unit tests and `DATA_DIR=:memory:`.
 * Same contract as the SQLite store, without durability.
 */
export function memoryStore (max = 10_000): UpdateStore {
  const updates = new Map<string, StoredUpdate>()
  const batches = new Map<string, StoredBatch>()
  const newestFirst = (a: StoredUpdate, b: StoredUpdate): number =>
    a.startedAt === b.startedAt ? (a.updateId < b.updateId ? 1 : -1) : (a.startedAt < b.startedAt ? 1 : -1)
  return {
    save (record) {
      updates.set(record.updateId, structuredClone(record))
      while (updates.size > max) updates.delete(updates.keys().next().value as string)
    },
    get: (id) => { const r = updates.get(id); return r === undefined ? undefined : structuredClone(r) },
    list (query: ListQuery) {
      const after = query.cursor !== undefined ? decodeCursor(query.cursor) : undefined
      const rows = [...updates.values()].sort(newestFirst).filter((r) =>
        (query.service === undefined || r.service === query.service) &&
        (query.status === undefined || r.status === query.status) &&
        (query.since === undefined || r.startedAt >= query.since) &&
        (after === undefined || r.startedAt < after.startedAt || (r.startedAt === after.startedAt && r.updateId < after.updateId)) &&
        (query.visible === undefined || query.visible(r)))
      const page = rows.slice(0, query.limit).map((r) => structuredClone(r))
      const last = page.at(-1)
      return { updates: page, nextCursor: rows.length > query.limit && last !== undefined ? encodeCursor(last) : null }
    },
    unfinished: () => [...updates.values()].filter((r) => ['queued', 'updating', 'timeout'].includes(r.status)).map((r) => structuredClone(r)),
    saveBatch (batch) { batches.set(batch.batchId, structuredClone(batch)) },
    getBatch: (id) => { const b = batches.get(id); return b === undefined ? undefined : structuredClone(b) },
    prune (before) {
      let n = 0
      for (const [id, r] of updates) {
        if (r.finishedAt !== null && r.finishedAt < before.toISOString()) { updates.delete(id); n++ }
      }
      return n
    },
    close () {}
  }
}

function encodeCursor (r: StoredUpdate): string {
  return Buffer.from(JSON.stringify([r.startedAt, r.updateId])).toString('base64url')
}

function decodeCursor (cursor: string): { startedAt: string, updateId: string } | undefined {
  try {
    const [startedAt, updateId] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown]
    return typeof startedAt === 'string' && typeof updateId === 'string' ? { startedAt, updateId } : undefined
  } catch {
    return undefined
  }
}
