import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { errorReplies } from '../schemas/update.js'
import { QuarantineNotFound } from '../errors.js'
import { WATCH_STATES } from '../watch/cycle.js'
import { SERVICE_NAME_MAX_LENGTH, SERVICE_NAME_PATTERN } from '../docker/names.js'
import { normalizeRepository } from '../docker/image-ref.js'
import { currentImage } from '../watch/policies.js'
import { storeSnapshot, watchEntry } from '../watch/entry.js'

/**
 * The watcher's API (DESIGN §7): its state per service, a check now, lifting a quarantine. Tokens
 * as for /update; everything is filtered to the token's scope (a service outside it is not named).
 */
const nullableString = Type.Union([Type.String(), Type.Null()])
const iso = (ms: number | null | undefined): string | null => ms === null || ms === undefined ? null : new Date(ms).toISOString()

const WatchServiceSchema = Type.Object({
  service: Type.String(),
  image: Type.String({ description: 'the spec\'s image' }),
  watch: Type.Union([Type.Literal('true'), Type.Literal('notify')], { description: 'the `container-updater.watch` label' }),
  policy: Type.String({ description: 'the `policy` label as written, or `digest`' }),
  schedule: Type.String({ description: 'how often it is checked: the `schedule` label, else WATCH_INTERVAL (e.g. `1h`)' }),
  minAge: Type.String({ description: 'the `min-age` label, `0s` without it' }),
  state: Type.Union(WATCH_STATES.map((s) => Type.Literal(s))),
  current: Type.Object({ tag: nullableString, digest: nullableString }),
  available: Type.Union([Type.Object({ image: Type.String(), tag: Type.String(), digest: Type.String(), firstSeenAt: Type.String(), eligibleAt: Type.String() }), Type.Null()]),
  quarantined: Type.Union([Type.Object({ digest: Type.String(), updateId: Type.String(), since: Type.String() }), Type.Null()]),
  lastCheckedAt: nullableString,
  nextCheckAt: nullableString,
  message: Type.Optional(Type.String())
})
const WatchReply = Type.Object({
  services: Type.Array(WatchServiceSchema),
  registries: Type.Array(Type.Object({ registry: Type.String(), state: Type.String(), until: Type.Optional(Type.String()), message: Type.Optional(Type.String()) }))
})

export default async function watchRoutes (fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const denied = errorReplies([400, 401, 403, 404, 429, 503])

  app.get('/watch', {
    onRequest: app.authenticate,
    schema: { summary: 'Watch state of the services in the token\'s scope', security: [{ bearerAuth: [] }], response: { 200: WatchReply, ...denied } }
  }, async (request) => {
    const { scheduler, store, budget } = app.watch
    const visible = scheduler.views().filter((v) => app.mayUpdate(request, [v.service]))
    // A registry is named only to a token that sees a service pulling from it.
    const seen = new Set(visible.map((v) => registryOf(v.image)))
    const stored = storeSnapshot(store)
    const services = visible.map((v) => watchEntry(v, stored))
    const registries = budget.states().filter((r) => seen.has(r.registry)).map((r) => ({ registry: r.registry, state: r.state, ...(r.until !== undefined && { until: iso(r.until)! }), ...(r.message !== undefined && { message: r.message }) }))
    return { services, registries }
  })

  app.post('/watch/check', {
    onRequest: app.authenticate,
    schema: {
      summary: 'Check now: one service, or every watched service in the token\'s scope',
      security: [{ bearerAuth: [] }],
      body: Type.Optional(Type.Object({ service: Type.Optional(Type.String({ pattern: SERVICE_NAME_PATTERN, maxLength: SERVICE_NAME_MAX_LENGTH })) }, { additionalProperties: false })),
      response: { 202: Type.Object({ accepted: Type.Boolean() }), ...denied }
    }
  }, async (request, reply) => {
    const wanted = request.body?.service
    if (wanted !== undefined) app.authorizeService(request, [wanted])
    const views = app.watch.scheduler.views().filter((v) => (wanted === undefined || v.service === wanted) && app.mayUpdate(request, [v.service]))
    // A named service not yet listed (or not watched) is looked for at a listing soon; nothing else
    // is checked for it. Only a token that sees every service may check every watched one.
    if (wanted !== undefined && views.length === 0) app.watch.scheduler.relist()
    else app.watch.scheduler.checkNow(wanted === undefined && app.seesAllServices(request) ? undefined : views.map((v) => v.serviceId))
    return reply.code(202).send({ accepted: true })
  })

  app.delete('/watch/:service/quarantine', {
    onRequest: app.authenticate,
    schema: {
      summary: 'Lift the quarantine of a service',
      security: [{ bearerAuth: [] }],
      params: Type.Object({ service: Type.String({ pattern: SERVICE_NAME_PATTERN, maxLength: SERVICE_NAME_MAX_LENGTH }) }),
      response: { 204: Type.Null(), ...denied }
    }
  }, async (request, reply) => {
    const { service } = request.params
    app.authorizeService(request, [service])
    app.requireAccess(request, 'admin', 'lifting a quarantine needs an admin token')
    const found = app.watch.store.quarantines().find((q) => q.service === service)
    if (found === undefined || !app.watch.store.lift(found.serviceId)) throw new QuarantineNotFound(service)
    app.watch.announce()
    return reply.code(204).send(null)
  })
}

/** The registry a spec image pulls from, named as the cycle names it to the budget. */
function registryOf (image: string): string {
  const current = currentImage(image)
  return current === undefined || 'pinned' in current ? '' : normalizeRepository(current.repository).registry
}
