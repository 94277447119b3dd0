import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import type { OidcPolicy } from '../../src/auth/policy.ts'
import { FakeDocker } from '../fake-docker.ts'
import { bearer, build, craftToken, nowSeconds, postUpdate, token } from '../helper.ts'
import { githubClaims, oidcEnv, startProvider } from '../oidc-provider.ts'

const IMAGE = '127.0.0.1:5000/web:latest@sha256:' + 'a'.repeat(64)
const PREVIOUS = 'the-previous-secret-still-accepted-during-rotation'

async function setup (t: Parameters<typeof build>[0], env: Record<string, string>) {
  const docker = new FakeDocker()
  const web = docker.addService('web', IMAGE)
  const api = docker.addService('api', IMAGE)
  const app = await build(t, { AUTH_FAILURE_LIMIT: '1000', ...env }, { runner: docker.runner })
  return { app, docker, web, api }
}

const policy: OidcPolicy = {
  rules: [
    { claims: { repository: 'acme/web', ref: 'refs/heads/main' }, services: ['web'] },
    { claims: { repository: 'acme/*', environment: ['production', 'staging'] }, services: ['api'] }
  ]
}

test('rotation: the previous secret is still accepted, any other is not', async (t) => {
  const { app, docker, web } = await setup(t, { JWT_SECRET_PREVIOUS: PREVIOUS })
  assert.equal((await postUpdate(app, { appName: 'web' }, bearer(token()))).statusCode, 200)
  assert.equal((await postUpdate(app, { appName: 'web' }, bearer(token({}, { secret: PREVIOUS })))).statusCode, 200)
  const stranger = await postUpdate(app, { appName: 'web' }, bearer(token({}, { secret: 'some-third-secret-nobody-configured!!' })))
  assert.equal(stranger.statusCode, 401)
  // Scope still applies to tokens signed with the previous secret.
  assert.equal((await postUpdate(app, { appName: 'web' }, bearer(token({ services: ['api'] }, { secret: PREVIOUS })))).statusCode, 403)
  assert.equal(docker.updates(web.id), 2)
})

test('JWT_MAX_LIFETIME refuses long-lived tokens', async (t) => {
  const { app } = await setup(t, { JWT_MAX_LIFETIME: '3600' })
  const header = { alg: 'HS256', typ: 'JWT' }
  const now = nowSeconds()
  assert.equal((await postUpdate(app, { appName: 'web' }, bearer(await craftToken(header, { iat: now, exp: now + 3000 })))).statusCode, 200)
  const long = await postUpdate(app, { appName: 'web' }, bearer(await craftToken(header, { iat: now, exp: now + 30 * 86400 })))
  assert.equal(long.statusCode, 401)
  assert.match(long.json().message, /JWT_MAX_LIFETIME/)
  assert.equal((await postUpdate(app, { appName: 'web' }, bearer(await craftToken(header, { exp: now + 7200 })))).statusCode, 401, 'without iat, from now')
})

test('label opt-in: only labelled services are updated; others are 403 and untouched', async (t) => {
  const docker = new FakeDocker()
  const web = docker.addService('web', IMAGE)
  const labelled = docker.addService('api', IMAGE)
  const app = await build(t, { UPDATE_REQUIRE_LABEL: 'container-updater.enable=true' }, { runner: docker.runner })
  const res = await postUpdate(app, { appName: 'web' })
  assert.equal(res.statusCode, 403)
  assert.equal(res.json().code, 'CU_SERVICE_NOT_ENABLED')
  assert.match(res.json().message, /container-updater\.enable=true/)
  assert.equal(docker.updates(web.id), 0)
  assert.equal(web.version, 10)
  labelled.labels = { 'container-updater.enable': 'true' }
  assert.equal((await postUpdate(app, { appName: 'api' })).statusCode, 200)
  labelled.labels = { 'container-updater.enable': 'false' }
  assert.equal((await postUpdate(app, { appName: 'api' })).statusCode, 403)
})

