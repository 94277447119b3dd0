import type { FastifyInstance, FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify'
import { errorReplies } from '../schemas/update.js'
import { Forbidden } from '../errors.js'
import { boundedEventId, DeliveryLog, type DeliveryLimits, type DeliveryMemory } from '../hooks/deliveries.js'
import { secretsEqual, validGithubSignature } from '../hooks/credentials.js'
import { InvalidHookBody } from '../hooks/errors.js'
import { pushedImage, type HookSource, type ParsedDelivery, type PushEvent, type PushOrigin } from '../hooks/events.js'
import { DISTRIBUTION_EVENTS_TYPE, DISTRIBUTION_V3_EVENTS_TYPE, parseDistribution } from '../hooks/distribution.js'
import { CLOUDEVENTS_TYPE, parseHarbor } from '../hooks/harbor.js'
import { parseGithub } from '../hooks/github.js'
import { DOCKERHUB_TOKEN_MIN_LENGTH, parseDockerhub } from '../hooks/dockerhub.js'
import { DistributionBody, DockerhubBody, DockerhubParams, GithubBody, HarborBody, HookReceipt } from '../hooks/schemas.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Provided by the update engine: starts the updates a push calls for and returns at once
     * (fire-and-forget; the hook has already been answered 202 or is about to be).
     */
    onPush: (events: PushEvent[], origin: PushOrigin) => void
  }
}

export interface HooksOptions {
  /** GITHUB_WEBHOOK_SECRET; POST /hooks/github exists only when it is set */
  githubSecret?: string | undefined
  /** DOCKERHUB_WEBHOOK_TOKEN (at least 32 characters); POST /hooks/dockerhub/:token exists only when it is set */
  dockerhubToken?: string | undefined
  /**
   * where handled event ids are remembered (app.ts: the record database, or memory with
   * DATA_DIR=:memory:); without it, an in-memory log of `deliveries` limits
   */
  memory?: DeliveryMemory
  /** how many event ids are remembered, and for how long (defaults 10 000 and 24 h) */
  deliveries?: DeliveryLimits
}

/** How many pushed images the line of a delivery names (a batch can carry thousands). */
const LOGGED_IMAGES = 5

/** Every content type a registry posts; all are read as raw bytes (GitHub signs the exact bytes). */
const CONTENT_TYPES = ['application/json', DISTRIBUTION_EVENTS_TYPE, DISTRIBUTION_V3_EVENTS_TYPE, CLOUDEVENTS_TYPE]

/**
 * Body limits per source. The app's 4 KiB suits POST /update; Distribution batches several events
 * (one per blob) and GitHub's package payloads carry the whole manifest and labels.
 */
const BODY_LIMITS: Record<HookSource, number> = {
  distribution: 512 * 1024, github: 1024 * 1024, harbor: 256 * 1024, dockerhub: 256 * 1024
}

/**
 * POST /hooks/{distribution,github,harbor,dockerhub}: registry push events (docs/API.md §2). Each
 * source has its own credential; every accepted delivery is answered 202 at once with what it
 * contained, and its new tag pushes are handed to `app.onPush`, which runs the updates in the
 * background. Event ids are remembered, so a redelivery changes nothing.
 *
 * Not wrapped in fastify-plugin on purpose: the raw-body content-type parsers stay in this scope.
 */
