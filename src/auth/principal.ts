import type { Access } from './access.js'

/** Who is calling, from a verified token. */
export interface Principal {
  /** `secret`: HS256 with JWT_SECRET; `previous-secret`: with JWT_SECRET_PREVIOUS; `oidc`: the identity provider */
  via: 'secret' | 'previous-secret' | 'oidc'
  subject: string | undefined
  tokenId: string | undefined
  /** the `services` claim, or what the OIDC policy grants; undefined: no scope in the token */
  services: string[] | undefined
  /** the `access` claim (default `deploy`), or what the OIDC policy grants */
  access: Access
  expiresAt: number
}

export type AuthFailureReason = 'missing' | 'malformed' | 'expired' | 'not_yet_valid' | 'signature' | 'algorithm' | 'claims' | 'rate_limited'

/**
 * The outcome of verifying a token. Failures are values, not exceptions: a flood of bad tokens
 * must cost as little as possible (see docs/BENCHMARKS.md).
 */
export type Verification =
  | { ok: true, principal: Principal }
  | { ok: false, reason: AuthFailureReason, message: string }

export const refuse = (reason: AuthFailureReason, message: string): Verification => ({ ok: false, reason, message })
