import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { UpdateRecord as UpdateRecordSchema, errorReplies } from '../schemas/update.js'
import { RollbackBody } from '../schemas/rollback.js'
import { answerJob } from './job-answer.js'
import { TriggerHeaders, triggerOf } from './trigger.js'

/**
 * POST /rollback: `docker service rollback` of one service through its lane (DESIGN §8, docs/API.md
 * "POST /rollback"). The answer is a record with `action: "rollback"`; `previousImage` → `image` as
 * Swarm restored them. A deploy token may (a read token is refused by the auth hook: it is a POST).
 */
export default async function rollbackRoutes (fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const record = Type.Ref(UpdateRecordSchema)
  const error = Type.Ref('ErrorReply')

  app.post('/rollback', {
    onRequest: app.authenticate,
    schema: {
      summary: 'Roll a Swarm service back to the spec it had before its last update (docker service rollback)',
      security: [{ bearerAuth: [] }],
      headers: TriggerHeaders,
      body: RollbackBody,
      response: {
        200: record,
        202: record,
        // 409: CU_NO_PREVIOUS_SPEC (an error body), or the record of a rollback Swarm paused.
        409: Type.Union([record, error]),
        504: Type.Union([record, error]),
        ...errorReplies([400, 401, 403, 404, 413, 415, 429, 502, 503])
      }
    }
  }, async (request, reply) => {
    const arrivedAt = Date.now()
    const { appName, wait } = request.body
    const service = await app.engine.resolve(appName, (names) => app.authorizeService(request, names))
    const job = app.engine.rollback(service, { appName, requestedBy: request.principal?.subject, trigger: triggerOf(request) }, arrivedAt)
    request.log.info({ audit: { event: 'accepted', action: 'rollback', subject: request.principal?.subject, tokenId: request.principal?.tokenId, client: request.ip, updateId: job.record.updateId, service: service.name } }, 'rollback accepted')
    // A failed rollback answers with its domain error (409 CU_NO_PREVIOUS_SPEC, 502, 503 …), not a record.
    return await answerJob(app, reply, service, job, wait)
  })
}
