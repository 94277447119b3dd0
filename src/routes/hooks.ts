import type { FastifyInstance, FastifyReply, FastifyRequest, RouteShorthandOptions, onRequestHookHandler } from 'fastify'
import { errorReplies } from '../schemas/update.js'
import { Forbidden } from '../errors.js'
import { boundedEventId, DeliveryLog } from '../hooks/deliveries.js'
import { secretsEqual } from '../hooks/credentials.js'
import { InvalidHookBody } from '../hooks/errors.js'
import { countReasons, pushedImage, type PushEvent, type PushOrigin } from '../hooks/events.js'
import { DISTRIBUTION_EVENTS_TYPE, DISTRIBUTION_V3_EVENTS_TYPE } from '../hooks/distribution.js'
import { CLOUDEVENTS_TYPE } from '../hooks/harbor.js'
import { DOCKERHUB_TOKEN_MIN_LENGTH } from '../hooks/dockerhub.js'
import { QUAY_TOKEN_MIN_LENGTH } from '../hooks/quay.js'
import { HookReceipt, TokenParams } from '../hooks/schemas.js'
import { hookRouteTable, type HookRoute, type HooksOptions } from './hook-sources.js'

export type { HooksOptions } from './hook-sources.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Provided by the update engine: starts the updates a push calls for and returns at once
     * (fire-and-forget; the hook has already been answered 202 or is about to be).
     */
    onPush: (events: PushEvent[], origin: PushOrigin) => void
  }
}

/** How many pushed images the line of a delivery names (a batch can carry thousands). */
const LOGGED_IMAGES = 5

/** Every content type a registry posts; all are read as raw bytes (GitHub and Gitea sign the exact bytes). */
const CONTENT_TYPES = ['application/json', DISTRIBUTION_EVENTS_TYPE, DISTRIBUTION_V3_EVENTS_TYPE, CLOUDEVENTS_TYPE]

/**
 * POST /hooks/{distribution,harbor,acr,zot,github,gitea,dockerhub,quay}: registry push events
 * (docs/API.md §2), one route per source from the table in hook-sources.ts. Each source has its own
 * credential; every accepted delivery is answered 202 at once with what it contained and why what
 * it ignored was ignored, and its new tag pushes are handed to `app.onPush`, which runs the updates
 * in the background. Event ids are remembered, so a redelivery changes nothing.
 *
 * Not wrapped in fastify-plugin on purpose: the raw-body content-type parsers stay in this scope.
 */
