import type { Principal } from './principal.js'

/**
 * Does `value` match `pattern`, where `*` stands for any run of characters (`/` included) and
 * nothing else is special?
 *
 * In linear passes, without backtracking: the parts between stars are literals, so the first must
 * start the value, the last must end it, and each one in between is taken at its leftmost place
 * after the previous one (taking it further right can only leave less room for the rest). Worst
 * case O(value × pattern) via indexOf, where the `.*` regex this replaced took seconds for
 * `*a*a*a*a*a*a*a*b` against a 63-character name.
 */
export function globMatches (pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value
  const parts = pattern.split('*')
  const first = parts[0]!
  const last = parts[parts.length - 1]!
  if (value.length < first.length + last.length || !value.startsWith(first) || !value.endsWith(last)) return false
  const end = value.length - last.length
  let position = first.length
  for (let i = 1; i < parts.length - 1; i++) {
    const part = parts[i]!
    if (part === '') continue
    const found = value.indexOf(part, position)
    if (found === -1 || found + part.length > end) return false
    position = found + part.length
  }
  return true
}

/** Is `value` matched by one of `patterns` (see globMatches)? */
export function matchesAnyGlob (patterns: readonly string[], value: string): boolean {
  for (const pattern of patterns) if (globMatches(pattern, value)) return true
  return false
}

/**
 * Does `name` match one of the `services` patterns of a token? Exact names, or globs where `*`
 * stands for any run of characters (no other metacharacters).
 */
export function serviceAllowed (patterns: readonly string[], name: string): boolean {
  return matchesAnyGlob(patterns, name)
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
