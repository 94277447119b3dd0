import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto'
import { isUtf8 } from 'node:buffer'
import { createVerifier } from 'fast-jwt'
import { principalFrom } from './claims.js'
import { refuse, type AuthFailureReason, type Verification } from './principal.js'
import type { Config } from '../config.js'

export type { AuthFailureReason, Principal, Verification } from './principal.js'

export interface TokenVerifier {
  /** Synchronous for HS256 tokens; a promise only for identity-provider tokens (a key fetch). */
  verify: (token: string) => Verification | Promise<Verification>
}

export type VerifierConfig = Pick<Config, 'JWT_SECRET' | 'JWT_SECRET_PREVIOUS' | 'JWT_ISSUER' | 'JWT_AUDIENCE' | 'JWT_CLOCK_TOLERANCE' | 'JWT_MAX_LIFETIME' |
'OIDC_ISSUER' | 'OIDC_AUDIENCE' | 'OIDC_JWKS_PATH' | 'OIDC_JWKS_TIMEOUT' | 'oidcPolicy'>

export const MAX_TOKEN_LENGTH = 8192

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

const refusal = (error: unknown): Verification => {
  const [reason, message] = tokenErrors[(error as { code?: string }).code ?? ''] ?? ['malformed', 'token is invalid']
  return refuse(reason, message)
}

// Shared, never mutated: the answer a flood of forged tokens gets costs no allocation.
const BAD_SIGNATURE = Object.freeze(refuse('signature', 'invalid signature'))
const NOT_SIGNED = Object.freeze(refuse('signature', 'token is not signed'))
const MALFORMED = Object.freeze(refuse('malformed', 'token is malformed'))
// RFC 7519 wants header and claims in UTF-8: a lenient decoder turns bad bytes into U+FFFD, and a
// signed token would then mean something its signer did not write. (isUtf8 is the check a fatal
// TextDecoder makes, without the exception.)
const NOT_UTF8 = Object.freeze(refuse('malformed', 'token header or payload is not valid UTF-8'))

// One compact JWS: three base64url segments, the signature possibly empty.
const compactRe = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/** One of our HS256 secrets: the key for the pre-check, and fast-jwt's verifier, built once. */
interface Secret {
  via: 'secret' | 'previous-secret'
  key: KeyObject
  verify: (token: string) => unknown
}

/**
 * Token verification for the server and the CLI (no Fastify needed).
 *
 * HS256 tokens are checked against JWT_SECRET, then JWT_SECRET_PREVIOUS during a rotation. The MAC
 * of `header.payload` is computed here first, with node:crypto, and compared with the signature: a
 * forged token is refused right there, without the library and without an exception (fast-jwt
 * reports every refusal by throwing an error with a stack trace: ~100 µs, measured; issue #10). A
 * valid token always passes this pre-check, and then fast-jwt, with the secret that matched, is
 * the one authority that accepts it (algorithm, crit, exp/nbf, iss/aud), and claims.ts adds our
 * rules. RS256/ES256 tokens go to the OIDC verifier when one is configured: routing by `alg` means
 * provider keys never verify an HS256 token and our secrets never an RS/ES one.
 */
export async function createTokenVerifier (config: VerifierConfig): Promise<TokenVerifier> {
  const secrets: Secret[] = [secret('secret', config.JWT_SECRET, config)]
  if (config.JWT_SECRET_PREVIOUS !== undefined) secrets.push(secret('previous-secret', config.JWT_SECRET_PREVIOUS, config))
  const oidc = await oidcVerifier(config)
  const forged = new RecentRefusals()

  function verify (token: string): Verification | Promise<Verification> {
    if (token.length > MAX_TOKEN_LENGTH || !compactRe.test(token)) return MALFORMED
    const known = forged.get(token)
    if (known !== undefined) return known
    const firstDot = token.indexOf('.')
    const lastDot = token.lastIndexOf('.')
    if (oidc !== undefined) {
      const header = Buffer.from(token.slice(0, firstDot), 'base64url')
      if (jsonObjectBytes(header) && isUtf8(header) && oidc.algorithms.includes(headerAlgorithm(header))) {
        if (!utf8Segments(token, firstDot, lastDot)) return NOT_UTF8
        return oidc.verify(token).then((claims) => principalFrom(claims, 'oidc', config), refusal)
      }
    }
    const signature = token.slice(lastDot + 1)
    const matched = signature.length === HS256_SIGNATURE_LENGTH ? matchingSecret(secrets, token.slice(0, lastDot), signature) : undefined
    if (matched === undefined) {
      // Garbage is told apart from forgeries (the reason is a metric label) without JSON.parse,
      // which reports bad input by throwing.
      return forged.remember(token, !jsonObjectSegments(token, firstDot, lastDot) ? MALFORMED : signature.length === 0 ? NOT_SIGNED : BAD_SIGNATURE)
    }
    if (!utf8Segments(token, firstDot, lastDot)) return NOT_UTF8
    let claims: unknown
    try {
      claims = matched.verify(token)
    } catch (error) {
      return refusal(error)
    }
    return principalFrom(claims, matched.via, config)
  }

  return { verify }
}

/**
 * The last forged tokens and their refusals. The MAC is most of what a refusal costs (an HMAC's
 * set-up in OpenSSL, cold on every request: ~15 µs under load, measured in docs/BENCHMARKS.md), and
 * refused traffic is mostly one token replayed: a CI job retrying with a stale secret, a scanner
 * replaying what it captured. Only refusals by MAC are kept, which depend on nothing but the token
 * and our secrets (fixed for the life of the process): a token refused once is refused again,
 * and a valid token is never here. Bounded in entries and in token size; O(1) per call (a ring).
 */
