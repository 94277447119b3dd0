import { createVerifier, TokenError } from 'fast-jwt'
import buildGetJwks from 'get-jwks'

/**
 * Verifies RS256/ES256 tokens of one OIDC identity provider (GitHub Actions by default) with keys
 * from that provider's JWKS, which get-jwks fetches and caches. The key is looked up by the token's
 * `kid` among the configured issuer's keys only: `jku`, `x5u` and `jwk` headers are never followed.
 */
export interface OidcOptions {
  issuer: string
  audience: string
  jwksPath: string
  /** get-jwks's own timeout option does nothing (see STYLE.md): every fetch is raced against this */
  timeoutMs: number
  clockToleranceMs: number
}

export const OIDC_ALGORITHMS = ['RS256', 'ES256'] as const

export function createOidcVerifier (options: OidcOptions): (token: string) => Promise<unknown> {
  const getJwks = buildGetJwks({
    max: 100,
    ttl: 10 * 60_000,
    issuersWhitelist: [options.issuer],
    jwksPath: options.jwksPath
  })

  async function key ({ header }: { header: { kid?: unknown, alg?: unknown } }): Promise<string> {
    if (typeof header.kid !== 'string' || header.kid === '' || header.kid.length > 256) {
      throw new TokenError(TokenError.codes.missingKey, 'token has no usable kid')
    }
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new TokenError(TokenError.codes.keyFetchingError, 'the identity provider did not answer in time')), options.timeoutMs).unref()
    })
    try {
      return await Promise.race([getJwks.getPublicKey({ domain: options.issuer, kid: header.kid, alg: String(header.alg) }), timeout])
    } catch (error) {
      if (error instanceof TokenError) throw error
      throw new TokenError(TokenError.codes.keyFetchingError, 'no key of the identity provider matches this token')
    } finally {
      clearTimeout(timer)
    }
  }

  return createVerifier({
    key,
    algorithms: [...OIDC_ALGORITHMS],
    allowedIss: options.issuer,
    allowedAud: options.audience,
    requiredClaims: ['exp', 'iss', 'aud'],
    clockTolerance: options.clockToleranceMs,
    cache: false
  })
}
