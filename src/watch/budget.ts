import type { Budget } from '../docker/registry-session.js'

/**
 * The registry budget (DESIGN §7): per registry, when it may next be asked. A 429 waits as long as
 * `Retry-After` says, else backs off exponentially from 1 min up to the watch interval; 5xx and
 * network errors back off the same way; a `RateLimit-Remaining` at or below `reserve` defers the
 * registry before it reaches 0. A backed-off registry is `deferred` with the time of its next try:
 * its checks wait, they never fail an update and never loop.
 */
export interface RegistryState {
  registry: string
  state: 'ok' | 'deferred'
  /** epoch ms of the next try, when deferred */
  until?: number
  message?: string
}

export interface BudgetOptions {
  /** the longest backoff: WATCH_INTERVAL */
  maxBackoffMs: number
  minBackoffMs?: number
  /** remaining requests below which the registry is deferred (default 1) */
  reserve?: number
  now?: () => number
}

export class RegistryBudget {
  readonly #registries = new Map<string, { failures: number, until: number, message: string }>()
  readonly #max: number
  readonly #min: number
  readonly #reserve: number
  readonly #now: () => number

  constructor (options: BudgetOptions) {
    this.#min = options.minBackoffMs ?? 60_000
    this.#max = Math.max(this.#min, options.maxBackoffMs)
    this.#reserve = options.reserve ?? 1
    this.#now = options.now ?? Date.now
  }

  /** Epoch ms until which `registry` must not be asked, or undefined when it may be now. */
  deferredUntil (registry: string): number | undefined {
    const entry = this.#registries.get(registry)
    return entry !== undefined && entry.until > this.#now() ? entry.until : undefined
  }

  /** Takes in one answer of `registry`: `backoff` for 429, 5xx and network errors. */
  record (registry: string, budget: Budget, backoff: boolean, message = 'the registry limits requests'): void {
    const entry = this.#registries.get(registry)
    if (!backoff && (budget.remaining === undefined || budget.remaining > this.#reserve)) {
      this.#registries.delete(registry)
      return
    }
    const failures = (entry?.failures ?? 0) + 1
    const exponential = Math.min(this.#max, this.#min * 2 ** Math.min(failures - 1, 30))
    const wait = budget.retryAfterMs !== undefined ? Math.min(budget.retryAfterMs, 7 * 86_400_000) : exponential
    const why = !backoff ? `RateLimit-Remaining is ${budget.remaining ?? 0}: checks deferred` : message
    this.#registries.set(registry, { failures, until: this.#now() + wait, message: why })
  }

  /** Registries with a state worth showing (GET /watch): the deferred ones. */
  states (): RegistryState[] {
    const now = this.#now()
    return [...this.#registries].filter(([, e]) => e.until > now).map(([registry, e]) => ({ registry, state: 'deferred' as const, until: e.until, message: e.message }))
  }
}

/**
 * At most `limit` registry requests at once, and one at a time per repository (DESIGN §7): tasks
 * of a busy repository wait in its own queue, so they take no slot from other repositories.
 */
export class RequestLimiter {
  #running = 0
  readonly #busy = new Set<string>()
  readonly #waiting: Array<{ key: string, start: () => void }> = []

  constructor (readonly limit: number) {}

  get running (): number { return this.#running }

  run<T> (key: string, task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#waiting.push({
        key,
        start: () => {
          task().then(resolve, reject).finally(() => {
            this.#running--
            this.#busy.delete(key)
            this.#pump()
          })
        }
      })
      this.#pump()
    })
  }

  #pump (): void {
    for (let i = 0; i < this.#waiting.length && this.#running < this.limit;) {
      const next = this.#waiting[i]!
      if (this.#busy.has(next.key)) { i++; continue }
      this.#waiting.splice(i, 1)
      this.#running++
      this.#busy.add(next.key)
      next.start()
    }
  }
}
