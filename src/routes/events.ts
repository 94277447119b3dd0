import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { errorReplies } from '../schemas/update.js'

const lastEventIdRe = /^\d{1,15}$/

/**
 * GET /events: Server-Sent Events of record changes, each record as GET /updates/:id shows it,
 * and of watch-state changes, each service as GET /watch lists it; filtered to the token's scope (`curl -N`, and the dashboard). The answer is written on the raw
 * socket (hijacked) because it never ends; see docs/API.md for the frames.
 */
export default async function eventsRoutes (fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  app.get('/events', {
    onRequest: app.authenticate,
    schema: {
      summary: 'Live record and watch-state changes (text/event-stream), filtered to the token\'s scope; resumes after Last-Event-ID',
      security: [{ bearerAuth: [] }],
      headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ maxLength: 32 })) }),
      response: {
        200: Type.String({ description: 'text/event-stream: `hello`, then `record` events (data: an update record) and `watch` events (data: a service as GET /watch lists it), `reset` when resumption is impossible, and `: heartbeat` comments' }),
        ...errorReplies([400, 401, 403, 429, 503])
      }
    }
  }, async (request, reply) => {
    const given = request.headers['last-event-id']
    const lastEventId = given !== undefined && lastEventIdRe.test(given) ? Number(given) : undefined
    // Records and watch states alike: only what names a service in the token's scope.
    const visible = app.seesAllServices(request) ? () => true : (names: readonly string[]) => app.mayUpdate(request, names)
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      'x-request-id': request.id
    })
    res.socket?.setNoDelay(true)
    app.recordStream.attach(res, visible, lastEventId)
    app.metrics.recordHttp('GET', '/events', 200, 0)
  })
}
