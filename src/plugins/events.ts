import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { Counter, Gauge } from 'prom-client'
import { RecordStream, type RecordStreamOptions } from '../events-stream/hub.js'

declare module 'fastify' {
  interface FastifyInstance {
    recordStream: RecordStream
  }
}

/**
 * The live stream of record and watch-state changes behind GET /events, fed by the engine's onChange
 * (plugins/docker.ts) and the watcher's announcer (plugins/watch.ts).
 * Its clients and the slow ones it dropped are in /metrics. Streams end on preClose, so that close()
 * does not wait for connections that never finish on their own.
 * @see ../events-stream/hub.ts
 */
async function events (app: FastifyInstance, options: Omit<RecordStreamOptions, 'onDropped'> = {}): Promise<void> {
  const dropped = new Counter({ name: 'container_updater_events_dropped_total', help: 'Event-stream clients cut off because they stopped reading', registers: [app.metrics.registry] })
  const stream = new RecordStream({ ...options, onDropped: () => dropped.inc() })
  // eslint-disable-next-line no-new
  new Gauge({ name: 'container_updater_events_clients', help: 'Event-stream clients connected now', registers: [app.metrics.registry], collect () { this.set(stream.clients) } })
  app.decorate('recordStream', stream)
  app.addHook('preClose', async () => stream.close())
}

export default fp(events, { fastify: '5.x', name: 'events', dependencies: ['metrics'] })
