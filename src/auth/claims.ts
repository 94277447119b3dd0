import { grantFor } from './policy.js'
import { DEFAULT_ACCESS, isAccess, type Access } from './access.js'
import { refuse, type Principal, type Verification } from './principal.js'
import type { Config } from '../config.js'

const TIME_CLAIMS = ['exp', 'nbf', 'iat'] as const

/**
 * Our rules on a payload the library has accepted, and the principal it makes. fast-jwt checks
 * exp and nbf; a token issued in the future is just as suspect, a lifetime may be capped, and
 * `1e309` is valid JSON that parses to Infinity (a token that never expires).
 */
export function principalFrom (payload: unknown, via: Principal['via'], config: Pick<Config, 'JWT_CLOCK_TOLERANCE' | 'JWT_MAX_LIFETIME' | 'oidcPolicy'>): Verification {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return refuse('malformed', 'token payload is not a JSON object')
  const claims = payload as Record<string, unknown>
  for (const name of TIME_CLAIMS) {
    const value = claims[name]
    if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value))) return refuse('claims', `token claim ${name} is not a finite number`)
  }
  const now = Date.now() / 1000
  const iat = claims.iat as number | undefined
  if (iat !== undefined && iat > now + config.JWT_CLOCK_TOLERANCE) return refuse('not_yet_valid', 'token issued in the future')
  // exp is a required claim of both verifiers; checked again so that nothing rests on that alone.
  const exp = claims.exp
  if (typeof exp !== 'number') return refuse('claims', 'token lacks a required claim (exp, or iss/aud when configured)')
  if (config.JWT_MAX_LIFETIME !== undefined && exp - (iat ?? now) > config.JWT_MAX_LIFETIME + config.JWT_CLOCK_TOLERANCE) {
    return refuse('claims', `token lifetime exceeds ${config.JWT_MAX_LIFETIME} s (JWT_MAX_LIFETIME)`)
  }
  const { sub, jti } = claims
  let services: string[] | undefined
  let access: Access = DEFAULT_ACCESS
  if (via === 'oidc') {
    // An identity provider's token carries no scope or access of ours: the operator's policy grants them.
    const grant = config.oidcPolicy === undefined ? { services: [], access: DEFAULT_ACCESS } : grantFor(config.oidcPolicy, claims)
    services = grant.services
    access = grant.access
  } else {
    const claimedAccess = claims.access
    if (claimedAccess !== undefined) {
      if (!isAccess(claimedAccess)) return refuse('claims', 'token claim access must be read, deploy or admin')
      access = claimedAccess
    }
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
      access,
      expiresAt: exp
    }
  }
}
