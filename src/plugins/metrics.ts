import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { UpdateRecord } from '../store/records.js'
import { HttpSeries } from './http-series.js'
import type { AuthFailureReason } from './auth.js'
import type { NotifyResult } from '../notify/notifier.js'
import type { HookSource, IgnoreReason } from '../hooks/events.js'
import { registerWatchMetrics } from '../watch/metrics.js'

export interface Metrics {
  registry: Registry
  recordUpdate: (record: UpdateRecord) => void
  recordAuthFailure: (reason: AuthFailureReason) => void
  recordNotification: (target: string, result: NotifyResult) => void
  /** events a registry hook answered and did not act on, by source and reason (both bounded sets) */
  recordHookIgnored: (source: HookSource, reason: IgnoreReason, count: number) => void
  /** one answered HTTP request, by route pattern (the onResponse hook, plugins/access-log.ts) */
  recordHttp: (method: string, route: string, statusCode: number, seconds: number) => void
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}

/**
 * Prometheus metrics in a registry of the app's own (several apps may live in one test process):
 * updates by service and result, update duration, running and queued updates, auth failures by
 * reason, registry hook events ignored by source and reason, HTTP requests by route, and the
 * watcher's checks, registry requests, services by watch state and cycle duration (src/watch/metrics.ts).
 * @see https://github.com/siimon/prom-client
 */
async function metrics (app: FastifyInstance): Promise<void> {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })

  const updates = new Counter({ name: 'container_updater_updates_total', help: 'Updates by service and result', labelNames: ['service', 'result'], registers: [registry] })
  const updateDuration = new Histogram({
    name: 'container_updater_update_duration_seconds',
    help: 'Time from request to final state (or timeout) of an update',
    labelNames: ['service', 'result'],
    buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
    registers: [registry]
  })
  const hookIgnored = new Counter({ name: 'container_updater_hook_events_ignored_total', help: 'Registry hook events answered and not acted on, by source and reason', labelNames: ['source', 'reason'], registers: [registry] })
  const notifications = new Counter({ name: 'container_updater_notifications_total', help: 'Notifications by target (redacted URL) and result: delivered, failed, retried', labelNames: ['target', 'result'], registers: [registry] })
  // Counted in plain numbers and handed to prom-client when scraped: this is the path a flood of bad
  // tokens takes, and a labelled inc() builds and hashes a label object every time (http-series.ts).
  const authFailureCounts = new Map<AuthFailureReason, number>()
  // eslint-disable-next-line no-new
  new Counter({
    name: 'container_updater_auth_failures_total',
    help: 'Failed authentications by reason',
    labelNames: ['reason'],
    registers: [registry],
    collect () {
      this.reset()
      for (const [reason, count] of authFailureCounts) this.inc({ reason }, count)
    }
  })
  const load = (key: 'running' | 'queued'): number => app.hasDecorator('updater') ? app.updater.load[key] : 0
  // eslint-disable-next-line no-new
  new Gauge({ name: 'container_updater_updates_running', help: 'Docker updates running now', registers: [registry], collect () { this.set(load('running')) } })
  // eslint-disable-next-line no-new
  new Gauge({ name: 'container_updater_updates_queued', help: 'Updates waiting for their service or a slot', registers: [registry], collect () { this.set(load('queued')) } })
  // The watcher's (src/watch/metrics.ts), read from app.watch when scraped: that plugin comes later.
  registerWatchMetrics(registry, () => app.hasDecorator('watch') ? { traffic: app.watch.scheduler.traffic, views: () => app.watch.scheduler.views() } : undefined)
  const http = new HttpSeries(registry, [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600])

  app.decorate('metrics', {
    registry,
    recordUpdate (record: UpdateRecord) {
      updates.inc({ service: record.service, result: record.status })
      if (record.durationMs !== null) updateDuration.observe({ service: record.service, result: record.status }, record.durationMs / 1000)
    },
    recordAuthFailure (reason: AuthFailureReason) {
      authFailureCounts.set(reason, (authFailureCounts.get(reason) ?? 0) + 1)
    },
    recordNotification (target: string, result: NotifyResult) {
      notifications.inc({ target, result })
    },
    recordHookIgnored (source: HookSource, reason: IgnoreReason, count: number) {
      hookIgnored.inc({ source, reason }, count)
    },
    recordHttp: (method: string, route: string, statusCode: number, seconds: number) => http.record(method, route, statusCode, seconds)
  })
}

export default fp(metrics, { fastify: '5.x', name: 'metrics' })
