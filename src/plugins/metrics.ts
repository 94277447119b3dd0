import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { UpdateRecord } from '../updates/records.js'
import type { AuthFailureReason } from './auth.js'
import type { NotifyResult } from '../notify/notifier.js'

export interface Metrics {
  registry: Registry
  recordUpdate: (record: UpdateRecord) => void
  recordAuthFailure: (reason: AuthFailureReason) => void
  recordNotification: (target: string, result: NotifyResult) => void
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}

/**
 * Prometheus metrics in a registry of the app's own (several apps may live in one test process):
 * updates by service and result, update duration, running and queued updates, auth failures by
 * reason, and HTTP requests by route.
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
  const notifications = new Counter({ name: 'container_updater_notifications_total', help: 'Notifications by target (redacted URL) and result: delivered, failed, retried', labelNames: ['target', 'result'], registers: [registry] })
  const authFailures = new Counter({ name: 'container_updater_auth_failures_total', help: 'Failed authentications by reason', labelNames: ['reason'], registers: [registry] })
  const load = (key: 'running' | 'queued'): number => app.hasDecorator('updater') ? app.updater.load[key] : 0
  // eslint-disable-next-line no-new
  new Gauge({ name: 'container_updater_updates_running', help: 'Docker updates running now', registers: [registry], collect () { this.set(load('running')) } })
  // eslint-disable-next-line no-new
  new Gauge({ name: 'container_updater_updates_queued', help: 'Updates waiting for their service or a slot', registers: [registry], collect () { this.set(load('queued')) } })
  const httpRequests = new Counter({ name: 'http_requests_total', help: 'HTTP requests by method, route and status', labelNames: ['method', 'route', 'status_code'], registers: [registry] })
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
    registers: [registry]
  })

  app.decorate('metrics', {
    registry,
    recordUpdate (record: UpdateRecord) {
      updates.inc({ service: record.service, result: record.status })
      if (record.durationMs !== null) updateDuration.observe({ service: record.service, result: record.status }, record.durationMs / 1000)
    },
    recordAuthFailure (reason: AuthFailureReason) {
      authFailures.inc({ reason })
    },
    recordNotification (target: string, result: NotifyResult) {
      notifications.inc({ target, result })
    }
  })

  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, never the raw URL: unknown paths must not create unbounded label values.
    const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) }
    httpRequests.inc(labels)
    httpDuration.observe(labels, reply.elapsedTime / 1000)
  })
}

export default fp(metrics, { fastify: '5.x', name: 'metrics' })
