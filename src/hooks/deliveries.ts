import { createHash } from 'node:crypto'

/**
 * Event ids seen recently, so a repeated delivery changes nothing: registries retry on slow or
 * failed answers, GitHub and Harbor let an operator redeliver, and a replayed request must not
 * restart services again (docs/WEBHOOKS.md, "Repeated deliveries"). Two kinds: in the record
 * database, so a redelivery after a restart is still a duplicate (src/hooks/delivery-store.ts), and
 * in memory for DATA_DIR=:memory: (below). Both bound what they keep in count and in age, and ids
 * are bounded in length before they reach either (boundedEventId).
 */
export interface DeliveryMemory {
  /**
   * Records every id of `source`; for each, false when it was seen within the TTL (a duplicate).
   * One call per delivery: the database writes them in one transaction.
   */
  remember: (source: string, ids: readonly string[]) => boolean[]
  /** Forgets ids, so a redelivery is accepted again (their hand-over or their Docker read failed). */
  forget: (source: string, ids: readonly string[]) => void
  close: () => void
}

export interface DeliveryLimits {
  /** how many ids are remembered, all sources together (default 10 000) */
  max?: number
  /** for how long (default 24 h) */
  ttlMs?: number
}

export const DELIVERY_DEFAULTS = { max: 10_000, ttlMs: 24 * 3600_000 } as const

/** Longer ids are kept as a hash of themselves: a sender controls their length, not our memory. */
export const MAX_EVENT_ID_LENGTH = 128

/**
 * The id as it is remembered, logged and stored: itself when short, else `sha256:<hex>` of it, so a
 * 450 kB id costs 71 bytes and a repeated one is still recognised. Hashing also copies: nothing
 * keeps a slice of the request body alive.
 */
export function boundedEventId (id: string): string {
  return id.length <= MAX_EVENT_ID_LENGTH ? id : `sha256:${createHash('sha256').update(id).digest('hex')}`
}

/**
 * The in-memory log, bounded in count, in bytes (oldest forgotten first) and in age. Ids are keyed
 * by source: the same id from another source is another event.
 */
export class DeliveryLog implements DeliveryMemory {
  readonly #seen = new Map<string, number>()
  readonly #max: number
  readonly #maxBytes: number
  readonly #ttlMs: number
  readonly #now: () => number
  #bytes = 0

  constructor ({ max = DELIVERY_DEFAULTS.max, ttlMs = DELIVERY_DEFAULTS.ttlMs, maxBytes = max * 256, now = Date.now }: DeliveryLimits & { maxBytes?: number, now?: () => number } = {}) {
    this.#max = max
    this.#maxBytes = maxBytes
    this.#ttlMs = ttlMs
    this.#now = now
  }

  remember (source: string, ids: readonly string[]): boolean[] {
    return ids.map((id) => this.#remember(`${source}\u0000${boundedEventId(id)}`))
  }

  forget (source: string, ids: readonly string[]): void {
    for (const id of ids) this.#delete(`${source}\u0000${boundedEventId(id)}`)
  }

  close (): void {
    this.#seen.clear()
    this.#bytes = 0
  }

  get size (): number {
    return this.#seen.size
  }

  /** What the kept ids weigh (two bytes a character, as V8 may store them). */
  get bytes (): number {
    return this.#bytes
  }

  #remember (key: string): boolean {
    const now = this.#now()
    const at = this.#seen.get(key)
    if (at !== undefined && now - at < this.#ttlMs) return false
    // Re-inserting moves the id to the newest end of the Map's insertion order.
    this.#delete(key)
    this.#seen.set(key, now)
    this.#bytes += key.length * 2
    this.#evict(now)
    return true
  }

  #delete (key: string): void {
    if (this.#seen.delete(key)) this.#bytes -= key.length * 2
  }

  #evict (now: number): void {
    for (const [key, at] of this.#seen) {
      if (this.#seen.size <= this.#max && this.#bytes <= this.#maxBytes && now - at < this.#ttlMs) break
      this.#delete(key)
    }
  }
}
