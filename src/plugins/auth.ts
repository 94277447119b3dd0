import fp from 'fastify-plugin'
import fastifyJwt from '@fastify/jwt'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { serviceAllowed } from '../docker/names.js'
import { AuthFailureLimiter } from '../auth/failure-limiter.js'
import { servicesFor } from '../auth/policy.js'
import { Forbidden } from '../errors.js'
import type { Config } from '../config.js'

/** Who is calling, from a verified token. */
export interface Principal {
  /** `secret`: HS256 with JWT_SECRET (or the previous secret); `oidc`: the identity provider */
  via: 'secret' | 'previous-secret' | 'oidc'
  subject: string | undefined
  tokenId: string | undefined
  /** the `services` claim, or what the OIDC policy grants; undefined: no scope in the token */
  services: string[] | undefined
  expiresAt: number
}

/**
 * The outcome of verifying a token. Failures are values, not exceptions: a flood of bad tokens
 * must cost as little as possible (see docs/BENCHMARKS.md).
 */
export type Verification =
  | { ok: true, principal: Principal }
  | { ok: false, reason: AuthFailureReason, message: string }

const refuse = (reason: AuthFailureReason, message: string): Verification => ({ ok: false, reason, message })

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook: verifies the bearer token, or answers 401/429 itself */
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>
    /** verifies a token (no request needed: the CLI's `verify` uses it too) */
    verifyToken: (token: string) => Verification | Promise<Verification>
    /** throws 403 unless the token may update one of these service names */
    authorizeService: (request: FastifyRequest, names: readonly string[]) => void
  }
  interface FastifyRequest {
    principal?: Principal
    /** why authentication failed, for the access log */
    authFailure?: AuthFailureReason
  }
}

export type AuthFailureReason = 'missing' | 'malformed' | 'expired' | 'not_yet_valid' | 'signature' | 'algorithm' | 'claims' | 'rate_limited'

export interface AuthOptions {
  config: Config
  onFailure?: (reason: AuthFailureReason) => void
}

const MAX_TOKEN_LENGTH = 8192
// Exactly one scheme and one compact JWS; anything else is malformed before any decoding.
const bearerRe = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i

/** fast-jwt's error codes, as the caller is told them (never the library's raw text). */
const tokenErrors: Record<string, [AuthFailureReason, string]> = {
  FAST_JWT_EXPIRED: ['expired', 'token expired'],
  FAST_JWT_INACTIVE: ['not_yet_valid', 'token not yet valid'],
  FAST_JWT_INVALID_SIGNATURE: ['signature', 'invalid signature'],
  FAST_JWT_MISSING_SIGNATURE: ['signature', 'token is not signed'],
  FAST_JWT_INVALID_ALGORITHM: ['algorithm', 'token algorithm not allowed'],
  FAST_JWT_MISSING_REQUIRED_CLAIM: ['claims', 'token lacks a required claim (exp, or iss/aud when configured)'],
  FAST_JWT_INVALID_CLAIM_VALUE: ['claims', 'token issuer or audience not accepted'],
  FAST_JWT_INVALID_CLAIM_TYPE: ['claims', 'token claim has the wrong type'],
  FAST_JWT_INVALID_CRIT_HEADER: ['malformed', 'token has an unsupported critical header'],
  FAST_JWT_INVALID_PAYLOAD: ['malformed', 'token payload is not a JSON object'],
  FAST_JWT_MALFORMED: ['malformed', 'token is malformed'],
  FAST_JWT_MISSING_KEY: ['signature', 'token has no usable kid'],
  FAST_JWT_KEY_FETCHING_ERROR: ['signature', 'no key of the identity provider matches this token, or its keys could not be fetched']
}

/**
 * Bearer-token authentication (HS256 via @fastify/jwt / fast-jwt) and per-service authorisation
 * from the `services` claim (DESIGN.md §3). Every verification failure is a 401 with a short reason;
 * the token itself never reaches a log or a message.
 * @see https://github.com/fastify/fastify-jwt
 */
