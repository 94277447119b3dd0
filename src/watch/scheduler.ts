import { createHash } from 'node:crypto'
import type { ServiceState } from '../docker/swarm.js'
import { watchSettings } from './policies.js'
import { baseView, runCycle, storedChecks, type CycleDeps, type ServiceView, type WatchState } from './cycle.js'
import { WatchTraffic } from './metrics.js'
import { forEachInTurns } from './turns.js'
import type { ServiceCheck } from './watch-store.js'

/**
 * When each watched service is checked (DESIGN §7): every `schedule` (label, else WATCH_INTERVAL)
 * from its stored last check, so a restart resumes the schedule instead of checking everything at
 * once; a service never checked gets a fixed offset within its first interval (a hash of its ID:
 * jitter that is the same in every process, so no burst at start). Services come from one listing
 * per tick (`docker service ls` + one `inspect`, src/docker/swarm.ts), never one call per service.
 */
export interface SchedulerOptions extends Omit<CycleDeps, 'now'> {
  /** the watched services: one listing */
  listServices: () => Promise<ServiceState[]>
  now?: () => number
  /** longest sleep between listings, so new and relabelled services are found without events (default 5 min) */
  maxSleepMs?: number
  /** how soon after a change of the swarm it is listed again (default 1 s) */
  relistDelayMs?: number
  /** how long stop() waits for a cycle in flight (default 250 ms) */
  stopWaitMs?: number
  onCycle?: (views: ServiceView[], durationMs: number) => void
  /** after every listing, checked or not: the views (GET /watch) may have changed */
  onListed?: () => void
  onError?: (error: unknown) => void
}

/** A stable offset in [0, period) for a service: its first check's place in the interval. */
export function jitterOf (serviceId: string, periodMs: number): number {
  const hash = createHash('sha256').update(serviceId).digest().readUInt32BE(0)
  return Math.floor((hash / 0x1_0000_0000) * periodMs)
}

export class WatchScheduler {
  /** checks, registry answers and cycle durations, read by /metrics (src/watch/metrics.ts) */
  readonly traffic: WatchTraffic
  readonly #options: SchedulerOptions
  readonly #now: () => number
  /** per service ID: when it first appeared in this process (the anchor of its first check) */
  readonly #firstListed = new Map<string, number>()
  readonly #forced = new Set<string>()
  #forceAll = false
  #relisting = false
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #stopped = true
  /** stop() was called: a cycle that ends later decides nothing */
  #closed = false
  #views = new Map<string, ServiceView>()
  /** per service ID: its image and labels at the last listing (a change is checked at once) */
  #seen = new Map<string, string>()
  #listedOnce = false
  #next = new Map<string, number>()
  /** the stored checks read at the last listing, kept up to date by its cycle */
  #stored: ReadonlyMap<string, ServiceCheck> = new Map()

  constructor (options: SchedulerOptions) {
    this.#options = options
    this.#now = options.now ?? Date.now
    this.traffic = options.traffic ?? new WatchTraffic()
  }

