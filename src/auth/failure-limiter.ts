/**
 * Counts failed authentications per client key (see client-key.ts) in fixed windows, so the
 * endpoint cannot be used to brute-force tokens. Successful requests are not counted (which is why
 * this is not @fastify/rate-limit: that one counts every request of a route). Memory is bounded.
 *
 * Every window lasts windowMs, so windows end in the order they start: a queue of windows in that
 * order has the expired ones at its front, and the one to evict when the table is full is its first
 * live one. Each operation is O(1) amortised (every window is queued and dequeued once), however
 * full the table. (Not the Map's own insertion order: V8 leaves deleted Map entries as holes until
 * it rehashes, and every iteration from the front walks over them: measured 66 µs per new address
 * at 100k addresses.)
 */
interface Window { client: string, failures: number, resetAt: number }

export class AuthFailureLimiter {
  readonly #limit: number
  readonly #windowMs: number
  readonly #maxClients: number
  readonly #clients = new Map<string, Window>()
  /** windows in the order they end; those no longer in #clients are skipped when reached */
  #queue: Array<Window | undefined> = []
  #head = 0

  constructor ({ limit, windowMs, maxClients = 100_000 }: { limit: number, windowMs: number, maxClients?: number }) {
    this.#limit = limit
    this.#windowMs = windowMs
    this.#maxClients = maxClients
  }

  /** Clients currently remembered. */
  get size (): number {
    return this.#clients.size
  }

  /** Seconds the client must wait, or 0 when it may try. */
  retryAfter (client: string, now = Date.now()): number {
    const entry = this.#clients.get(client)
    if (entry === undefined) return 0
    if (entry.resetAt <= now) {
      this.#clients.delete(client)
      return 0
    }
    return entry.failures >= this.#limit ? Math.ceil((entry.resetAt - now) / 1000) : 0
  }

  /** Counts a failure; true when this one made the client reach the limit. */
  recordFailure (client: string, now = Date.now()): boolean {
    const entry = this.#clients.get(client)
    if (entry !== undefined && entry.resetAt > now) {
      entry.failures++
      return entry.failures === this.#limit
    }
    this.#dropExpired(now)
    if (this.#clients.size >= this.#maxClients) this.#dropOldest()
    const window: Window = { client, failures: 1, resetAt: now + this.#windowMs }
    this.#clients.set(client, window)
    this.#queue.push(window)
    return this.#limit === 1
  }

  #dropExpired (now: number): void {
    for (let window = this.#queue[this.#head]; window !== undefined && window.resetAt <= now; window = this.#queue[this.#head]) {
      this.#dequeue(window)
    }
  }

  #dropOldest (): void {
    for (let window = this.#queue[this.#head]; window !== undefined; window = this.#queue[this.#head]) {
      if (this.#dequeue(window)) return
    }
  }

  /** Removes the queue's first window, and its client if that is still its window. */
  #dequeue (window: Window): boolean {
    this.#queue[this.#head++] = undefined
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head)
      this.#head = 0
    }
    if (this.#clients.get(window.client) !== window) return false
    this.#clients.delete(window.client)
    return true
  }
}