async function auth (app: FastifyInstance, { config, onFailure = () => {} }: AuthOptions): Promise<void> {
  await app.register(fastifyJwt, {
    secret: config.JWT_SECRET,
    sign: { algorithm: 'HS256' },
    verify: {
      algorithms: ['HS256'],
      // fast-jwt checks iss/aud only when present: an operator who set them wants them required.
      requiredClaims: ['exp', ...(config.JWT_ISSUER !== undefined ? ['iss'] : []), ...(config.JWT_AUDIENCE !== undefined ? ['aud'] : [])],
      clockTolerance: config.JWT_CLOCK_TOLERANCE * 1000,
      // Verified tokens (until their exp) and refused ones (for a minute) are remembered, keyed by
      // the token's hash: a client retrying the same bad token costs a lookup, not an HMAC and a
      // stack trace. A token refused as not-yet-valid is not remembered: it may become valid.
      cache: 1000,
      errorCacheTTL: (error: { code?: string }) => error.code === 'FAST_JWT_INACTIVE' ? -config.JWT_CLOCK_TOLERANCE * 1000 - 1 : 60_000,
      ...(config.JWT_ISSUER !== undefined && { allowedIss: config.JWT_ISSUER }),
      ...(config.JWT_AUDIENCE !== undefined && { allowedAud: config.JWT_AUDIENCE })
    }
  })

  // Declared up front so every request object keeps one shape (V8 hidden classes).
  app.decorateRequest('principal', undefined)
  app.decorateRequest('authFailure', undefined)

  const limiter = new AuthFailureLimiter({ limit: config.AUTH_FAILURE_LIMIT, windowMs: config.AUTH_FAILURE_WINDOW * 1000 })
  // Loaded only when configured: get-jwks and its key-conversion libraries cost memory.
  const { OIDC_ALGORITHMS, createOidcVerifier } = config.OIDC_ISSUER !== undefined ? await import('../auth/oidc.js') : { OIDC_ALGORITHMS: [] as readonly string[], createOidcVerifier: undefined }
  const oidc = createOidcVerifier !== undefined && config.OIDC_ISSUER !== undefined && config.OIDC_AUDIENCE !== undefined
    ? createOidcVerifier({
      issuer: config.OIDC_ISSUER,
      audience: config.OIDC_AUDIENCE,
      jwksPath: config.OIDC_JWKS_PATH,
      timeoutMs: config.OIDC_JWKS_TIMEOUT,
      clockToleranceMs: config.JWT_CLOCK_TOLERANCE * 1000
    })
    : undefined

  /**
   * HS256 with the current secret, then the previous one while a rotation is under way. Errors are
   * returned, not rethrown: an exception crossing frames costs more than the whole bare request.
   */
  function verifyWithSecrets (token: string): { payload: unknown, via: Principal['via'] } | { error: unknown } {
    try {
      return { payload: app.jwt.verify(token), via: 'secret' }
    } catch (error) {
      if ((error as { code?: string }).code !== 'FAST_JWT_INVALID_SIGNATURE' || config.JWT_SECRET_PREVIOUS === undefined) return { error }
    }
    try {
      return { payload: app.jwt.verify(token, { key: config.JWT_SECRET_PREVIOUS }), via: 'previous-secret' }
    } catch (error) {
      return { error }
    }
  }

  const refusal = (error: unknown): Verification => {
    const [reason, message] = tokenErrors[(error as { code?: string }).code ?? ''] ?? ['malformed', 'token is invalid']
    return refuse(reason, message)
  }

  /** OIDC tokens need a key fetch (async); everything else is answered synchronously. */
  app.decorate('verifyToken', function verifyToken (token: string): Verification | Promise<Verification> {
    // Route by algorithm: identity-provider keys never verify an HS256 token, and our secrets
    // never verify an RS/ES token, so no algorithm confusion is possible.
    if (oidc !== undefined && (OIDC_ALGORITHMS as readonly string[]).includes(headerAlgorithm(token))) {
      return oidc(token).then((payload) => principalFrom(payload, 'oidc', config), refusal)
    }
    const result = verifyWithSecrets(token)
    return 'error' in result ? refusal(result.error) : principalFrom(result.payload, result.via, config)
  })

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
      // One line when an address reaches the limit; each refused request is only a debug line.
      request.log.warn({ client, failures: config.AUTH_FAILURE_LIMIT, windowSeconds: config.AUTH_FAILURE_WINDOW }, 'too many failed authentications: address limited')
    }
    return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: `Unauthorized: ${message}`, code: 'CU_UNAUTHORIZED' })
  }

  app.decorate('authenticate', async function authenticate (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const client = request.ip
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
    const pending = app.verifyToken(token)
    const verification = pending instanceof Promise ? await pending : pending
    if (!verification.ok) return reject(request, reply, client, verification.reason, verification.message)
    request.principal = verification.principal
    return undefined
  })

  app.decorate('authorizeService', function authorizeService (request: FastifyRequest, names: readonly string[]): void {
    const decision = scopeDecision(request.principal, names, config.JWT_REQUIRE_SCOPE)
    if (!decision.allowed) throw new Forbidden(decision.why)
  })
}