class RecentRefusals {
  static readonly SIZE = 1024
  static readonly MAX_TOKEN = 512
  readonly #refusals = new Map<string, Verification>()
  readonly #ring: Array<string | undefined> = new Array<string | undefined>(RecentRefusals.SIZE)
  #next = 0

  get (token: string): Verification | undefined {
    return this.#refusals.get(token)
  }

  remember (token: string, refusal: Verification): Verification {
    if (token.length > RecentRefusals.MAX_TOKEN) return refusal
    const evicted = this.#ring[this.#next]
    if (evicted !== undefined) this.#refusals.delete(evicted)
    this.#ring[this.#next] = token
    this.#next = (this.#next + 1) % RecentRefusals.SIZE
    this.#refusals.set(token, refusal)
    return refusal
  }
}

function secret (via: Secret['via'], value: string, config: VerifierConfig): Secret {
  return {
    via,
    key: createSecretKey(Buffer.from(value, 'utf8')),
    verify: createVerifier({
      key: value,
      algorithms: ['HS256'],
      // fast-jwt checks iss/aud only when present: an operator who set them wants them required.
      requiredClaims: ['exp', ...(config.JWT_ISSUER !== undefined ? ['iss'] : []), ...(config.JWT_AUDIENCE !== undefined ? ['aud'] : [])],
      clockTolerance: config.JWT_CLOCK_TOLERANCE * 1000,
      // Only tokens signed with one of our secrets get here (the pre-check refuses the rest), so
      // the cache no longer fills with forgeries, and it pays (measured, fast-jwt 6.3, Node 20):
      // a valid token 28 → 7 µs, a replayed expired one 136 → 21 µs. Refused tokens are remembered
      // for a minute, except not-yet-valid ones: those may become valid.
      cache: 1000,
      errorCacheTTL: (error: { code?: string }) => error.code === 'FAST_JWT_INACTIVE' ? -config.JWT_CLOCK_TOLERANCE * 1000 - 1 : 60_000,
      ...(config.JWT_ISSUER !== undefined && { allowedIss: config.JWT_ISSUER }),
      ...(config.JWT_AUDIENCE !== undefined && { allowedAud: config.JWT_AUDIENCE })
    })
  }
}

// 32 bytes of HMAC-SHA256 in unpadded base64url: any other length cannot be our MAC.
const HS256_SIGNATURE_LENGTH = 43

/** The secret whose HMAC-SHA256 of `input` is `signature` (compared as bytes, as fast-jwt does). */
function matchingSecret (secrets: readonly Secret[], input: string, signature: string): Secret | undefined {
  const given = Buffer.from(signature, 'base64url')
  for (const secret of secrets) {
    if (timingSafeEqual(createHmac('sha256', secret.key).update(input).digest(), given)) return secret
  }
  return undefined
}

function utf8Segments (token: string, firstDot: number, lastDot: number): boolean {
  return isUtf8(Buffer.from(token.slice(0, firstDot), 'base64url')) && isUtf8(Buffer.from(token.slice(firstDot + 1, lastDot), 'base64url'))
}

function jsonObjectSegments (token: string, firstDot: number, lastDot: number): boolean {
  return jsonObjectBytes(Buffer.from(token.slice(0, firstDot), 'base64url')) && jsonObjectBytes(Buffer.from(token.slice(firstDot + 1, lastDot), 'base64url'))
}

const isJsonSpace = (byte: number | undefined): boolean => byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d

/** Could these bytes be a JSON object: `{…}`, give or take JSON whitespace? */
function jsonObjectBytes (bytes: Buffer): boolean {
  let start = 0
  let end = bytes.length - 1
  while (isJsonSpace(bytes[start])) start++
  while (end > start && isJsonSpace(bytes[end])) end--
  return end > start && bytes[start] === 0x7b && bytes[end] === 0x7d
}

/** The `alg` of a JWS header (UTF-8 bytes that look like a JSON object), or '' when there is none. */
function headerAlgorithm (bytes: Buffer): string {
  try {
    const header = JSON.parse(bytes.toString('utf8')) as unknown
    const alg = typeof header === 'object' && header !== null ? (header as { alg?: unknown }).alg : undefined
    return typeof alg === 'string' ? alg : ''
  } catch {
    return ''
  }
}

/** Loaded only when configured: get-jwks and its key-conversion libraries cost memory. */
async function oidcVerifier (config: VerifierConfig): Promise<{ algorithms: readonly string[], verify: (token: string) => Promise<unknown> } | undefined> {
  if (config.OIDC_ISSUER === undefined || config.OIDC_AUDIENCE === undefined) return undefined
  const { OIDC_ALGORITHMS, createOidcVerifier } = await import('./oidc.js')
  return {
    algorithms: OIDC_ALGORITHMS,
    verify: createOidcVerifier({
      issuer: config.OIDC_ISSUER,
      audience: config.OIDC_AUDIENCE,
      jwksPath: config.OIDC_JWKS_PATH,
      timeoutMs: config.OIDC_JWKS_TIMEOUT,
      clockToleranceMs: config.JWT_CLOCK_TOLERANCE * 1000
    })
  }
}
