/**
 * Event ids seen recently, so a repeated delivery changes nothing: registries retry on slow or
 * failed answers, GitHub and Harbor let an operator redeliver, and a replayed request must not
 * restart services again. Bounded in count (oldest forgotten first) and in age.
 */
export class DeliveryLog {
  readonly #seen = new Map<string, number>()
  readonly #max: number
  readonly #ttlMs: number
  readonly #now: () => number

  constructor ({ max = 10_000, ttlMs = 24 * 3600_000, now = Date.now }: { max?: number, ttlMs?: number, now?: () => number } = {}) {
    this.#max = max
    this.#ttlMs = ttlMs
    this.#now = now
  }

  /** Records `id`; false when it was already seen within the TTL (a duplicate). */
  remember (id: string): boolean {
    const now = this.#now()
    const at = this.#seen.get(id)
    if (at !== undefined && now - at < this.#ttlMs) return false
    // Re-inserting moves the id to the newest end of the Map's insertion order.
    this.#seen.delete(id)
    this.#seen.set(id, now)
    this.#evict(now)
    return true
  }

  /** Forgets `id`, so a redelivery is accepted again (used when handing the event over failed). */
  forget (id: string): void {
    this.#seen.delete(id)
  }

  get size (): number {
    return this.#seen.size
  }

  #evict (now: number): void {
    for (const [id, at] of this.#seen) {
      if (this.#seen.size <= this.#max && now - at < this.#ttlMs) break
      this.#seen.delete(id)
    }
  }
}
