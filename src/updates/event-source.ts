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
 * the stream is down (or the caller asks to poll: tasks converging send no service events), reads
 * come from the poller. The read itself goes through the poller's batch, so twenty updates
 * finishing together still cost one spawn.
 */
export class EventDrivenSource implements ServiceSource {
  readonly #events: ServiceEvents
  readonly #poller: ServicePoller
  readonly #watches = new Map<string, Watch>()

  constructor (events: ServiceEvents, poller: ServicePoller) {
    this.#events = events
    this.#poller = poller
    events.on('event', (event) => {
      const watch = this.#watches.get(event.serviceId)
      if (watch === undefined) return
      watch.pending++
      watch.wake?.()
    })
    // Going down: everyone waiting for an event polls instead.
    events.on('down', () => { for (const watch of this.#watches.values()) watch.wake?.() })
  }

  async next (id: string, signal: AbortSignal, hint: ReadHint = {}): Promise<ServiceState> {
    let watch = this.#watches.get(id)
    if (watch === undefined) {
      // Watching starts before the first read: an event that comes during the read is kept.
      watch = { pending: 0 }
      this.#watches.set(id, watch)
      signal.addEventListener('abort', () => this.#watches.delete(id), { once: true })
      return this.#poller.next(id, signal, 0)
    }
    if (watch.pending === 0 && this.#events.healthy && hint.poll !== true) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => reject(signal.reason)
        signal.addEventListener('abort', onAbort, { once: true })
        watch.wake = () => {
          watch.wake = undefined
          signal.removeEventListener('abort', onAbort)
          resolve()
        }
      })
    }
    if (watch.pending > 0) {
      watch.pending = 0
      return this.#poller.next(id, signal, 0)
    }
    return this.#poller.next(id, signal)
  }

  /** Stops watching a service (its update ended). */
  release (id: string): void {
    this.#watches.delete(id)
  }
}