/** May this principal update one of `names`? With the reason, for 403 messages and the CLI. */
export function scopeDecision (principal: Principal | undefined, names: readonly string[], requireScope: boolean): { allowed: boolean, why: string } {
  const name = names[0] ?? ''
  const services = principal?.services
  if (services === undefined) {
    return requireScope
      ? { allowed: false, why: `${name} (token has no services claim, and JWT_REQUIRE_SCOPE is on)` }
      : { allowed: true, why: 'token has no services claim: any service' }
  }
  const match = names.find((n) => serviceAllowed(services, n))
  return match !== undefined
    ? { allowed: true, why: `${match} is in the token's scope` }
    : { allowed: false, why: principal?.via === 'oidc' ? `${name} (no rule of the OIDC policy grants it)` : name }
}

function countHeader (rawHeaders: string[], name: string): number {
  let count = 0
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.length === name.length && rawHeaders[i]!.toLowerCase() === name) count++
  return count
}

/** The `alg` of a compact JWS header, or '' when there is none to read. */
function headerAlgorithm (token: string): string {
  try {
    const header = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as unknown
    const alg = typeof header === 'object' && header !== null ? (header as { alg?: unknown }).alg : undefined
    return typeof alg === 'string' ? alg : ''
  } catch {
    return ''
  }
}

function principalFrom (payload: unknown, via: Principal['via'], config: Config): Verification {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return refuse('malformed', 'token payload is not a JSON object')
  const claims = payload as Record<string, unknown>
  const now = Date.now() / 1000
  // fast-jwt checks nbf and exp; a token issued in the future is just as suspect.
  if (claims.iat !== undefined) {
    if (typeof claims.iat !== 'number') return refuse('claims', 'token claim iat is not a number')
    if (claims.iat > now + config.JWT_CLOCK_TOLERANCE) return refuse('not_yet_valid', 'token issued in the future')
  }
  const exp = claims.exp as number
  if (config.JWT_MAX_LIFETIME !== undefined) {
    const issued = typeof claims.iat === 'number' ? claims.iat : now
    if (exp - issued > config.JWT_MAX_LIFETIME + config.JWT_CLOCK_TOLERANCE) {
      return refuse('claims', `token lifetime exceeds ${config.JWT_MAX_LIFETIME} s (JWT_MAX_LIFETIME)`)
    }
  }
  const { sub, jti } = claims
  let services: string[] | undefined
  if (via === 'oidc') {
    // An identity provider's token carries no scope of ours: the operator's policy grants it.
    services = config.oidcPolicy === undefined ? [] : servicesFor(config.oidcPolicy, claims)
  } else {
    const claimed = claims.services
    if (claimed !== undefined && (!Array.isArray(claimed) || !claimed.every((s) => typeof s === 'string' && s.length > 0 && s.length <= 255))) {
      return refuse('claims', 'token claim services must be an array of service names or globs')
    }
    services = claimed as string[] | undefined
  }
  return {
    ok: true,
    principal: {
      via,
      subject: typeof sub === 'string' ? sub : undefined,
      tokenId: typeof jti === 'string' ? jti : undefined,
      services,
      expiresAt: exp
    }
  }
}

export default fp(auth, { fastify: '5.x', name: 'auth' })
