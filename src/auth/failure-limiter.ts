/**
 * Counts failed authentications per client address in fixed windows, so the endpoint cannot be
 * used to brute-force tokens. Successful requests are not counted (which is why this is not
 * @fastify/rate-limit: that one counts every request of a route). Memory is bounded.
 */
export class AuthFailureLimiter {
  readonly #limit: number
  readonly #windowMs: number
  readonly #maxClients: number
  readonly #clients = new Map<string, { failures: number, resetAt: number }>()

  constructor ({ limit, windowMs, maxClients = 100_000 }: { limit: number, windowMs: number, maxClients?: number }) {
    this.#limit = limit
    this.#windowMs = windowMs
    this.#maxClients = maxClients
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
    if (this.#clients.size >= this.#maxClients) this.#evict(now)
    this.#clients.set(client, { failures: 1, resetAt: now + this.#windowMs })
    return this.#limit === 1
  }

  #evict (now: number): void {
    for (const [client, entry] of this.#clients) {
      if (entry.resetAt <= now) this.#clients.delete(client)
    }
    // Still full: drop the oldest windows (Map keeps insertion order).
    for (const client of this.#clients.keys()) {
      if (this.#clients.size < this.#maxClients) break
      this.#clients.delete(client)
    }
  }
}
