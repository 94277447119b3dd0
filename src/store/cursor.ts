import type { ListQuery, StoredUpdate } from './records.js'
import { InvalidCursor, InvalidSince } from '../errors.js'

/**
 * Keyset paging of GET /updates, shared by every store: newest first by (startedAt, updateId).
 * A cursor is the position of the last record a page returned, so it names only a record the
 * caller could see; the next page applies the caller's visibility again, so a cursor taken from
 * (or forged for) another scope reveals nothing either.
 */
export interface Position {
  /** startedAt in milliseconds since the epoch (startedAt strings are compared as instants) */
  startedMs: number
  updateId: string
}

export const positionOf = (record: StoredUpdate): Position => ({ startedMs: Date.parse(record.startedAt), updateId: record.updateId })

export function encodeCursor (position: Position): string {
  return Buffer.from(JSON.stringify([position.startedMs, position.updateId])).toString('base64url')
}

/** Throws InvalidCursor (400) for anything a previous page did not hand out. */
export function decodeCursor (cursor: string): Position {
  let parsed: unknown
  try {
    if (cursor.length > 200 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error('not base64url')
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    throw new InvalidCursor()
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw new InvalidCursor()
  const [startedMs, updateId] = parsed as unknown[]
  if (!Number.isSafeInteger(startedMs) || typeof updateId !== 'string' || updateId.length > 64) throw new InvalidCursor()
  return { startedMs: startedMs as number, updateId }
}

/** `since` as milliseconds; InvalidSince (400) when it is not a date. */
export function sinceMs (since: string | undefined): number | undefined {
  if (since === undefined) return undefined
  const ms = Date.parse(since)
  if (Number.isNaN(ms)) throw new InvalidSince(since)
  return ms
}

/** Rows after `after` (exclusive), newest first, at most `count` of them. */
export type FetchChunk = (after: Position | undefined, count: number) => StoredUpdate[]

export const MAX_LIMIT = 100
/** Rows read per chunk once the first chunk came back mostly invisible. */
const MAX_CHUNK = 500

/**
 * Reads chunks until `limit` visible records and one more are found (the one more tells whether
 * there is a next page, so the last page's nextCursor is null) or the rows run out. `visible` is
 * applied here to every row even where the store has filtered by it already.
 */
export function collectPage (fetch: FetchChunk, limit: number, visible: ListQuery['visible'], after: Position | undefined): { updates: StoredUpdate[], nextCursor: string | null } {
  const wanted = Math.min(Math.max(Math.trunc(limit) || 1, 1), MAX_LIMIT)
  const updates: StoredUpdate[] = []
  let chunkSize = wanted + 1
  let position = after
  let more = false
  for (;;) {
    const rows = fetch(position, chunkSize)
    for (const row of rows) {
      if (visible !== undefined && !visible(row)) continue
      if (updates.length === wanted) {
        more = true
        break
      }
      updates.push(row)
    }
    const last = rows.at(-1)
    if (more || rows.length < chunkSize || last === undefined) break
    position = positionOf(last)
    // A narrow scope may see few rows: read larger chunks instead of many small queries.
    chunkSize = Math.min(chunkSize * 4, MAX_CHUNK)
  }
  const lastReturned = updates.at(-1)
  return { updates, nextCursor: more && lastReturned !== undefined ? encodeCursor(positionOf(lastReturned)) : null }
}
