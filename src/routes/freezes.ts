import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { FreezeBody, FreezeList, FreezeParams, FreezeSchema } from '../schemas/freezes.js'
import { errorReplies } from '../schemas/update.js'
import { FreezeNotFound, InvalidTarget } from '../errors.js'
import { globMatches } from '../auth/scope.js'

const YEAR_MS = 366 * 86_400_000

/**
 * Freezes (DESIGN §8; docs/API.md, "Freezes"): an admin stops updates of some services until a
 * time. Creating and deleting need an `admin` token whose scope covers every pattern; a scoped
 * token sees the freezes that can touch its services.
 */
export default async function freezeRoutes (fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const denied = errorReplies([400, 401, 403, 404, 413, 415, 429, 503])

  app.post('/freezes', {
    onRequest: app.authenticate,
    schema: {
      summary: 'Freeze services: automatic updates are held, explicit ones refused 423 CU_FROZEN, until the freeze ends (admin)',
      security: [{ bearerAuth: [] }],
      body: FreezeBody,
      response: { 201: Type.Ref(FreezeSchema), ...denied }
    }
  }, async (request, reply) => {
    app.requireAccess(request, 'admin', 'freezes need an admin token')
    const { services, until, reason } = request.body
    // A scoped admin freezes only what its scope covers (a pattern counts as a name here).
    for (const pattern of services) app.authorizeService(request, [pattern])
    const ends = Date.parse(until)
    const now = Date.now()
    if (!(ends > now)) throw new InvalidTarget(`until ${until} is not in the future`)
    if (ends - now > YEAR_MS) throw new InvalidTarget(`until ${until} is more than a year ahead`)
    const freeze = app.engine.freeze({ services, until, reason, createdBy: request.principal?.subject })
    request.log.info({ audit: { event: 'frozen', freezeId: freeze.freezeId, subject: request.principal?.subject, tokenId: request.principal?.tokenId, client: request.ip } }, 'freeze created')
    return reply.code(201).send(freeze)
  })

  app.get('/freezes', {
    onRequest: app.authenticate,
    schema: { summary: 'The freezes in force that can touch the services in the token\'s scope', security: [{ bearerAuth: [] }], response: { 200: Type.Ref(FreezeList), ...errorReplies([401, 403, 429, 503]) } }
  }, async (request) => ({
    // A scoped token sees a freeze that touches its scope with only the patterns that do: the
    // freeze's other patterns name services outside it.
    freezes: app.engine.freezes().filter((f) => visible(request, f.services)).map((f) => ({ ...f, services: f.services.filter((p) => visible(request, [p])) }))
  }))

  app.delete('/freezes/:freezeId', {
    onRequest: app.authenticate,
    schema: { summary: 'End a freeze now: what it held is looked at again (admin)', security: [{ bearerAuth: [] }], params: FreezeParams, response: { 204: Type.Null(), ...denied } }
  }, async (request, reply) => {
    app.requireAccess(request, 'admin', 'freezes need an admin token')
    const { freezeId } = request.params
    const freeze = app.engine.getFreeze(freezeId)
    // Out of scope is answered as absent, as for records.
    if (freeze === undefined || !visible(request, freeze.services)) throw new FreezeNotFound(freezeId)
    for (const pattern of freeze.services) app.authorizeService(request, [pattern])
    if (!app.engine.unfreeze(freezeId)) throw new FreezeNotFound(freezeId)
    request.log.info({ audit: { event: 'unfrozen', freezeId, subject: request.principal?.subject, tokenId: request.principal?.tokenId, client: request.ip } }, 'freeze deleted')
    return reply.code(204).send(null)
  })

  /** Can a freeze of these patterns touch a service of the token's scope? (Either glob covers the other.) */
  function visible (request: FastifyRequest, patterns: readonly string[]): boolean {
    if (app.seesAllServices(request)) return true
    if (app.mayUpdate(request, patterns)) return true
    const scope = request.principal?.services ?? []
    return patterns.some((f) => scope.some((p) => globMatches(f, p)))
  }
}
