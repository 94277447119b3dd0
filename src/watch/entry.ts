import type { ServiceView } from './cycle.js'
import type { WatchStore } from './watch-store.js'

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

/**
 * Keeps what was last announced per service ID and announces what changed since (`publish`); a
 * service no longer watched is forgotten (announced again if it comes back).
 */
export class WatchAnnouncer {
  readonly #sent = new Map<string, string>()
  readonly #publish: (entry: WatchEntry) => void
  constructor (publish: (entry: WatchEntry) => void) { this.#publish = publish }

  /** Compares every current entry with the last one announced; returns how many were announced. */
  announce (entries: ReadonlyArray<{ serviceId: string, entry: WatchEntry }>): number {
    let n = 0
    const present = new Set<string>()
    for (const { serviceId, entry } of entries) {
      present.add(serviceId)
      const shown = shownOf(entry)
      if (this.#sent.get(serviceId) === shown) continue
      this.#sent.set(serviceId, shown)
      this.#publish(entry)
      n++
    }
    for (const id of this.#sent.keys()) if (!present.has(id)) this.#sent.delete(id)
    return n
  }
}