  /** The last decision of every watched service, with its next check (GET /watch). */
  views (): Array<ServiceView & { nextCheckAt: number | null }> {
    return [...this.#views.values()].map((v) => ({ ...v, nextCheckAt: this.#next.get(v.serviceId) ?? null }))
  }

  /** A service's last check as stored (read at each listing, then as its cycle writes them): no store read. */
  lastCheck (serviceId: string): ServiceCheck | undefined {
    return this.#stored.get(serviceId)
  }

  /**
   * When `service` is due: its stored last check + schedule, or its jittered first check. `stored`:
   * the stored checks, read once for a whole listing (else the service's is read).
   */
  dueAt (service: ServiceState, stored?: ReadonlyMap<string, ServiceCheck>): number | undefined {
    const settings = watchSettings(service.labels, this.#options.defaultScheduleMs)
    if (settings === undefined) return undefined
    const last = (stored !== undefined ? stored.get(service.id) : this.#options.store.getCheck(service.id))?.lastCheckedMs
    if (last !== null && last !== undefined) return last + settings.scheduleMs
    let listed = this.#firstListed.get(service.id)
    if (listed === undefined) {
      listed = this.#now()
      this.#firstListed.set(service.id, listed)
    }
    return listed + jitterOf(service.id, settings.scheduleMs)
  }

  start (): void {
    this.#stopped = false
    this.#schedule(0)
  }

  /**
   * Stops the timer and waits for a cycle in flight, `waitMs` at most (default 250 ms): at shutdown a
   * listing or a registry request may hang (Docker down), and the process must still close within
   * SHUTDOWN_GRACE. A cycle that ends later decides nothing more (tick checks `stopped`).
   */
  async stop (waitMs = this.#options.stopWaitMs ?? 250): Promise<void> {
    this.#stopped = true
    this.#closed = true
    clearTimeout(this.#timer)
    if (this.#running === undefined) return
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.#running, new Promise((resolve) => { timer = setTimeout(resolve, waitMs) })])
    clearTimeout(timer)
  }

  /**
   * The swarm changed (a service created, removed or relabelled: the `docker events` stream): list
   * again within `relistDelayMs` (default 1 s; events come in bursts, one listing serves them all).
   * Only what is due, or never checked, is checked then.
   */
  relist (): void {
    if (this.#stopped || this.#relisting) return
    this.#relisting = true
    // During a cycle: the next wake-up comes this soon (below).
    if (this.#running !== undefined) return
    this.#schedule(this.#options.relistDelayMs ?? 1000)
  }

  /** An update of `service` (a name) ended: checks it now if it is watched. */
  recheck (service: string): void {
    const ids = [...this.#views.values()].filter((v) => v.service === service).map((v) => v.serviceId)
    if (ids.length > 0) this.checkNow(ids)
  }

  /** Checks now: the named services, or every watched one (POST /watch/check). */
  checkNow (serviceIds?: readonly string[]): void {
    if (serviceIds === undefined) this.#forceAll = true
    else for (const id of serviceIds) this.#forced.add(id)
    if (!this.#stopped && this.#running === undefined) this.#schedule(0)
  }

  /** One listing, the cycle of what is due, and the next wake-up. Exposed for tests. */
  async tick (): Promise<void> {
    const started = this.#now()
    const services = await this.#options.listServices()
    // Stopped while listing (shutdown): nothing more is decided.
    if (this.#closed) return
    // One read of every stored check for the whole tick (not one per service: 500 services made
    // the event loop wait on SQLite, bench/figures/watch.ts); the cycle keeps it up to date.
    const stored = storedChecks(this.#options.store)
    this.#stored = stored
    const forceAll = this.#forceAll
    const forced = new Set(this.#forced)
    this.#forceAll = false
    this.#forced.clear()
    const due: ServiceState[] = []
    const present = new Set<string>()
    const listedBefore = this.#listedOnce
    this.#listedOnce = true
    await forEachInTurns(services, (service) => {
      const at = this.dueAt(service, stored)
      if (at === undefined) return
      present.add(service.id)
      // Created or relabelled since the last listing: checked now (an image change is not: our own
      // updates make those). At start, the stored schedule and the jitter decide (no burst).
      const signature = JSON.stringify(service.labels)
      const changed = listedBefore && this.#seen.get(service.id) !== signature
      this.#seen.set(service.id, signature)
      if (forceAll || forced.has(service.id) || changed || at <= started) {
        due.push(service)
        return
      }
      this.#next.set(service.id, at)
      this.#views.set(service.id, this.#pending(service, stored))
    })
    if (this.#closed) return
    // The checks of services no longer listed (removed, or their label gone) are forgotten, so the
    // checks read at every tick stay as many as the watched services (a stack deployed again has
    // new service IDs). Relabelled back, a service starts afresh: a jittered first check.
    const listed = new Set(services.map((s) => s.id))
    const gone = [...stored.keys()].filter((id) => !listed.has(id))
    if (gone.length > 0) {
      this.#options.store.forget(gone)
      for (const id of gone) stored.delete(id)
    }
    for (const id of [...this.#views.keys(), ...this.#seen.keys()]) if (!present.has(id)) { this.#views.delete(id); this.#next.delete(id); this.#seen.delete(id) }
    if (due.length > 0) {
      const views = await runCycle(due, { ...this.#options, traffic: this.traffic, stored, now: this.#now })
      if (this.#closed) return
      for (const view of views) this.#views.set(view.serviceId, view)
      for (const service of due) this.#next.set(service.id, this.dueAt(service, stored) ?? this.#now())
      this.traffic.cycle(this.#now() - started)
      this.#options.onCycle?.(views, this.#now() - started)
    }
    this.#options.onListed?.()
  }

  /** A service not due: what its labels say now, with the state and message of its last check. */
  #pending (service: ServiceState, checks: ReadonlyMap<string, ServiceCheck>): ServiceView {
    const last = this.#views.get(service.id)
    const settings = watchSettings(service.labels, this.#options.defaultScheduleMs)!
    const stored = last === undefined ? checks.get(service.id) : undefined
    const fresh = baseView(service, settings)
    if (last !== undefined) return { ...last, ...fresh, state: last.state, available: last.available, ...(last.message !== undefined && { message: last.message }) }
    return { ...fresh, state: (stored?.state as WatchState | null) ?? 'up_to_date', ...(stored?.message != null ? { message: stored.message } : stored === undefined ? { message: 'not checked yet' } : {}) }
  }

  #schedule (delayMs: number): void {
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      this.#relisting = false
      this.#running = this.tick().catch((error: unknown) => this.#options.onError?.(error)).finally(() => {
        this.#running = undefined
        if (this.#stopped) return
        const earliest = Math.min(...this.#next.values(), this.#now() + (this.#options.maxSleepMs ?? 300_000))
        // Work asked for during the cycle runs at once.
        const delay = this.#forceAll || this.#forced.size > 0 ? 0 : Math.max(1000, earliest - this.#now())
        this.#schedule(this.#relisting ? Math.min(delay, this.#options.relistDelayMs ?? 1000) : delay)
      })
    }, delayMs)
    this.#timer.unref()
  }
}
