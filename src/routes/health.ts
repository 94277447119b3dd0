import type { FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import { errorBody } from '../errors.js'
import type {} from '@fastify/swagger'

/**
 * /healthz: the process serves requests (no Docker call, for container health checks).
 * /readyz: Docker answers and this node is a Swarm manager, else 503 with the reason.
 */
export default async function healthRoutes (app: FastifyInstance): Promise<void> {
  const ok = Type.Object({ status: Type.String() })

  app.get('/healthz', { schema: { summary: 'Liveness', response: { 200: ok } } }, async () => ({ status: 'ok' }))

  app.get('/readyz', {
    schema: { summary: 'Readiness: Docker reachable and this node a Swarm manager', response: { 200: ok, 503: Type.Ref('ErrorReply') } }
  }, async (request, reply) => {
    try {
      await app.engine.checkReady()
    } catch (error) {
      const { message, code } = error as { message: string, code?: string }
      request.log.warn({ code, reason: message }, 'not ready')
      return reply.code(503).send(errorBody(503, message, code))
    }
    return { status: 'ready' }
  })

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type(app.metrics.registry.contentType)
    return app.metrics.registry.metrics()
  })
}
