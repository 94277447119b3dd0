import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { UpdateBody, UpdateParams, UpdateRecord, errorReplies } from '../schemas/update.js'
import { candidateServiceNames } from '../docker/names.js'
import type { UpdateRecord as Record } from '../docker/updater.js'
import { UpdateNotFound } from '../errors.js'

/** HTTP status for each final (or timed-out) update state. */
const statusFor: { [state in Record['status']]: number } = {
  queued: 202, updating: 202, completed: 200, rolled_back: 409, paused: 409, timeout: 504, failed: 502
}

/**
 * POST /update rolls a service onto its newest image; GET /updates/:updateId reports on one.
 * DESIGN.md §2 is the contract.
 */
export default async function updateRoutes (fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const record = Type.Ref(UpdateRecord)

  app.post('/update', {
    onRequest: app.authenticate,
    schema: {
      summary: 'Roll a Swarm service onto its newest image',
      security: [{ bearerAuth: [] }],
      body: UpdateBody,
      response: {
        200: record,
        202: record,
        409: record,
        504: record,
        ...errorReplies([400, 401, 403, 404, 413, 415, 429, 502, 503])
      }
    }
  }, async (request, reply) => {
    const { appName, tag, wait = true } = request.body
    const candidates = candidateServiceNames(appName)
    // Refuse before any Docker call when no name this request could resolve to is in scope, so a
    // scoped token cannot probe which services exist.
    app.authorizeService(request, candidates)
    const service = await app.updater.resolveService(appName)
    app.authorizeService(request, [appName, service.name])

    const job = app.updater.submit(service, { appName, tag })
    if (!wait) {
      audit(request, job.record, 'update accepted')
      job.result.then((final) => audit(request, final, 'update finished'), () => {})
      return reply.code(202).send({ ...job.record })
    }
    const final = await job.result
    audit(request, final, 'update finished')
    // A failed update rejects instead, so only 200, 409 and 504 come from here.
    return reply.code(statusFor[final.status] as 200 | 409 | 504).send(final)
  })

  app.get('/updates/:updateId', {
    onRequest: app.authenticate,
    schema: {
      summary: 'The state of an update',
      security: [{ bearerAuth: [] }],
      params: UpdateParams,
      response: { 200: record, ...errorReplies([400, 401, 403, 404, 429]) }
    }
  }, async (request) => {
    const found = app.updater.getRecord(request.params.updateId)
    if (found === undefined) throw new UpdateNotFound(request.params.updateId)
    app.authorizeService(request, [found.appName, found.service])
    return found
  })
}

/** One structured line per update: who, from where, what, and how it ended. */
function audit (request: FastifyRequest, record: Record, msg: string): void {
  const { principal } = request
  request.log.info({
    audit: {
      subject: principal?.subject,
      tokenId: principal?.tokenId,
      client: request.ip,
      updateId: record.updateId,
      appName: record.appName,
      service: record.service,
      previousImage: record.previousImage,
      image: record.image,
      status: record.status,
      durationMs: record.durationMs,
      ...(record.message !== undefined && { message: record.message })
    }
  }, msg)
}
