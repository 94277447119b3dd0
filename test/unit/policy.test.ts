import { test } from 'node:test'
import assert from 'node:assert/strict'
import { loadConfig } from '../../src/config.ts'
import { grantFor, loadPolicy, servicesFor, type OidcPolicy } from '../../src/auth/policy.ts'
import { policyFile } from '../oidc-provider.ts'

const policy: OidcPolicy = {
  rules: [
    { claims: { repository: 'acme/web', ref: 'refs/heads/main' }, services: ['web'] },
    { claims: { repository: 'acme/*', environment: ['production', 'staging'] }, services: ['api', 'web'] },
    { claims: { job_workflow_ref: 'acme/infra/.github/workflows/deploy.yml@*' }, services: ['*'] }
  ]
}

test('a token gets the services of every rule whose claims all match', () => {
  assert.deepEqual(servicesFor(policy, { repository: 'acme/web', ref: 'refs/heads/main' }), ['web'])
  assert.deepEqual(servicesFor(policy, { repository: 'acme/web', ref: 'refs/heads/main', environment: 'staging' }).sort(), ['api', 'web'])
  assert.deepEqual(servicesFor(policy, { repository: 'acme/web', ref: 'refs/heads/dev' }), [])
  assert.deepEqual(servicesFor(policy, { repository: 'acme/web', ref: 'refs/heads/main/../x' }), [])
  assert.deepEqual(servicesFor(policy, { repository: 'acmeX/web', environment: 'production' }), [])
  assert.deepEqual(servicesFor(policy, { job_workflow_ref: 'acme/infra/.github/workflows/deploy.yml@refs/tags/v1' }), ['*'])
  assert.deepEqual(servicesFor(policy, { repository: 42, ref: 'refs/heads/main' }), [])
  assert.deepEqual(servicesFor(policy, {}), [])
})

test('policy files are validated at start', () => {
  assert.deepEqual(loadPolicy(policyFile(policy)), policy)
  for (const bad of [{}, { rules: [{ claims: {}, services: ['web'] }] }, { rules: [{ claims: { a: 'b' }, services: [] }] },
    { rules: [{ claims: { a: 'b' }, services: ['web'], extra: 1 }] }, { rules: [{ claims: { a: 1 }, services: ['web'] }] }]) {
    assert.throws(() => loadPolicy(policyFile(bad as never)), Error, JSON.stringify(bad))
  }
})

test('OIDC configuration: issuer over https (or loopback), audience and policy required', () => {
  const base = { JWT_SECRET: 's'.repeat(32) }
  const file = policyFile(policy)
  assert.equal(loadConfig({ ...base, OIDC_ISSUER: 'https://token.actions.githubusercontent.com', OIDC_AUDIENCE: 'updater', OIDC_POLICY_FILE: file }).oidcPolicy?.rules.length, 3)
  assert.throws(() => loadConfig({ ...base, OIDC_ISSUER: 'http://idp.example', OIDC_AUDIENCE: 'u', OIDC_POLICY_FILE: file }), /https/)
  assert.throws(() => loadConfig({ ...base, OIDC_ISSUER: 'https://idp.example', OIDC_POLICY_FILE: file }), /OIDC_AUDIENCE is required/)
  assert.throws(() => loadConfig({ ...base, OIDC_ISSUER: 'https://idp.example', OIDC_AUDIENCE: 'u' }), /OIDC_POLICY_FILE is required/)
  assert.throws(() => loadConfig({ ...base, OIDC_AUDIENCE: 'u' }), /need OIDC_ISSUER/)
  assert.throws(() => loadConfig({ ...base, OIDC_ISSUER: 'https://idp.example', OIDC_AUDIENCE: 'u', OIDC_POLICY_FILE: '/nonexistent' }), /OIDC_POLICY_FILE \/nonexistent: ENOENT/)
  assert.throws(() => loadConfig({ ...base, JWT_SECRET_PREVIOUS: 'short' }), /JWT_SECRET_PREVIOUS must hold at least 32 bytes/)
  assert.throws(() => loadConfig({ ...base, UPDATE_REQUIRE_LABEL: 'a b' }), /UPDATE_REQUIRE_LABEL/)
})

test('a policy rule may grant an access level: the highest matching level, over the services of the rules granting it', () => {
  const graded: OidcPolicy = {
    rules: [
      { claims: { repository: 'acme/*' }, services: ['*'], access: 'read' },
      { claims: { repository: 'acme/web' }, services: ['web'] },
      { claims: { repository: 'acme/web', environment: 'production' }, services: ['web', 'web_*'], access: 'admin' }
    ]
  }
  assert.deepEqual(grantFor(graded, { repository: 'acme/docs' }), { services: ['*'], access: 'read' })
  // deploy (no access: the default) wins over read, and does not widen to the read rule's '*'
  assert.deepEqual(grantFor(graded, { repository: 'acme/web' }), { services: ['web'], access: 'deploy' })
  assert.deepEqual(grantFor(graded, { repository: 'acme/web', environment: 'production' }), { services: ['web', 'web_*'], access: 'admin' })
  assert.deepEqual(grantFor(graded, { repository: 'other/x' }), { services: [], access: 'deploy' }, 'no rule: no service')
  assert.deepEqual(loadPolicy(policyFile(graded)), graded)
  assert.throws(() => loadPolicy(policyFile({ rules: [{ claims: { a: 'b' }, services: ['web'], access: 'root' }] } as never)), Error)
})
