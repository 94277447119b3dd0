import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { BatchReply, FrozenReply, OutsideWindowReply, PlanReply, UpdateBody, UpdateRecord as UpdateRecordSchema, errorReplies } from '../schemas/update.js'
import { InvalidTarget, NoTargetAllowed, ServiceNotFound, errorBody } from '../errors.js'
import type { StoredBatch, UpdateRecord } from '../store/records.js'
import { answerJob } from './job-answer.js'
import { batchHttpStatus, batchStatus } from './state-answers.js'
import { TriggerHeaders, triggerOf } from './trigger.js'

type Body = { appName?: string, image?: string, stack?: string, tag?: string, wait?: boolean, dryRun?: boolean, force?: boolean }

/**
 * POST /update: roll one service (appName), every service of an image or a stack onto its newest
 * image, or answer the plan (dryRun). docs/API.md is the contract.
 */
export default async function updateRoutes (fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const record = Type.Ref(UpdateRecordSchema)
  const batch = Type.Ref(BatchReply)
  const error = Type.Ref('ErrorReply')

  app.post('/update', {
    onRequest: app.authenticate,
    schema: {
      summary: 'Roll a Swarm service (or every service of an image or stack) onto its newest image',
      security: [{ bearerAuth: [] }],
      body: UpdateBody,
      headers: TriggerHeaders,
      response: {
        // A Docker timeout or conflict on a path whose success is a record is an error body.
        200: Type.Union([record, batch, Type.Ref(PlanReply)]),
        202: Type.Union([record, batch]),
        403: Type.Ref('ErrorReply'),
        // Outside the update window, or frozen (the engine's gates; "force" with an admin token passes).
        423: Type.Union([Type.Ref(OutsideWindowReply), Type.Ref(FrozenReply)]),
        409: Type.Union([record, batch, error]),
        502: Type.Union([batch, error]),
        503: Type.Union([batch, error]),
        504: Type.Union([record, batch, error]),
        ...errorReplies([400, 401, 404, 413, 415, 429])
      }
    }
  }, async (request, reply) => {
    const arrivedAt = Date.now()
    const body = request.body as Body
    const given = (['appName', 'image', 'stack'] as const).filter((key) => body[key] !== undefined)
    if (given.length !== 1) throw new InvalidTarget('give exactly one of appName, image, stack')
    if (body.tag !== undefined && body.appName === undefined) throw new InvalidTarget('tag goes only with appName (an image carries its own tag; stack services keep theirs)')
    // Forcing past a window or a freeze is an admin's decision, refused to others before anything is read.
    if (body.force === true) app.requireAccess(request, 'admin', '"force": true needs an admin token')
    if (body.appName !== undefined) return updateOne(request, reply, body.appName, body, arrivedAt)
    return updateMany(request, reply, body, arrivedAt)
  })

  async function updateOne (request: FastifyRequest, reply: FastifyReply, appName: string, body: Body, arrivedAt: number) {
    const service = await app.engine.resolve(appName, (names) => app.authorizeService(request, names))
    if (body.dryRun === true) {
      app.engine.check(service, { appName })
      return { dryRun: true, target: { appName }, plan: await app.engine.plan([service], body.tag), skipped: [] }
    }
    const job = app.engine.update(service, { appName, tag: body.tag, requestedBy: request.principal?.subject, trigger: triggerOf(request), force: body.force }, arrivedAt)
    auditAccepted(request, { updateId: job.record.updateId, service: service.name })
    return await answerJob(app, reply, service, job, body.wait)
  }

  async function updateMany (request: FastifyRequest, reply: FastifyReply, body: Body, arrivedAt: number) {
    const target = body.image !== undefined ? { image: body.image } : { stack: body.stack! }
    const found = await app.engine.find(target)
    // Services outside the token's scope are neither updated nor named.
    const inScope = found.filter((service) => app.mayUpdate(request, [service.name]))
    if (inScope.length === 0) throw new ServiceNotFound(body.image ?? body.stack!)
    const { eligible, skipped } = app.engine.eligible(inScope)
    if (eligible.length === 0) {
      const refusal = new NoTargetAllowed(body.image ?? body.stack!)
      return reply.code(403).send({ ...errorBody(403, refusal.message, refusal.code), skipped })
    }
    const tag = app.engine.tagOf(target)
    if (body.dryRun === true) return { dryRun: true, target, plan: await app.engine.plan(eligible, tag), skipped }
    // One service behind a closed window or a freeze refuses the whole batch (423): nothing starts.
    const { batch: stored, jobs } = app.engine.updateMany(eligible, { target, tag, requestedBy: request.principal?.subject, trigger: triggerOf(request), force: body.force, skipped, arrivedAt })
    auditAccepted(request, { batchId: stored.batchId, updateIds: stored.updateIds, services: eligible.map((s) => s.name) })
    if (body.wait === false || eligible.some((s) => app.engine.isSelf(s))) {
      return reply.code(202).send(batchReply(stored, jobs.map((j) => j.record)))
    }
    const answers = await Promise.all(jobs.map(async (job) => job.wait()))
    const records = answers.map((a) => a.record)
    return reply.code(batchHttpStatus(records)).send(batchReply(stored, records))
  }
}

/** Who asked for what, from where: the outcome is audited when the update ends (plugins/docker.ts). */
function auditAccepted (request: FastifyRequest, what: { [key: string]: unknown }): void {
  const { principal } = request
  request.log.info({ audit: { event: 'accepted', subject: principal?.subject, tokenId: principal?.tokenId, client: request.ip, ...what } }, 'update accepted')
}

export function batchReply (batch: StoredBatch, records: UpdateRecord[]) {
  return { batchId: batch.batchId, target: batch.target, status: batchStatus(records), updates: records, skipped: batch.skipped, statusUrl: `/batches/${batch.batchId}` }
}
