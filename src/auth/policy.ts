import { readFileSync } from 'node:fs'
import { Type, type Static } from '@sinclair/typebox'
import { Ajv } from 'ajv'
import { matchesAnyGlob } from './scope.js'
import { ACCESS_LEVELS, DEFAULT_ACCESS, higher, type Access } from './access.js'

/**
 * Bound claims for OIDC tokens, in the manner of Vault's JWT roles: a token may update the services
 * of every rule whose `claims` all match. A claim matches when it is a string equal to the value,
 * or to one of the values, where `*` in a value stands for any run of characters.
 *
 *   { "rules": [ { "claims": { "repository": "acme/web", "ref": "refs/heads/main" },
 *                  "services": ["web", "web_*"], "access": "deploy" } ] }
 *
 * A rule may grant an access level (`read`, `deploy` the default, `admin`). A token whose claims
 * match several rules gets the highest level among them, over the services of the rules granting
 * that level only: a `read` rule over `*` and an `admin` rule over `web` never make an admin of `*`.
 */
const ClaimValue = Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })])
export const PolicySchema = Type.Object({
  rules: Type.Array(Type.Object({
    claims: Type.Record(Type.String({ minLength: 1 }), ClaimValue, { minProperties: 1 }),
    services: Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { minItems: 1 }),
    access: Type.Optional(Type.Union(ACCESS_LEVELS.map((level) => Type.Literal(level))))
  }, { additionalProperties: false }))
}, { additionalProperties: false })
export type OidcPolicy = Static<typeof PolicySchema>

export function loadPolicy (file: string): OidcPolicy {
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    throw new Error((error as NodeJS.ErrnoException).code ?? 'not valid JSON')
  }
  // ajv (already loaded by Fastify) rather than TypeBox's Value module, which would cost memory
  // in every process for a file only OIDC setups have.
  const validate = new Ajv({ allErrors: false, strict: false }).compile<OidcPolicy>(PolicySchema)
  if (!validate(raw)) {
    const first = validate.errors?.[0]
    throw new Error(`${first?.instancePath || '/'} ${first?.message ?? 'is invalid'}`)
  }
  return raw
}

/** What a token with these claims is granted: the highest access of the matching rules, and their services. */
export function grantFor (policy: OidcPolicy, claims: Record<string, unknown>): { services: string[], access: Access } {
  const matching = policy.rules.filter((rule) => Object.entries(rule.claims).every(([name, expected]) => {
    const actual = claims[name]
    return typeof actual === 'string' && matchesAnyGlob(Array.isArray(expected) ? expected : [expected], actual)
  }))
  const levelOf = (rule: OidcPolicy['rules'][number]): Access => rule.access ?? DEFAULT_ACCESS
  // No matching rule: no service (the scope's 403 says so, naming the policy), at the default level.
  if (matching.length === 0) return { services: [], access: DEFAULT_ACCESS }
  const access = matching.map(levelOf).reduce(higher)
  const services = new Set<string>()
  for (const rule of matching) if (levelOf(rule) === access) for (const service of rule.services) services.add(service)
  return { services: [...services], access }
}

/** The services a token with these claims may use (see grantFor). */
export function servicesFor (policy: OidcPolicy, claims: Record<string, unknown>): string[] {
  return grantFor(policy, claims).services
}
