import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { RegistryResponse } from '../docker/registry-session.js'
import type { ServiceView, WatchState } from './cycle.js'

/**
 * The watcher's metrics (DESIGN §7): service checks by registry and result, registry requests by
 * registry, method and status, services by watch state, cycle duration. The cycle and the
 * scheduler count into a WatchTraffic in plain numbers; prom-client reads them when /metrics is
 * scraped (the metrics plugin registers them), so the watcher needs no metrics registry of its own
 * and a process without the watcher shows zeros.
 */

const key = (...parts: string[]): string => JSON.stringify(parts)
const bump = (map: Map<string, number>, k: string, by = 1): void => { map.set(k, (map.get(k) ?? 0) + by) }
/** Cycle durations kept between scrapes at most (a scraper that never comes must not grow memory). */
const pendingLimit = 1000

export class WatchTraffic {
  readonly checks = new Map<string, number>()
  readonly requests = new Map<string, number>()
  /** cycle durations (seconds) not yet handed to the histogram */
  readonly pendingCycles: number[] = []

  /** One service checked: the registry asked and the state that came of it. */
  check (registry: string, result: WatchState): void {
    bump(this.checks, key(registry, result))
  }

  /** The answers one registry request (and its challenge round trip) got. */
  responses (registry: string, responses: readonly RegistryResponse[] | undefined): void {
    for (const r of responses ?? []) bump(this.requests, key(registry, r.method, String(r.status)))
  }

  cycle (durationMs: number): void {
    if (this.pendingCycles.length < pendingLimit) this.pendingCycles.push(durationMs / 1000)
  }
}

export interface WatchSource { traffic: WatchTraffic, views: () => readonly ServiceView[] }

const states: WatchState[] = ['up_to_date', 'update_available', 'updating', 'waiting_min_age', 'held', 'quarantined', 'deferred', 'pinned', 'error']

/** Registers the watcher's metrics in `registry`; `source` is read at each scrape (undefined: no watcher). */
export function registerWatchMetrics (registry: Registry, source: () => WatchSource | undefined): void {
  /* eslint-disable no-new */
  new Counter({
    name: 'container_updater_watch_checks_total',
    help: 'Watched services checked, by registry and result (the watch state the check ended in); services sharing a repo:tag share one registry request',
    labelNames: ['registry', 'result'],
    registers: [registry],
    collect () {
      this.reset()
      for (const [k, n] of source()?.traffic.checks ?? []) {
        const [name, result] = JSON.parse(k) as [string, string]
        this.inc({ registry: name, result }, n)
      }
    }
  })
  new Counter({
    name: 'container_updater_watch_registry_requests_total',
    help: 'Requests of the watcher to registries (token services not included), by registry, method and HTTP status (`error`: network error or timeout)',
    labelNames: ['registry', 'method', 'status'],
    registers: [registry],
    collect () {
      this.reset()
      for (const [k, n] of source()?.traffic.requests ?? []) {
        const [name, method, status] = JSON.parse(k) as [string, string, string]
        this.inc({ registry: name, method, status }, n)
      }
    }
  })
  new Gauge({
    name: 'container_updater_watch_services',
    help: 'Watched services by watch state (as GET /watch shows them)',
    labelNames: ['state'],
    registers: [registry],
    collect () {
      const counts = new Map<string, number>(states.map((s) => [s, 0]))
      for (const view of source()?.views() ?? []) bump(counts, view.state)
      for (const [state, n] of counts) this.set({ state }, n)
    }
  })
  new Histogram({
    name: 'container_updater_watch_cycle_duration_seconds',
    help: 'Duration of a watch cycle: the listing, the registry requests and the decisions',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
    collect () {
      const pending = source()?.traffic.pendingCycles
      if (pending === undefined) return
      for (const seconds of pending.splice(0)) this.observe(seconds)
    }
  })
  /* eslint-enable no-new */
}
