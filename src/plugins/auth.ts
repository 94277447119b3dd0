import fp from 'fastify-plugin'
import fastifyJwt from '@fastify/jwt'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { serviceAllowed } from '../docker/names.js'
import { AuthFailureLimiter } from '../auth/failure-limiter.js'
import { Forbidden, TooManyAuthFailures, Unauthorized } from '../errors.js'
import type { Config } from '../config.js'

/** Who is calling, from a verified token. */
export interface Principal {
  subject: string | undefined
  tokenId: string | undefined
  /** the `services` claim; undefined when the token carries none */
  services: string[] | undefined
}

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook: verifies the bearer token or answers 401/429 */
    authenticate: (request: FastifyRequest) => Promise<void>
    /** throws 403 unless the token may update one of these service names */
    authorizeService: (request: FastifyRequest, names: readonly string[]) => void
  }
  interface FastifyRequest {
    principal?: Principal
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
  FAST_JWT_MALFORMED: ['malformed', 'token is malformed']
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
      ...(config.JWT_ISSUER !== undefined && { allowedIss: config.JWT_ISSUER }),
      ...(config.JWT_AUDIENCE !== undefined && { allowedAud: config.JWT_AUDIENCE })
    }
  })

  const limiter = new AuthFailureLimiter({ limit: config.AUTH_FAILURE_LIMIT, windowMs: config.AUTH_FAILURE_WINDOW * 1000 })

  function fail (request: FastifyRequest, reason: AuthFailureReason, message: string): never {
    limiter.recordFailure(request.ip)
    onFailure(reason)
    request.log.info({ reason }, 'authentication failed')
    throw new Unauthorized(message)
  }

  app.decorate('authenticate', async function authenticate (request: FastifyRequest): Promise<void> {
    const wait = limiter.retryAfter(request.ip)
    if (wait > 0) {
      onFailure('rate_limited')
      throw Object.assign(new TooManyAuthFailures(), { headers: { 'retry-after': String(wait) } })
    }
    const header = request.headers.authorization
    if (header === undefined || header === '') fail(request, 'missing', 'missing bearer token')
    // Node keeps only the first of repeated Authorization headers; a request with two is ambiguous.
    if (request.raw.rawHeaders.filter((_, i, all) => i % 2 === 0 && all[i]?.toLowerCase() === 'authorization').length > 1) {
      fail(request, 'malformed', 'more than one Authorization header')
    }
    if (header.length > MAX_TOKEN_LENGTH) fail(request, 'malformed', 'token too large')
    const token = bearerRe.exec(header)?.[1]
    if (token === undefined) fail(request, 'malformed', 'expected "Authorization: Bearer <JWT>"')
    let payload: unknown
    try {
      payload = app.jwt.verify(token)
    } catch (error) {
      const [reason, message] = tokenErrors[(error as { code?: string }).code ?? ''] ?? ['malformed', 'token is invalid']
      fail(request, reason, message)
    }
    request.principal = principalFrom(payload, config, (reason, message) => fail(request, reason, message))
  })

  app.decorate('authorizeService', function authorizeService (request: FastifyRequest, names: readonly string[]): void {
    const services = request.principal?.services
    if (services === undefined) {
      if (config.JWT_REQUIRE_SCOPE) throw new Forbidden(`${names[0] ?? ''} (token has no services claim)`)
      return
    }
    if (!names.some((name) => serviceAllowed(services, name))) throw new Forbidden(names[0] ?? '')
  })
}

function principalFrom (payload: unknown, config: Config, fail: (reason: AuthFailureReason, message: string) => never): Principal {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) fail('malformed', 'token payload is not a JSON object')
  const claims = payload as Record<string, unknown>
  // fast-jwt checks nbf and exp; a token issued in the future is just as suspect.
  if (claims.iat !== undefined) {
    if (typeof claims.iat !== 'number') fail('claims', 'token claim iat is not a number')
    if (claims.iat > Date.now() / 1000 + config.JWT_CLOCK_TOLERANCE) fail('not_yet_valid', 'token issued in the future')
  }
  const { services, sub, jti } = claims
  if (services !== undefined && (!Array.isArray(services) || !services.every((s) => typeof s === 'string' && s.length > 0 && s.length <= 255))) {
    fail('claims', 'token claim services must be an array of service names or globs')
  }
  return {
    subject: typeof sub === 'string' ? sub : undefined,
    tokenId: typeof jti === 'string' ? jti : undefined,
    services: services as string[] | undefined
  }
}

export default fp(auth, { fastify: '5.x', name: 'auth' })
