import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FakeDocker } from '../fake-docker.ts'
import { bearer, build, postUpdate, token } from '../helper.ts'
import { githubClaims, oidcEnv, startProvider } from '../oidc-provider.ts'

/** What the dashboard needs of the API beyond the documented routes: GET /whoami and the trigger header (docs/API.md). */
const IMAGE = '127.0.0.1:5000/web:latest@sha256:' + 'a'.repeat(64)

async function setup (t: Parameters<typeof build>[0], env: Record<string, string> = {}) {
  const docker = new FakeDocker()
  docker.registry.set('127.0.0.1:5000/web:latest', 'sha256:' + 'b'.repeat(64))
  const web = docker.addService('web', IMAGE)
  // The fake answers no `service ls`: this one lists every service, for an image target's batch.
  const runner: typeof docker.runner = async (args, options) =>
    args[0] === 'service' && args[1] === 'ls' ? [...docker.services.keys()].join('\n') + '\n' : await docker.runner(args, options)
  const app = await build(t, env, { runner })
  return { app, docker, web }
}

test('GET /whoami answers the access level and scope the server grants the token, for every level', async (t) => {
  const { app, docker } = await setup(t)
  for (const access of ['read', 'deploy', 'admin'] as const) {
    const res = await app.inject({ url: '/whoami', headers: bearer(token({ access, services: ['web', 'api-*'] })) })
    assert.equal(res.statusCode, 200)
    const body = res.json()
    assert.equal(body.access, access)
    assert.deepEqual(body.services, ['web', 'api-*'])
    assert.equal(body.allServices, false)
    assert.equal(body.subject, 'test')
    assert.ok(Date.parse(body.expiresAt) > Date.now())
  }
  const plain = (await app.inject({ url: '/whoami', headers: bearer(token()) })).json()
  assert.equal(plain.access, 'deploy', 'no access claim: deploy')
  assert.equal(plain.services, null)
  assert.equal(plain.allServices, true)
  assert.equal((await app.inject({ url: '/whoami' })).statusCode, 401)
  assert.equal((await app.inject({ url: '/whoami', headers: bearer(token({}, { expiresIn: -1 })) })).statusCode, 401)
  assert.deepEqual(docker.calls, [], 'no Docker call')
})

test('GET /whoami: an OIDC token\'s level is the policy\'s, not its own access claim', async (t) => {
  const provider = await startProvider()
  t.after(() => provider.close())
  const { app } = await setup(t, oidcEnv(provider, { rules: [{ claims: { repository: 'acme/docs' }, services: ['*'], access: 'read' }] }))
  const res = await app.inject({ url: '/whoami', headers: bearer(provider.sign({ ...githubClaims({ repository: 'acme/docs' }), access: 'admin' })) })
  assert.equal(res.statusCode, 200)
  assert.equal(res.json().access, 'read')
  assert.deepEqual(res.json().services, ['*'])
})

test('POST /update: the header x-container-updater-trigger: ui records trigger "ui"; none records "api"; any other value is 400 with no Docker call', async (t) => {
  const { app, docker, web } = await setup(t)
  const fromUi = await postUpdate(app, { appName: 'web' }, { ...bearer(), 'x-container-updater-trigger': 'ui' })
  assert.equal(fromUi.statusCode, 200)
  assert.equal(fromUi.json().trigger, 'ui')
  const stored = await app.inject({ url: fromUi.json().statusUrl, headers: bearer() })
  assert.equal(stored.json().trigger, 'ui', 'stored as such')
  const plain = await postUpdate(app, { appName: 'web' })
  assert.equal(plain.json().trigger, 'api')
  const updates = docker.updates(web.id)
  for (const value of ['watch', 'hook', 'api', 'UI', 'ui ', '']) {
    const res = await postUpdate(app, { appName: 'web' }, { ...bearer(), 'x-container-updater-trigger': value })
    assert.equal(res.statusCode, 400, JSON.stringify(value))
    assert.equal(res.json().statusCode, 400)
  }
  assert.equal(docker.updates(web.id), updates, 'a refused header starts nothing')
  const batch = await postUpdate(app, { image: '127.0.0.1:5000/web:latest' }, { ...bearer(), 'x-container-updater-trigger': 'ui' })
  assert.equal(batch.statusCode, 200, batch.body)
  assert.equal(batch.json().updates[0].trigger, 'ui', 'image and stack targets too')
})

test('a read token: GET /whoami says read, and POST /update is refused 403 whatever the page shows', async (t) => {
  const { app, docker } = await setup(t)
  const reader = token({ access: 'read' })
  assert.equal((await app.inject({ url: '/whoami', headers: bearer(reader) })).json().access, 'read')
  const refused = await postUpdate(app, { appName: 'web' }, { ...bearer(reader), 'x-container-updater-trigger': 'ui' })
  assert.equal(refused.statusCode, 403)
  assert.equal(refused.json().code, 'CU_ACCESS_DENIED')
  assert.deepEqual(docker.calls, [])
})
