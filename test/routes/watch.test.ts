import { test } from 'node:test'
import assert from 'node:assert/strict'
import { bearer, build, token } from '../helper.ts'

/** The watch routes (DESIGN §7): tokens, scope, bodies. The scheduler is off (test/helper.ts sets WATCH=false): no Docker. */
const digest = 'sha256:' + 'd'.repeat(64)

test('GET /watch needs a token and answers the documented shape', async (t) => {
  const app = await build(t)
  assert.equal((await app.inject({ method: 'GET', url: '/watch' })).statusCode, 401)
  const res = await app.inject({ method: 'GET', url: '/watch', headers: bearer() })
  assert.equal(res.statusCode, 200)
  assert.deepEqual(res.json(), { services: [], registries: [] })
})

test('DELETE /watch/{service}/quarantine: 204 once, then 404; out of scope 403; bad name 400', async (t) => {
  const app = await build(t)
  app.watch.store.quarantine({ serviceId: 'sid', service: 'web', digest, updateId: 'u1', sinceMs: 1 })
  assert.equal((await app.inject({ method: 'DELETE', url: '/watch/web/quarantine', headers: bearer(token({ services: ['api'] })) })).statusCode, 403)
  assert.equal(app.watch.store.getQuarantine('sid')?.digest, digest, 'a refused request changes nothing')
  assert.equal((await app.inject({ method: 'DELETE', url: '/watch/web/quarantine', headers: bearer() })).statusCode, 204)
  const again = await app.inject({ method: 'DELETE', url: '/watch/web/quarantine', headers: bearer() })
  assert.equal(again.statusCode, 404)
  assert.equal(again.json().code, 'CU_QUARANTINE_NOT_FOUND')
  assert.equal((await app.inject({ method: 'DELETE', url: '/watch/-x/quarantine', headers: bearer() })).statusCode, 400)
})

test('POST /watch/check: 202; unknown fields 400; a service outside the scope 403', async (t) => {
  const app = await build(t)
  assert.equal((await app.inject({ method: 'POST', url: '/watch/check', headers: bearer(), payload: {} })).statusCode, 202)
  assert.equal((await app.inject({ method: 'POST', url: '/watch/check', headers: bearer(), payload: { service: 'web' } })).statusCode, 202)
  assert.equal((await app.inject({ method: 'POST', url: '/watch/check', headers: bearer(), payload: { nope: 1 } })).statusCode, 400)
  assert.equal((await app.inject({ method: 'POST', url: '/watch/check', headers: bearer(token({ services: ['api'] })), payload: { service: 'web' } })).statusCode, 403)
})

test('WATCH_INTERVAL and WATCH_TIMEOUT must be durations', async (t) => {
  await assert.rejects(build(t, { WATCH_INTERVAL: 'hourly' }), /WATCH_INTERVAL/)
})
