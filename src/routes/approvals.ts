import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { UpdateParams, UpdateRecord, errorReplies } from '../schemas/update.js'
import { NotPending, UpdateNotFound } from '../errors.js'

/**
 * Approvals (DESIGN §8; docs/API.md, "Approvals"): an automatic update of a service labelled
 * `container-updater.approve=true` waits as `pending_approval` until an admin approves it (it
 * starts, or is held by a closed window or freeze) or rejects it (`rejected`).
 */
export default async function approvalRoutes (fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const replies = { 200: Type.Ref(UpdateRecord), ...errorReplies([400, 401, 403, 404, 409, 415, 429, 502, 503, 504]) }

  /** An admin's, on a pending record the token may see (out of scope is answered as absent). */
  function recordInScope (request: FastifyRequest, updateId: string): void {
    app.requireAccess(request, 'admin', 'approvals need an admin token')
    const found = app.engine.get(updateId)
    if (found === undefined || !app.mayUpdate(request, [found.appName, found.service])) throw new UpdateNotFound(updateId)
    if (found.status !== 'pending_approval') throw new NotPending(updateId, found.status)
  }

  app.post('/updates/:updateId/approve', {
    onRequest: app.authenticate,
    schema: { summary: 'Approve an update waiting for approval: it starts now, or is held by a closed window or freeze (admin)', security: [{ bearerAuth: [] }], params: UpdateParams, response: replies }
  }, async (request) => {
    recordInScope(request, request.params.updateId)
    const record = await app.engine.approve(request.params.updateId, request.principal?.subject)
    request.log.info({ audit: { event: 'approved', updateId: record.updateId, service: record.service, subject: request.principal?.subject, tokenId: request.principal?.tokenId, client: request.ip } }, 'update approved')
    return record
  })

  app.post('/updates/:updateId/reject', {
    onRequest: app.authenticate,
    schema: { summary: 'Reject an update waiting for approval: it ends rejected (admin)', security: [{ bearerAuth: [] }], params: UpdateParams, response: replies }
  }, async (request) => {
    recordInScope(request, request.params.updateId)
    const record = app.engine.reject(request.params.updateId, request.principal?.subject)
    request.log.info({ audit: { event: 'rejected', updateId: record.updateId, service: record.service, subject: request.principal?.subject, tokenId: request.principal?.tokenId, client: request.ip } }, 'update rejected')
    return record
  })
}
