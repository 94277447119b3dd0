import type { ServiceEvents } from '../docker/events.js'
import type { ServiceState } from '../docker/swarm.js'
import type { ServicePoller } from './poller.js'
import type { ReadHint, ServiceSource } from './convergence.js'

interface Watch {
  /** events of this service not yet answered by a read */
  pending: number
  wake?: (() => void) | undefined
}

/**
 * Fresh reads of watched services, driven by the `docker events` stream: a read happens when the
 * service had an event (an UpdateStatus transition, a spec change, its removal), not on a timer,
 * so an answer follows Swarm's final state by one `inspect`, not by up to a poll interval. While
 * the stream is down or still connecting (and when the caller asks to poll: tasks converging send
 * no service event), a read also happens every poll interval, whichever comes first. Reads go
 * through the poller's batch, so twenty updates finishing together still cost one spawn.
 */
export class EventDrivenSource implements ServiceSource {
  readonly #events: ServiceEvents
  readonly #poller: ServicePoller
  readonly #intervalMs: number
  /**
   * One watch per service and waiter (its signal): a superseded update's watch may end after its
   * successor's began (its last read still running), and must not end the successor's with it,
   * or the successor's events would be dropped and, the stream being healthy, it would sleep to
   * its deadline with Swarm long finished.
   */
  readonly #watches = new Map<string, Map<AbortSignal, Watch>>()

  constructor (events: ServiceEvents, poller: ServicePoller, intervalMs: number) {
    this.#events = events
    this.#poller = poller
    this.#intervalMs = intervalMs
    events.on('event', (event) => {
      for (const watch of this.#watches.get(event.serviceId)?.values() ?? []) {
        watch.pending++
        watch.wake?.()
      }
    })
    // Going down, or coming up: everyone waiting re-decides how to wait.
    const wakeAll = (): void => { for (const watches of this.#watches.values()) for (const watch of watches.values()) watch.wake?.() }
    events.on('down', wakeAll)
    events.on('up', wakeAll)
  }

  async next (id: string, signal: AbortSignal, hint: ReadHint = {}): Promise<ServiceState> {
    let watches = this.#watches.get(id)
    if (watches === undefined) {
      watches = new Map()
      this.#watches.set(id, watches)
    }
    let watch = watches.get(signal)
    if (watch === undefined) {
      // Watching starts before the first read: an event that comes during the read is kept.
      watch = { pending: 0 }
      watches.set(signal, watch)
      return this.#poller.next(id, signal, 0)
    }
    while (watch.pending === 0) {
      const polling = !this.#events.healthy || hint.poll === true
      const woken = await this.#sleep(watch, signal, polling ? this.#intervalMs : undefined)
      if (!woken) break // the poll interval passed: read anyway
    }
    watch.pending = 0
    return this.#poller.next(id, signal, 0)
  }

  /** Stops the watch of a service by the waiter of `signal` (its update ended). */
  release (id: string, signal: AbortSignal): void {
    const watches = this.#watches.get(id)
    watches?.delete(signal)
    if (watches?.size === 0) this.#watches.delete(id)
  }

  /** Waits for a wake-up (true), or `ms` (false); rejects when `signal` aborts. */
  async #sleep (watch: Watch, signal: AbortSignal, ms: number | undefined): Promise<boolean> {
    signal.throwIfAborted()
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined
      const done = (): void => {
        clearTimeout(timer)
        watch.wake = undefined
        signal.removeEventListener('abort', onAbort)
      }
      const onAbort = (): void => { done(); reject(signal.reason) }
      watch.wake = () => { done(); resolve(true) }
      if (ms !== undefined) timer = setTimeout(() => { done(); resolve(false) }, ms)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }
}
