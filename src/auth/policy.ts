import { readFileSync } from 'node:fs'
import { Type, type Static } from '@sinclair/typebox'
import { Ajv } from 'ajv'
import { matchesAnyGlob } from './scope.js'

/**
 * Bound claims for OIDC tokens, in the manner of Vault's JWT roles: a token may update the services
 * of every rule whose `claims` all match. A claim matches when it is a string equal to the value,
 * or to one of the values, where `*` in a value stands for any run of characters.
 *
 *   { "rules": [ { "claims": { "repository": "acme/web", "ref": "refs/heads/main" },
 *                  "services": ["web", "web_*"] } ] }
 */
const ClaimValue = Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })])
export const PolicySchema = Type.Object({
  rules: Type.Array(Type.Object({
    claims: Type.Record(Type.String({ minLength: 1 }), ClaimValue, { minProperties: 1 }),
    services: Type.Array(Type.String({ minLength: 1, maxLength: 255 }), { minItems: 1 })
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

/** The services a token with these claims may update: the union over the matching rules. */
export function servicesFor (policy: OidcPolicy, claims: Record<string, unknown>): string[] {
  const services = new Set<string>()
  for (const rule of policy.rules) {
    const matches = Object.entries(rule.claims).every(([name, expected]) => {
      const actual = claims[name]
      return typeof actual === 'string' && matchesAnyGlob(Array.isArray(expected) ? expected : [expected], actual)
    })
    if (matches) for (const service of rule.services) services.add(service)
  }
  return [...services]
}
