import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { BatchParams, BatchReply, UpdateParams, UpdateRecord, UpdatesPage, UpdatesQuery, errorReplies } from '../schemas/update.js'
import { BatchNotFound, UpdateNotFound } from '../errors.js'
import type { ListQuery } from '../store/records.js'
import { batchReply } from './update.js'
import { queryValidatorCompiler } from './query-validator.js'

/**
 * The history: one update, a page of updates (newest first, filtered to the token's scope), and
 * one batch. Records come from the store, so they outlive the process that made them.
 */
export default async function updatesRoutes (fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const denied = errorReplies([400, 401, 403, 404, 429, 503])

  app.get('/updates/:updateId', {
    onRequest: app.authenticate,
    schema: { summary: 'The state of an update', security: [{ bearerAuth: [] }], params: UpdateParams, response: { 200: Type.Ref(UpdateRecord), ...denied } }
  }, async (request) => {
    const found = app.engine.get(request.params.updateId)
    // Out of scope is answered as absent (docs/API.md): a 403 would name the service and confirm the record.
    if (found === undefined || !app.mayUpdate(request, [found.appName, found.service])) throw new UpdateNotFound(request.params.updateId)
    return found
  })

  app.get('/updates', {
    onRequest: app.authenticate,
    validatorCompiler: queryValidatorCompiler,
    schema: {
      summary: 'Update history, newest first, limited to the services the token may see',
      security: [{ bearerAuth: [] }],
      querystring: UpdatesQuery,
      response: { 200: Type.Ref(UpdatesPage), ...denied }
    }
  }, async (request) => {
    const { service, status, since, limit = 20, cursor } = request.query
    // Existence is not revealed: records outside the scope are skipped as if they did not exist.
    // A token for every service needs no filter (the store then skips its scope scan).
    const visible: ListQuery['visible'] = app.seesAllServices(request) ? undefined : (names) => app.mayUpdate(request, [names.appName, names.service])
    return app.engine.list({
      limit,
      ...(visible !== undefined && { visible }),
      ...(service !== undefined && { service }),
      ...(status !== undefined && { status }),
      ...(since !== undefined && { since }),
      ...(cursor !== undefined && { cursor })
    })
  })

  app.get('/batches/:batchId', {
    onRequest: app.authenticate,
    schema: { summary: 'The state of a multi-service update', security: [{ bearerAuth: [] }], params: BatchParams, response: { 200: Type.Ref(BatchReply), ...denied } }
  }, async (request) => {
    const found = app.engine.batch(request.params.batchId)
    if (found === undefined) throw new BatchNotFound(request.params.batchId)
    const { batch, records } = found
    const visible = records.filter((r) => app.mayUpdate(request, [r.appName, r.service]))
    if (visible.length === 0) throw new BatchNotFound(request.params.batchId)
    return batchReply({ ...batch, skipped: batch.skipped.filter((s) => app.mayUpdate(request, [s.service])) }, visible)
  })
}
