import type { ServiceState, Swarm } from '../docker/swarm.js'
import { ServiceNotFound } from '../errors.js'

/**
 * Reads every service being watched with one `docker service inspect` per tick, however many
 * updates run: each Docker CLI call is a process spawn, which briefly stalls the event loop, so
 * twenty updates must not mean twenty spawns per tick (docs/BENCHMARKS.md, liveness).
 */
export class ServicePoller {
  readonly #swarm: Swarm
  readonly #intervalMs: number
  #waiting = new Map<string, Array<{ resolve: (s: ServiceState) => void, reject: (e: unknown) => void }>>()
  #timer: NodeJS.Timeout | undefined

  constructor (swarm: Swarm, intervalMs: number) {
    this.#swarm = swarm
    this.#intervalMs = intervalMs
  }

  /** The service as read at the next tick, `delayMs` from the first waiter (rejects on abort). */
  async next (id: string, signal?: AbortSignal, delayMs = this.#intervalMs): Promise<ServiceState> {
    signal?.throwIfAborted()
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const list = this.#waiting.get(id)
        const at = list?.indexOf(waiter) ?? -1
        if (at !== -1) list!.splice(at, 1)
        reject(signal!.reason)
      }
      // The listener goes when the read settles: a long watch must not pile them up.
      const waiter = {
        resolve: (state: ServiceState) => { signal?.removeEventListener('abort', onAbort); resolve(state) },
        reject: (error: unknown) => { signal?.removeEventListener('abort', onAbort); reject(error) }
      }
      const waiters = this.#waiting.get(id) ?? []
      waiters.push(waiter)
      this.#waiting.set(id, waiters)
      signal?.addEventListener('abort', onAbort, { once: true })
      if (this.#timer === undefined) {
        this.#timer = setTimeout(() => { this.#tick().catch(() => {}) }, delayMs)
        this.#timer.unref()
      }
    })
  }

  stop (): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  async #tick (): Promise<void> {
    const waiting = this.#waiting
    this.#waiting = new Map()
    this.#timer = undefined
    const ids = [...waiting.keys()].filter((id) => (waiting.get(id)?.length ?? 0) > 0)
    const settle = (id: string, outcome: { state?: ServiceState, error?: unknown }): void => {
      for (const waiter of waiting.get(id) ?? []) {
        if (outcome.state !== undefined) waiter.resolve(outcome.state)
        else waiter.reject(outcome.error)
      }
    }
    if (ids.length === 0) return
    try {
      const states = new Map((await this.#swarm.inspectServices(ids)).map((state) => [state.id, state]))
      for (const id of ids) {
        const state = states.get(id)
        settle(id, state !== undefined ? { state } : { error: new ServiceNotFound(id) })
      }
    } catch (error) {
      if (ids.length === 1 || !(error instanceof ServiceNotFound)) {
        for (const id of ids) settle(id, { error })
        return
      }
      // One of them is gone: ask for each on its own to tell which.
      await Promise.all(ids.map(async (id) => this.#swarm.getService(id).then((state) => settle(id, { state }), (e: unknown) => settle(id, { error: e }))))
    }
  }
}