export default async function hookRoutes (app: FastifyInstance, options: HooksOptions): Promise<void> {
  if (!app.hasDecorator('onPush')) throw new Error('hook routes need app.onPush (decorate it before registering the hook routes)')
  for (const [name, token, min] of [['DOCKERHUB_WEBHOOK_TOKEN', options.dockerhubToken, DOCKERHUB_TOKEN_MIN_LENGTH], ['QUAY_WEBHOOK_TOKEN', options.quayToken, QUAY_TOKEN_MIN_LENGTH]] as const) {
    if (token !== undefined && token.length < min) throw new Error(`${name} must be at least ${min} characters (it is the whole credential)`)
  }
  const memory = options.memory ?? new DeliveryLog(options.deliveries)

  // Replaces, in this scope only, the JSON parser: the body stays a Buffer until the handler has
  // checked the credential (the signature is over these exact bytes), and then it is parsed.
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser(CONTENT_TYPES, { parseAs: 'buffer' }, (_request, body, done) => { done(null, body) })

  function routeOptions (route: HookRoute): RouteShorthandOptions {
    const security = route.auth.kind === 'bearer' ? [{ bearerAuth: [] }] : []
    return {
      bodyLimit: route.bodyLimit,
      // The schemas below document the bodies; the handler parses and checks the raw bytes itself.
      validatorCompiler: () => () => true,
      schema: {
        summary: route.summary,
        description: route.description,
        tags: ['hooks'],
        consumes: CONTENT_TYPES,
        security,
        body: route.body,
        ...(route.auth.kind === 'path-token' && { params: TokenParams }),
        ...(route.querystring !== undefined && { querystring: route.querystring }),
        // 403: a read token of ours (docs/API.md, Tokens) triggers nothing; nor does one without `services`
        // under JWT_REQUIRE_SCOPE. 503: the handled event ids could not be read or written (the record
        // database); nothing was handed over, so the registry's retry is welcome.
        response: { 202: HookReceipt, ...errorReplies(security.length > 0 ? [400, 401, 403, 413, 415, 429, 503] : [400, 401, 413, 415, 429, 503]) }
      }
    }
  }

  /** Parses, de-duplicates and hands over one delivery; answers 202 with the counts and the reasons. */
  async function receive (request: FastifyRequest, reply: FastifyReply, route: HookRoute) {
    const { source } = route
    const parsed = route.parse(parseJson(request.body), request)
    const { events } = parsed
    const ignoredReasons = countReasons(parsed.ignored)
    const ignored = parsed.ignored.length
    for (const { reason, count } of ignoredReasons) app.metrics.recordHookIgnored(source, reason, count)
    // Ids are bounded before anything keeps them: a sender controls their length (issue #24 item 3).
    for (const event of events) event.id = boundedEventId(event.id)
    const seen = events.length === 0 ? [] : memory.remember(source, events.map((event) => event.id))
    const fresh = events.filter((_event, i) => seen[i])
    const duplicate = events.length - fresh.length
    const principal = request.principal
    const origin: PushOrigin = {
      source,
      ...(principal?.subject !== undefined && { subject: principal.subject }),
      ...(principal?.tokenId !== undefined && { tokenId: principal.tokenId }),
      ...(principal?.services !== undefined && { services: principal.services })
    }
    // A push to a Distribution registry reports every blob too: only deliveries that carried a
    // tag push are worth an info line.
    request.log[events.length > 0 ? 'info' : 'debug']({
      hook: { source, subject: origin.subject, accepted: fresh.length, ignored: ignoredReasons, duplicate, images: fresh.slice(0, LOGGED_IMAGES).map(pushedImage) }
    }, 'registry push received')
    if (fresh.length > 0) {
      try {
        const pending: unknown = app.onPush(fresh, origin)
        // onPush is meant to return nothing; should it return a promise, its failure is logged.
        if (pending instanceof Promise) pending.catch((error: unknown) => request.log.error({ err: error }, 'push handling failed'))
      } catch (error) {
        // Not handed over: forget the ids so the registry's retry is accepted, and answer 5xx.
        memory.forget(source, fresh.map((event) => event.id))
        throw error
      }
    }
    return reply.code(202).send({ accepted: fresh.length, ignored, ignoredReasons, duplicate })
  }

  /**
   * Our bearer token on a hook is held to the rules of POST /update: under JWT_REQUIRE_SCOPE a token
   * without a `services` claim is refused (403) before its body is read, as it is there.
   */
  async function requireScope (request: FastifyRequest): Promise<void> {
    if (request.principal !== undefined && request.principal.services === undefined && !app.seesAllServices(request)) {
      throw new Forbidden('any service (token has no services claim, and JWT_REQUIRE_SCOPE is on)')
    }
  }

  for (const route of hookRouteTable(options)) {
    const { auth } = route
    let onRequest: onRequestHookHandler | onRequestHookHandler[]
    if (auth.kind === 'bearer') onRequest = [app.authenticate, requireScope]
    // The failed-attempt limit before the body is read: a limited address costs no HMAC.
    else if (auth.kind === 'signature') onRequest = app.authLimit
    else {
      // The failed-attempt limit first: Fastify runs no later hook once one has answered.
      onRequest = [app.authLimit, async (request, reply) => {
        const { token } = request.params as { token?: string }
        if (token === undefined || !secretsEqual(token, auth.token)) return app.refuseCredential(request, reply, 'signature', 'invalid webhook token')
        return undefined
      }]
    }
    app.post(route.url, { ...routeOptions(route), onRequest }, async (request, reply) => {
      if (auth.kind === 'signature') {
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
        if (!auth.verify(raw, request.headers)) {
          const missing = !auth.present(request.headers)
          return app.refuseCredential(request, reply, missing ? 'missing' : 'signature', `${missing ? 'missing' : 'invalid'} ${auth.header}`)
        }
      }
      return receive(request, reply, route)
    })
  }
}

function parseJson (body: unknown): unknown {
  if (!Buffer.isBuffer(body) || body.length === 0) throw new InvalidHookBody('empty body')
  try {
    return JSON.parse(body.toString('utf8'))
  } catch {
    throw new InvalidHookBody('not valid JSON')
  }
}
