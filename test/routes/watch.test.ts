import { test } from 'node:test'
import assert from 'node:assert/strict'
import { bearer, build, token } from '../helper.ts'
import { FakeDocker } from '../fake-docker.ts'
import type { UpdateRecord } from '../../src/store/records.ts'

/** The watch routes (DESIGN §7): tokens, scope, bodies. The scheduler is off (test/helper.ts sets WATCH=false): no Docker. */
const digest = 'sha256:' + 'd'.repeat(64)

test('GET /watch needs a token and answers the documented shape', async (t) => {
  const app = await build(t)
  assert.equal((await app.inject({ method: 'GET', url: '/watch' })).statusCode, 401)
  const res = await app.inject({ method: 'GET', url: '/watch', headers: bearer() })
  assert.equal(res.statusCode, 200)
  assert.deepEqual(res.json(), { services: [], registries: [] })
})

test('DELETE /watch/{service}/quarantine: admin only (DESIGN §10); 204 once, then 404; out of scope 403; bad name 400', async (t) => {
  const app = await build(t)
  const admin = bearer(token({ access: 'admin' }))
  app.watch.store.quarantine({ serviceId: 'sid', service: 'web', digest, updateId: 'u1', sinceMs: 1 })
  assert.equal((await app.inject({ method: 'DELETE', url: '/watch/web/quarantine', headers: bearer(token({ services: ['api'], access: 'admin' })) })).statusCode, 403)
  const deploy = await app.inject({ method: 'DELETE', url: '/watch/web/quarantine', headers: bearer() })
  assert.equal(deploy.statusCode, 403, 'a deploy token may not lift a quarantine')
  assert.equal(deploy.json().code, 'CU_ACCESS_DENIED')
  assert.equal(app.watch.store.getQuarantine('sid')?.digest, digest, 'a refused request changes nothing')
  assert.equal((await app.inject({ method: 'DELETE', url: '/watch/web/quarantine', headers: admin })).statusCode, 204)
  const again = await app.inject({ method: 'DELETE', url: '/watch/web/quarantine', headers: admin })
  assert.equal(again.statusCode, 404)
  assert.equal(again.json().code, 'CU_QUARANTINE_NOT_FOUND')
  assert.equal((await app.inject({ method: 'DELETE', url: '/watch/-x/quarantine', headers: admin })).statusCode, 400)
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

test('POST /watch/check: a scoped token naming a service that is not watched checks nothing else (no check of everything)', async (t) => {
  const app = await build(t)
  const calls: Array<readonly string[] | undefined> = []
  let relisted = 0
  app.watch.scheduler.checkNow = (ids?: readonly string[]) => { calls.push(ids) }
  app.watch.scheduler.relist = () => { relisted++ }
  const res = await app.inject({ method: 'POST', url: '/watch/check', headers: bearer(token({ services: ['web'] })), payload: { service: 'web' } })
  assert.equal(res.statusCode, 202)
  assert.deepEqual(calls, [], 'nothing forced: before, an unlisted name forced a check of every watched service')
  assert.equal(relisted, 1, 'the name is looked for at the next listing')
})

test('GET /watch names a deferred registry only to a token that sees a service pulling from it', async (t) => {
  const app = await build(t)
  const view = (service: string, image: string) => ({ serviceId: service, service, image, watch: 'true', policy: 'digest', schedule: '1h', minAge: '0s', state: 'deferred', current: { tag: '1', digest: null }, available: null, nextCheckAt: null })
  app.watch.scheduler.views = () => [view('web', 'registry.web.test/web:1'), view('db', 'registry.db.test/db:1')] as never
  app.watch.budget.states = () => [{ registry: 'registry.web.test', state: 'deferred' }, { registry: 'registry.db.test', state: 'deferred' }] as never
  const scoped = (await app.inject({ method: 'GET', url: '/watch', headers: bearer(token({ services: ['web'] })) })).json()
  assert.deepEqual(scoped.services.map((s: { service: string }) => s.service), ['web'])
  assert.deepEqual(scoped.registries.map((r: { registry: string }) => r.registry), ['registry.web.test'], 'the other registry is not named')
  const all = (await app.inject({ method: 'GET', url: '/watch', headers: bearer() })).json()
  assert.deepEqual(all.registries.map((r: { registry: string }) => r.registry).sort(), ['registry.db.test', 'registry.web.test'])
})

test('the watcher looks at a service again at once after completed, rolled_back, paused or rejected, never after failed or expired (no resubmission loop)', async (t) => {
  const docker = new FakeDocker()
  const app = await build(t, { WATCH: 'true', WATCH_INTERVAL: '1h' }, { runner: docker.runner })
  const rechecked: string[] = []
  app.watch.scheduler.recheck = (service: string) => { rechecked.push(service) }
  const final = (status: UpdateRecord['status']): UpdateRecord => ({
    updateId: crypto.randomUUID(),
    appName: status,
    service: status,
    status,
    previousImage: null,
    image: null,
    startedAt: new Date().toISOString(),
    finishedAt: new Date().toISOString(),
    durationMs: 1,
    statusUrl: '/updates/x',
    trigger: 'watch'
  })
  const statuses = ['failed', 'expired', 'superseded', 'cancelled', 'completed', 'rejected'] as const
  for (const status of statuses) for (const listener of app.updater.recordListeners) listener(final(status), 'final')
  await new Promise((resolve) => setImmediate(resolve))
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(rechecked.sort(), ['completed', 'rejected'])
})
