import type { ServiceEvent } from './service-event.js'

interface Waiter {
  predicate: (event: ServiceEvent) => boolean
  resolve: (event: ServiceEvent) => void
  reject: (error: unknown) => void
  /** removes the waiter from its set and its abort listener */
  detach: () => void
}

/**
 * Promises of "the next event of service X that matches", kept per service: an event only looks
 * at its own service's waiters, however many other services are being waited on.
 */
export class EventWaiters {
  readonly #byService = new Map<string, Set<Waiter>>()
  #size = 0

  get size (): number {
    return this.#size
  }

  async add (serviceId: string, predicate: (event: ServiceEvent) => boolean, signal?: AbortSignal): Promise<ServiceEvent> {
    if (signal?.aborted === true) throw signal.reason
    return new Promise((resolve, reject) => {
      let found = this.#byService.get(serviceId)
      if (found === undefined) {
        found = new Set()
        this.#byService.set(serviceId, found)
      }
      const waiters = found
      const onAbort = (): void => {
        waiter.detach()
        reject(signal?.reason)
      }
      const waiter: Waiter = {
        predicate,
        resolve,
        reject,
        detach: () => {
          signal?.removeEventListener('abort', onAbort)
          if (!waiters.delete(waiter)) return
          this.#size--
          if (waiters.size === 0 && this.#byService.get(serviceId) === waiters) this.#byService.delete(serviceId)
        }
      }
      waiters.add(waiter)
      this.#size++
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** Resolves the waiters of the event's service that it matches (a throwing predicate rejects its own). */
  settle (event: ServiceEvent): void {
    const waiters = this.#byService.get(event.serviceId)
    if (waiters === undefined) return
    for (const waiter of waiters) {
      let matches: boolean
      try {
        matches = waiter.predicate(event)
      } catch (error) {
        waiter.detach()
        waiter.reject(error)
        continue
      }
      if (!matches) continue
      waiter.detach()
      waiter.resolve(event)
    }
  }

  rejectAll (error: () => unknown): void {
    for (const waiters of this.#byService.values()) {
      for (const waiter of waiters) {
        waiter.detach()
        waiter.reject(error())
      }
    }
  }
}
