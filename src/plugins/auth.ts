import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AuthFailureLimiter } from '../auth/failure-limiter.js'
import { clientKey } from '../auth/client-key.js'
import { scopeDecision } from '../auth/scope.js'
import { MAX_TOKEN_LENGTH, createTokenVerifier, type AuthFailureReason, type Principal, type Verification } from '../auth/verifier.js'
import { Forbidden } from '../errors.js'
import type { Config } from '../config.js'

export type { AuthFailureReason, Principal, Verification } from '../auth/verifier.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook: verifies the bearer token, or answers 401/429 itself */
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>
    /** verifies a token (src/auth/verifier.ts; the CLI uses that module directly) */
    verifyToken: (token: string) => Verification | Promise<Verification>
    /** throws 403 unless the token may update one of these service names */
    authorizeService: (request: FastifyRequest, names: readonly string[]) => void
    /** may the token see (and update) a service of one of these names? For listings: never throws */
    mayUpdate: (request: FastifyRequest, names: readonly string[]) => boolean
  }
  interface FastifyRequest {
    principal?: Principal
    /** why authentication failed, for the access log */
    authFailure?: AuthFailureReason
  }
}

export interface AuthOptions {
  config: Config
  onFailure?: (reason: AuthFailureReason) => void
}

// Exactly one scheme and one compact JWS; anything else is malformed before any decoding.
const bearerRe = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i

/**
 * Bearer-token authentication (src/auth/verifier.ts) as an onRequest hook, the failed-attempt
 * limiter, and per-service authorisation from the token's scope (docs/API.md §3). Every verification
 * failure is a 401 with a short reason; the token itself never reaches a log or a message.
 */
async function auth (app: FastifyInstance, { config, onFailure = () => {} }: AuthOptions): Promise<void> {
  const verifier = await createTokenVerifier(config)
  const limiter = new AuthFailureLimiter({ limit: config.AUTH_FAILURE_LIMIT, windowMs: config.AUTH_FAILURE_WINDOW * 1000 })

  // Declared up front so every request object keeps one shape (V8 hidden classes).
  app.decorateRequest('principal', undefined)
  app.decorateRequest('authFailure', undefined)

  app.decorate('verifyToken', verifier.verify)

  /**
   * Answers 401/429 directly rather than throwing: Fastify's error path costs several times a plain
   * reply, and this is the path a flood of bad tokens takes. The body has the error handler's shape.
   */
  function reject (request: FastifyRequest, reply: FastifyReply, client: string, reason: AuthFailureReason, message: string): FastifyReply {
    request.authFailure = reason
    onFailure(reason)
    if (reason === 'rate_limited') {
      return reply.code(429).header('retry-after', String(limiter.retryAfter(client))).send({
        statusCode: 429, error: 'Too Many Requests', message, code: 'CU_TOO_MANY_AUTH_FAILURES'
      })
    }
    if (limiter.recordFailure(client)) {
      // One line when a client reaches the limit; each refused request is only a debug line.
      request.log.warn({ client, failures: config.AUTH_FAILURE_LIMIT, windowSeconds: config.AUTH_FAILURE_WINDOW }, 'too many failed authentications: address limited')
    }
    return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: `Unauthorized: ${message}`, code: 'CU_UNAUTHORIZED' })
  }

  app.decorate('authenticate', async function authenticate (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    // IPv6 clients count by their /64, IPv4-mapped addresses as IPv4 (client-key.ts).
    const client = clientKey(request.ip)
    if (limiter.retryAfter(client) > 0) {
      return reject(request, reply, client, 'rate_limited', 'Too many failed authentications from this address; retry later')
    }
    const header = request.headers.authorization
    if (header === undefined || header === '') return reject(request, reply, client, 'missing', 'missing bearer token')
    if (header.length > MAX_TOKEN_LENGTH) return reject(request, reply, client, 'malformed', 'token too large')
    // Node keeps only the first of repeated Authorization headers; a request with two is ambiguous.
    if (countHeader(request.raw.rawHeaders, 'authorization') > 1) return reject(request, reply, client, 'malformed', 'more than one Authorization header')
    const token = bearerRe.exec(header)?.[1]
    if (token === undefined) return reject(request, reply, client, 'malformed', 'expected "Authorization: Bearer <JWT>"')
    const pending = verifier.verify(token)
    const verification = pending instanceof Promise ? await pending : pending
    if (!verification.ok) return reject(request, reply, client, verification.reason, verification.message)
    request.principal = verification.principal
    return undefined
  })

  app.decorate('authorizeService', function authorizeService (request: FastifyRequest, names: readonly string[]): void {
    const decision = scopeDecision(request.principal, names, config.JWT_REQUIRE_SCOPE)
    if (!decision.allowed) throw new Forbidden(decision.why)
  })

  app.decorate('mayUpdate', function mayUpdate (request: FastifyRequest, names: readonly string[]): boolean {
    return scopeDecision(request.principal, names, config.JWT_REQUIRE_SCOPE).allowed
  })
}

function countHeader (rawHeaders: string[], name: string): number {
  let count = 0
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.length === name.length && rawHeaders[i]!.toLowerCase() === name) count++
  return count
}

export default fp(auth, { fastify: '5.x', name: 'auth' })
