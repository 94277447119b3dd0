import type { IncomingMessage } from 'node:http'
import { AuthFailureLimiter } from './failure-limiter.js'
import { MAX_TOKEN_LENGTH, type TokenVerifier } from './verifier.js'
import type { AuthFailureReason, Principal } from './principal.js'
import { answerCodes, errorBody, type ErrorBody } from '../errors.js'

/** The error body of a refused request: the shape of every error answer (docs/API.md §5). */
export type RefusalBody = ErrorBody<401 | 429>

/** Who the request is from, or why it is refused (and with what answer). */
export type Admission =
  | { ok: true, principal: Principal }
  | Refusal

export interface Refusal {
  ok: false
  reason: AuthFailureReason
  body: RefusalBody
  /** the body as JSON, made once per message */
  payload: string
  /** seconds, for 429 */
  retryAfter: number | undefined
}

export interface AuthenticatorOptions {
  verifier: TokenVerifier
  limit: number
  windowMs: number
  /** every refusal, by reason (metrics) */
  onFailure: (reason: AuthFailureReason) => void
  /** the one failure that makes a client reach the limit (a warning line) */
  onLimited: (client: string) => void
}

export interface Authenticator {
  /**
   * The decision for one request from one client key (client-key.ts): the failed-attempt limit,
   * then the Authorization header and its token. Synchronous except for identity-provider tokens
   * (a key fetch). A refusal is counted (metrics, and the limiter for 401s) here, once.
   */
  admit: (raw: IncomingMessage, client: string) => Admission | Promise<Admission>
  /** The 429 when this client has reached the failed-attempt limit (counted), else undefined. */
  limited: (client: string) => Refusal | undefined
  /** A credential refused by its own check (a webhook's signature or URL token): counted like a bad token. */
  refuse: (client: string, reason: AuthFailureReason, message: string) => Refusal
}

// Exactly one scheme and one compact JWS; anything else is malformed before any decoding.
const bearerRe = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i

/**
 * Bearer-token authentication without a framework (the auth plugin's onRequest hook uses it; the
 * decision is plain data, so it is tested without HTTP).
 */
export function createAuthenticator ({ verifier, limit, windowMs, onFailure, onLimited }: AuthenticatorOptions): Authenticator {
  const limiter = new AuthFailureLimiter({ limit, windowMs })
  const tooMany = refusal('rate_limited', errorBody(429, 'Too many failed authentications from this address; retry later', answerCodes.tooManyAuthFailures))
  // The 401s by message: a few fixed texts (a claim check may add one with a value in it: bounded).
  const unauthorized = new Map<string, Refusal>()

  function refuse (client: string, reason: AuthFailureReason, message: string): Refusal {
    onFailure(reason)
    // One line when a client reaches the limit; each refused request is only a debug line.
    if (limiter.recordFailure(client)) onLimited(client)
    const key = `${reason} ${message}`
    let answer = unauthorized.get(key)
    if (answer === undefined) {
      answer = refusal(reason, unauthorizedBody(message))
      if (unauthorized.size < 64) unauthorized.set(key, answer)
    }
    return answer
  }

  function admit (raw: IncomingMessage, client: string): Admission | Promise<Admission> {
    const limit = limited(client)
    if (limit !== undefined) return limit
    const header = raw.headers.authorization
    if (header === undefined || header === '') return refuse(client, 'missing', 'missing bearer token')
    if (header.length > MAX_TOKEN_LENGTH) return refuse(client, 'malformed', 'token too large')
    // Node keeps only the first of repeated Authorization headers; a request with two is ambiguous.
    if (countHeader(raw.rawHeaders, 'authorization') > 1) return refuse(client, 'malformed', 'more than one Authorization header')
    const token = bearerRe.exec(header)?.[1]
    if (token === undefined) return refuse(client, 'malformed', 'expected "Authorization: Bearer <JWT>"')
    const verification = verifier.verify(token)
    const settle = (v: Awaited<typeof verification>): Admission => v.ok ? v : refuse(client, v.reason, v.message)
    return verification instanceof Promise ? verification.then(settle) : settle(verification)
  }

  // A limited address is refused without counting another failure (the window would never end).
  function limited (client: string): Refusal | undefined {
    const retryAfter = limiter.retryAfter(client)
    if (retryAfter === 0) return undefined
    onFailure('rate_limited')
    return { ...tooMany, retryAfter }
  }

  return { admit, limited, refuse }
}

/** The 401 body, for every way a credential is refused (tokens, and webhook credentials through refuse()). */
const unauthorizedBody = (message: string): RefusalBody =>
  errorBody(401, `Unauthorized: ${message}`, answerCodes.unauthorized)

const refusal = (reason: AuthFailureReason, body: RefusalBody): Refusal =>
  Object.freeze({ ok: false, reason, body: Object.freeze(body), payload: JSON.stringify(body), retryAfter: undefined })

function countHeader (rawHeaders: string[], name: string): number {
  let count = 0
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.length === name.length && rawHeaders[i]!.toLowerCase() === name) count++
  return count
}
