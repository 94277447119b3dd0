import type { ServiceView } from './cycle.js'
import { forEachInTurns } from './turns.js'
import type { ServiceCheck, WatchStore } from './watch-store.js'

/**
 * A watched service as GET /watch lists it and as a `watch` event of GET /events carries it: its
 * last decision (the scheduler's view), its quarantine and its last check (the store).
 */
export interface WatchEntry {
  service: string
  image: string
  watch: ServiceView['watch']
  policy: string
  schedule: string
  minAge: string
  state: ServiceView['state']
  current: { tag: string | null, digest: string | null }
  available: { image: string, tag: string, digest: string, firstSeenAt: string, eligibleAt: string } | null
  quarantined: { digest: string, updateId: string, since: string } | null
  lastCheckedAt: string | null
  nextCheckAt: string | null
  message?: string
}

const iso = (ms: number | null | undefined): string | null => ms === null || ms === undefined ? null : new Date(ms).toISOString()

/**
 * The store's quarantines and checks read once (two statements) for the entries of every service:
 * not two reads per service, which 500 services made a stall of the event loop (issue #19).
 * `lastCheck`: where the last checks are known without reading them (the scheduler's memory of the
 * checks it read at its listing and wrote since): then only the quarantines are read.
 */
export function storeSnapshot (store: Pick<WatchStore, 'quarantines' | 'checks'>, lastCheck?: (serviceId: string) => ServiceCheck | undefined): Pick<WatchStore, 'getQuarantine' | 'getCheck'> {
  const quarantines = new Map(store.quarantines().map((q) => [q.serviceId, q]))
  if (lastCheck !== undefined) return { getQuarantine: (id) => quarantines.get(id), getCheck: lastCheck }
  const checks = new Map(store.checks().map((c) => [c.serviceId, c]))
  return { getQuarantine: (id) => quarantines.get(id), getCheck: (id) => checks.get(id) }
}

export function watchEntry (v: ServiceView & { nextCheckAt: number | null }, store: Pick<WatchStore, 'getQuarantine' | 'getCheck'>): WatchEntry {
  const q = store.getQuarantine(v.serviceId)
  const check = store.getCheck(v.serviceId)
  return {
    service: v.service,
    image: v.image,
    watch: v.watch,
    policy: v.policy,
    schedule: v.schedule,
    minAge: v.minAge,
    state: v.state,
    current: v.current,
    available: v.available === null ? null : { ...v.available, firstSeenAt: iso(v.available.firstSeenAt)!, eligibleAt: iso(v.available.eligibleAt)! },
    quarantined: q === undefined ? null : { digest: q.digest, updateId: q.updateId, since: iso(q.sinceMs)! },
    lastCheckedAt: iso(check?.lastCheckedMs),
    nextCheckAt: iso(v.nextCheckAt),
    ...(v.message !== undefined && { message: v.message })
  }
}

/**
 * What a `watch` event is sent for: the entry without its check times, which move at every check.
 * A service is announced when its state, available update, quarantine, message, image or labels
 * change, not at every cycle.
 */
export function shownOf (entry: WatchEntry): string {
  const { lastCheckedAt: _last, nextCheckAt: _next, ...shown } = entry
  return JSON.stringify(shown)
}

/** What the announcer reads at each pass: the scheduler's views and the store (or a snapshot of it). */
export interface AnnouncerSource {
  views: () => ReadonlyArray<ServiceView & { nextCheckAt: number | null }>
  store: () => Pick<WatchStore, 'getQuarantine' | 'getCheck'>
}

/**
 * Keeps what was last announced per service ID and announces what changed since (`publish`); a
 * service no longer watched is forgotten (announced again if it comes back). A pass looks at a few
 * services per turn of the event loop (src/watch/turns.ts); asked again during a pass, it makes one
 * more pass after it, so the last change is always announced.
 */
export class WatchAnnouncer {
  readonly #sent = new Map<string, string>()
  readonly #publish: (entry: WatchEntry) => void
  readonly #source: AnnouncerSource
  #running: Promise<void> | undefined
  #again = false

  constructor (publish: (entry: WatchEntry) => void, source: AnnouncerSource) {
    this.#publish = publish
    this.#source = source
  }

  /** Resolves when every change up to this call is announced; rejects when the store cannot be read. */
  async announce (): Promise<void> {
    if (this.#running !== undefined) {
      this.#again = true
      return await this.#running
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false
          await this.#pass()
        } while (this.#again)
      } finally {
        // In the same step as the last test of #again: a call between the two would be lost.
        this.#running = undefined
      }
    })()
    return await this.#running
  }

  async #pass (): Promise<void> {
    const store = this.#source.store()
    const present = new Set<string>()
    await forEachInTurns(this.#source.views(), (view) => {
      present.add(view.serviceId)
      const entry = watchEntry(view, store)
      const shown = shownOf(entry)
      if (this.#sent.get(view.serviceId) === shown) return
      this.#sent.set(view.serviceId, shown)
      this.#publish(entry)
    })
    for (const id of this.#sent.keys()) if (!present.has(id)) this.#sent.delete(id)
  }
}