test('OIDC: tokens from the identity provider are scoped by the policy', async (t) => {
  const provider = await startProvider()
  t.after(() => provider.close())
  const { app, docker, web, api } = await setup(t, oidcEnv(provider, policy))

  const main = provider.sign(githubClaims())
  assert.equal((await postUpdate(app, { appName: 'web' }, bearer(main))).statusCode, 200, 'rule 1')
  assert.equal((await postUpdate(app, { appName: 'api' }, bearer(main))).statusCode, 200, 'rule 2: environment production')
  const es = provider.sign(githubClaims({ repository: 'acme/shop', environment: 'staging' }), { alg: 'ES256' })
  assert.equal((await postUpdate(app, { appName: 'api' }, bearer(es))).statusCode, 200, 'ES256, rule 2 by glob')
  assert.equal((await postUpdate(app, { appName: 'web' }, bearer(es))).statusCode, 403, 'rule 1 does not match acme/shop')

  const branch = provider.sign(githubClaims({ ref: 'refs/heads/feature', environment: 'dev' }))
  const denied = await postUpdate(app, { appName: 'web' }, bearer(branch))
  assert.equal(denied.statusCode, 403)
  assert.match(denied.json().message, /no rule of the OIDC policy/)
  assert.equal((await postUpdate(app, { appName: 'web' }, bearer(provider.sign(githubClaims({ repository: ['acme/web'] }))))).statusCode, 403, 'a non-string claim matches nothing')
  // The `services` claim means nothing in an identity provider's token.
  assert.equal((await postUpdate(app, { appName: 'web' }, bearer(provider.sign({ ...githubClaims({ repository: 'evil/x' }), services: ['*'] })))).statusCode, 403)
  assert.equal(docker.updates(web.id), 1)
  assert.equal(docker.updates(api.id), 2)
  assert.equal(provider.fetches(), 2, 'keys are cached: one fetch per key id')
  // HS256 tokens with the secret keep working beside OIDC.
  assert.equal((await postUpdate(app, { appName: 'web' }, bearer(token()))).statusCode, 200)
})

test('OIDC: a policy rule grants the access level; the access claim of the token means nothing', async (t) => {
  const provider = await startProvider()
  t.after(() => provider.close())
  const graded: OidcPolicy = {
    rules: [
      { claims: { repository: 'acme/docs' }, services: ['*'], access: 'read' },
      { claims: { repository: 'acme/web' }, services: ['web'] }
    ]
  }
  const { app, docker, web } = await setup(t, oidcEnv(provider, graded))
  const reader = provider.sign({ ...githubClaims({ repository: 'acme/docs' }), access: 'admin' })
  const refused = await postUpdate(app, { appName: 'web' }, bearer(reader))
  assert.equal(refused.statusCode, 403)
  assert.equal(refused.json().code, 'CU_ACCESS_DENIED')
  assert.equal((await app.inject({ method: 'GET', url: '/updates', headers: bearer(reader) })).statusCode, 200)
  assert.equal((await postUpdate(app, { appName: 'web' }, bearer(provider.sign(githubClaims({ repository: 'acme/web' }))))).statusCode, 200)
  assert.equal(docker.updates(web.id), 1)
})

test('OIDC: forged, misdirected and unverifiable tokens are 401', async (t) => {
  const provider = await startProvider()
  t.after(() => provider.close())
  const attacker = await startProvider()
  t.after(() => attacker.close())
  const { app, docker } = await setup(t, oidcEnv(provider, policy))
  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
  const cases: Record<string, string> = {
    'signed by another key under a known kid': provider.sign(githubClaims(), { key: otherKey }),
    'unknown kid': provider.sign(githubClaims(), { kid: 'nope' }),
    'another issuer': attacker.sign(githubClaims()),
    'jku pointing at the attacker': attacker.sign(githubClaims(), { header: { jku: `${attacker.issuer}/.well-known/jwks` } }),
    'wrong audience': provider.sign(githubClaims(), { audience: 'someone-else' }),
    'HS256 signed with the public key': await craftToken({ alg: 'HS256', kid: 'rsa-1' }, { ...githubClaims(), iss: provider.issuer, aud: provider.audience, exp: nowSeconds() + 600 }, provider.publicPem),
    'RS256 without kid': await craftToken({ alg: 'RS256' }, { ...githubClaims(), iss: provider.issuer, aud: provider.audience, exp: nowSeconds() + 600 })
  }
  for (const [name, jwt] of Object.entries(cases)) {
    const res = await postUpdate(app, { appName: 'web' }, bearer(jwt))
    assert.equal(res.statusCode, 401, `${name}: ${res.body}`)
  }
  assert.equal(attacker.fetches(), 0, 'the attacker JWKS is never fetched')
  assert.deepEqual(docker.calls, [])

  // A provider that does not answer in time: 401 after OIDC_JWKS_TIMEOUT, not a hang and not a 500.
  provider.setDelay(5000)
  const slow = await postUpdate(app, { appName: 'web' }, bearer(provider.sign(githubClaims(), { alg: 'ES256' })))
  assert.equal(slow.statusCode, 401)
  assert.match(slow.json().message, /identity provider/)
})
