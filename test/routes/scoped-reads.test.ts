import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FakeDocker } from '../fake-docker.ts'
import { bearer, build, token } from '../helper.ts'

/**
 * docs/API.md: a record outside the token's scope is answered as if it did not exist. Every read
 * route of the OpenAPI document that takes a token is walked with a token scoped to another
 * service; a read route added later without a case here fails the test.
 */
test('every read route answers an out-of-scope record as a 404 indistinguishable from one that does not exist', async (t) => {
  const docker = new FakeDocker()
  const digest = `sha256:${'a'.repeat(64)}`
  docker.addService('web', `127.0.0.1:5000/web:latest@${digest}`)
  docker.addService('api', `127.0.0.1:5000/api:latest@${digest}`)
  docker.registry.set('127.0.0.1:5000/api:latest', `sha256:${'b'.repeat(64)}`)
  // The fake answers no `service ls`: this one lists every service, for the image target's batch.
  const runner: typeof docker.runner = async (args, options) =>
    args[0] === 'service' && args[1] === 'ls' ? [...docker.services.keys()].join('\n') + '\n' : await docker.runner(args, options)
  const app = await build(t, {}, { runner })
  const json = { ...bearer(), 'content-type': 'application/json' }
  const single = await app.inject({ method: 'POST', url: '/update', headers: json, payload: { appName: 'api' } })
  assert.equal(single.statusCode, 200, single.body)
  const batch = await app.inject({ method: 'POST', url: '/update', headers: json, payload: { image: '127.0.0.1:5000/api:latest' } })
  assert.ok([200, 202].includes(batch.statusCode), batch.body)
  const { updateId } = single.json() as { updateId: string }
  const { batchId } = batch.json() as { batchId: string }
  assert.equal(typeof batchId, 'string', batch.body)

  const webOnly = bearer(token({ services: ['web'] }))
  const missing = { updateId: '00000000-0000-4000-8000-000000000000', batchId: '00000000-0000-4000-8000-000000000001' }
  const get = async (url: string, headers = webOnly) => await app.inject({ method: 'GET', url, headers })
  /** The answer for an existing record, with its id replaced, must equal the answer for a made-up one. */
  const sameAsMissing = async (template: string, key: 'updateId' | 'batchId', real: string): Promise<void> => {
    const hidden = await get(template.replace(`:${key}`, real))
    const absent = await get(template.replace(`:${key}`, missing[key]))
    assert.equal(hidden.statusCode, 404, `${template}: ${hidden.body}`)
    assert.equal(absent.statusCode, 404, absent.body)
    assert.deepEqual(hidden.json(), { ...absent.json(), message: (absent.json().message as string).replace(missing[key], real) }, template)
    assert.equal(hidden.body.includes('api'), false, hidden.body)
    // The same record is there for a token that may see it.
    assert.equal((await get(template.replace(`:${key}`, real), bearer())).statusCode, 200, template)
  }
  const cases: Record<string, () => Promise<void>> = {
    '/updates/{updateId}': async () => await sameAsMissing('/updates/:updateId', 'updateId', updateId),
    '/batches/{batchId}': async () => await sameAsMissing('/batches/:batchId', 'batchId', batchId),
    '/updates': async () => {
      for (const url of ['/updates', '/updates?service=api', `/updates?service=api&limit=5&status=${single.json().status as string}`]) {
        const res = await get(url)
        assert.equal(res.statusCode, 200, res.body)
        assert.deepEqual(res.json(), { updates: [], nextCursor: null }, url)
      }
    },
    '/watch': async () => {
      const res = await get('/watch')
      assert.equal(res.statusCode, 200, res.body)
      assert.equal(res.body.includes('api'), false, res.body)
    },
    '/freezes': async () => {
      const until = new Date(Date.now() + 3600_000).toISOString()
      const created = await app.inject({ method: 'POST', url: '/freezes', headers: { ...bearer(token({ access: 'admin' })), 'content-type': 'application/json' }, payload: { services: ['api'], until, reason: 'release' } })
      assert.equal(created.statusCode, 201, created.body)
      const hidden = await get('/freezes')
      assert.equal(hidden.statusCode, 200, hidden.body)
      assert.deepEqual(hidden.json(), { freezes: [] })
      const seen = await get('/freezes', bearer())
      assert.deepEqual(seen.json<{ freezes: Array<{ services: string[] }> }>().freezes.map((f) => f.services), [['api']])
      // A freeze of `web` and `api` is shown to the web token with `web` only: `api` is not named.
      const both = await app.inject({ method: 'POST', url: '/freezes', headers: { ...bearer(token({ access: 'admin' })), 'content-type': 'application/json' }, payload: { services: ['web', 'api'], until, reason: 'release' } })
      assert.equal(both.statusCode, 201, both.body)
      const partly = await get('/freezes')
      assert.deepEqual(partly.json<{ freezes: Array<{ services: string[] }> }>().freezes.map((f) => f.services), [['web']])
      assert.equal(partly.body.includes('api'), false, partly.body)
    },
    // The token's own grant: nothing of any service, whatever the scope.
    '/whoami': async () => {
      const res = await get('/whoami')
      assert.equal(res.statusCode, 200, res.body)
      assert.deepEqual(res.json().services, ['web'])
      assert.equal(res.body.includes('api'), false, res.body)
    },
    // An endless stream cannot be injected: test/routes/events-stream.test.ts proves over real HTTP
    // that a scoped token never receives another service's record.
    '/events': async () => {}
  }
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, { get?: { security?: unknown[] } }> }
  const readRoutes = Object.entries(doc.paths).filter(([, ops]) => ops.get?.security !== undefined).map(([path]) => path).sort()
  assert.deepEqual(readRoutes, Object.keys(cases).sort(), 'every authenticated read route has a case here')
  for (const path of readRoutes) await cases[path]!()
})