export default async function hookRoutes (app: FastifyInstance, options: HooksOptions): Promise<void> {
  if (!app.hasDecorator('onPush')) throw new Error('hook routes need app.onPush (decorate it before registering the hook routes)')
  const { githubSecret, dockerhubToken } = options
  if (dockerhubToken !== undefined && dockerhubToken.length < DOCKERHUB_TOKEN_MIN_LENGTH) {
    throw new Error(`DOCKERHUB_WEBHOOK_TOKEN must be at least ${DOCKERHUB_TOKEN_MIN_LENGTH} characters (it is the whole credential)`)
  }
  const memory = options.memory ?? new DeliveryLog(options.deliveries)

  // Replaces, in this scope only, the JSON parser: the body stays a Buffer until the handler has
  // checked the credential (the signature is over these exact bytes), and then it is parsed.
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser(CONTENT_TYPES, { parseAs: 'buffer' }, (_request, body, done) => { done(null, body) })

  function routeOptions (source: HookSource, summary: string, description: string, body: object, security: Array<Record<string, string[]>>): RouteShorthandOptions {
    return {
      bodyLimit: BODY_LIMITS[source],
      // The schemas below document the bodies; the handler parses and checks the raw bytes itself.
      validatorCompiler: () => () => true,
      schema: {
        summary,
        description,
        tags: ['hooks'],
        consumes: CONTENT_TYPES,
        security,
        body,
        ...(source === 'dockerhub' && { params: DockerhubParams }),
        // 403: a read token of ours (docs/API.md, Tokens) triggers nothing; nor does one without `services`
        // under JWT_REQUIRE_SCOPE. 503: the handled event ids could not be read or written (the record
        // database); nothing was handed over, so the registry's retry is welcome.
        response: { 202: HookReceipt, ...errorReplies(security.length > 0 ? [400, 401, 403, 413, 415, 429, 503] : [400, 401, 413, 415, 429, 503]) }
      }
    }
  }

  /** Parses, de-duplicates and hands over one delivery; answers 202 with the counts. */
  async function receive (request: FastifyRequest, reply: FastifyReply, source: HookSource, parse: (body: unknown) => ParsedDelivery) {
    const { events, ignored } = parse(parseJson(request.body))
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
      hook: { source, subject: origin.subject, accepted: fresh.length, ignored, duplicate, images: fresh.slice(0, LOGGED_IMAGES).map(pushedImage) }
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
    return reply.code(202).send({ accepted: fresh.length, ignored, duplicate })
  }

  const bearer = [{ bearerAuth: [] }]

  /**
   * Our bearer token on a hook is held to the rules of POST /update: under JWT_REQUIRE_SCOPE a token
   * without a `services` claim is refused (403) before its body is read, as it is there.
   */
  async function requireScope (request: FastifyRequest): Promise<void> {
    if (request.principal !== undefined && request.principal.services === undefined && !app.seesAllServices(request)) {
      throw new Forbidden('any service (token has no services claim, and JWT_REQUIRE_SCOPE is on)')
    }
  }

  app.post('/hooks/distribution', {
    ...routeOptions('distribution', 'Push events from a Distribution registry',
      'CNCF Distribution / docker-registry / Zot / GitLab notifications. Authenticated with a bearer token of ours, ' +
      'sent by the registry through the `headers` of its notification endpoint. Only manifests pushed by tag count.',
      DistributionBody, bearer),
    onRequest: [app.authenticate, requireScope]
  }, (request, reply) => receive(request, reply, 'distribution', parseDistribution))

  app.post('/hooks/harbor', {
    ...routeOptions('harbor', 'Push events from Harbor',
      'Harbor webhook (HTTP, default or CloudEvents format) with the Auth Header `Bearer <token>`, a bearer token of ours. ' +
      'Only PUSH_ARTIFACT with a tag counts.',
      HarborBody, bearer),
    onRequest: [app.authenticate, requireScope]
  }, (request, reply) => receive(request, reply, 'harbor', parseHarbor))

  if (githubSecret !== undefined) {
    app.post('/hooks/github', {
      ...routeOptions('github', 'Push events from GitHub Packages (ghcr.io)',
        'GitHub `registry_package` / `package` webhook (content type application/json), signed with GITHUB_WEBHOOK_SECRET ' +
        '(`X-Hub-Signature-256`); a missing or wrong signature is 401. Only published/updated container versions with a tag count.',
        GithubBody, []),
      // The failed-attempt limit before the body is read: a limited address costs no HMAC.
      onRequest: app.authLimit
    }, async (request, reply) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
      const header = request.headers['x-hub-signature-256']
      if (!validGithubSignature(raw, header, githubSecret)) {
        return app.refuseCredential(request, reply, header === undefined ? 'missing' : 'signature', header === undefined ? 'missing X-Hub-Signature-256' : 'invalid X-Hub-Signature-256')
      }
      return receive(request, reply, 'github', (body) => parseGithub(body, request.headers))
    })
  }

  if (dockerhubToken !== undefined) {
    app.post('/hooks/dockerhub/:token', {
      ...routeOptions('dockerhub', 'Push events from Docker Hub',
        'Docker Hub repository webhook. Docker Hub signs nothing: the long random DOCKERHUB_WEBHOOK_TOKEN in the path is the ' +
        'credential, compared in constant time and never logged.',
        DockerhubBody, []),
      // The failed-attempt limit first: Fastify runs no later hook once one has answered.
      onRequest: [app.authLimit, async (request, reply) => {
        const { token } = request.params as { token?: string }
        if (token === undefined || !secretsEqual(token, dockerhubToken)) return app.refuseCredential(request, reply, 'signature', 'invalid webhook token')
        return undefined
      }]
    }, (request, reply) => receive(request, reply, 'dockerhub', parseDockerhub))
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
