import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FakeDocker } from '../fake-docker.ts'
import { bearer, build, postUpdate, token } from '../helper.ts'
import { assertDocumented, openApi } from '../openapi.ts'
import { until } from '../wait.ts'

const IMAGE = '127.0.0.1:5000/web:latest@sha256:' + 'a'.repeat(64)
const adminAuth = bearer(token({ access: 'admin', sub: 'ops' }))
const admin = { ...adminAuth, 'content-type': 'application/json' }
const POST = { method: 'post', path: '/freezes' }

async function setup (t: Parameters<typeof build>[0]) {
  const docker = new FakeDocker()
  docker.registry.set('127.0.0.1:5000/web:latest', 'sha256:' + 'b'.repeat(64))
  const web = docker.addService('web', IMAGE)
  const app = await build(t, {}, { runner: docker.runner })
  return { app, docker, web, doc: await openApi(app) }
}

const inAnHour = (): string => new Date(Date.now() + 3600_000).toISOString()

test('freezes: an admin freezes a service; an explicit update is refused 423 CU_FROZEN naming the freeze, forced by an admin; deleted, updates go again', async (t) => {
  const { app, docker, web, doc } = await setup(t)
  const ends = inAnHour()
  const created = await app.inject({ method: 'POST', url: '/freezes', headers: admin, payload: { services: ['we*'], until: ends, reason: 'release weekend' } })
  assert.equal(created.statusCode, 201, created.body)
  assertDocumented(doc, POST, 201, created.json())
  const freeze = created.json<{ freezeId: string, services: string[], until: string, reason: string, createdBy: string }>()
  assert.deepEqual({ ...freeze, freezeId: 'x', createdAt: 'x' }, { freezeId: 'x', services: ['we*'], until: ends, reason: 'release weekend', createdAt: 'x', createdBy: 'ops' })

  const listed = await app.inject({ method: 'GET', url: '/freezes', headers: bearer(token({ access: 'read' })) })
  assert.equal(listed.statusCode, 200)
  assertDocumented(doc, { method: 'get', path: '/freezes' }, 200, listed.json())
  assert.deepEqual(listed.json<{ freezes: Array<{ freezeId: string }> }>().freezes.map((f) => f.freezeId), [freeze.freezeId])

  const refused = await postUpdate(app, { appName: 'web' }, bearer(token({ access: 'deploy' })))
  assert.equal(refused.statusCode, 423, refused.body)
  assertDocumented(doc, { method: 'post', path: '/update' }, 423, refused.json())
  const body = refused.json<{ code: string, freezeId: string, reason: string, until: string, service: string, message: string }>()
  assert.deepEqual([body.code, body.freezeId, body.reason, body.until, body.service], ['CU_FROZEN', freeze.freezeId, 'release weekend', ends, 'web'])
  assert.match(body.message, /release weekend/)
  const retryAfter = Number(refused.headers['retry-after'])
  assert.ok(retryAfter > 3500 && retryAfter <= 3600, String(refused.headers['retry-after']))
  // An image target holding it is refused as a whole; a deploy token may not force.
  assert.equal((await postUpdate(app, { appName: 'web', force: true }, bearer(token({ access: 'deploy' })))).statusCode, 403)
  assert.equal(docker.updates(web.id), 0, 'nothing reached Docker')

  const forced = await postUpdate(app, { appName: 'web', force: true }, bearer(token({ access: 'admin' })))
  assert.equal(forced.statusCode, 200, forced.body)
  assert.equal(docker.updates(web.id), 1)

  const deleted = await app.inject({ method: 'DELETE', url: `/freezes/${freeze.freezeId}`, headers: adminAuth })
  assert.equal(deleted.statusCode, 204, deleted.body)
  const again = await app.inject({ method: 'DELETE', url: `/freezes/${freeze.freezeId}`, headers: adminAuth })
  assert.equal(again.statusCode, 404)
  assertDocumented(doc, { method: 'delete', path: '/freezes/{freezeId}' }, 404, again.json())
  assert.equal(again.json<{ code: string }>().code, 'CU_FREEZE_NOT_FOUND')
  assert.equal((await postUpdate(app, { appName: 'web' })).statusCode, 200)
})

test('freezes: deploy and read tokens may not create or delete; bad bodies are 400 and create nothing', async (t) => {
  const { app, doc } = await setup(t)
  const good = { services: ['web'], until: inAnHour(), reason: 'r' }
  for (const access of ['deploy', 'read']) {
    const res = await app.inject({ method: 'POST', url: '/freezes', headers: { ...bearer(token({ access })), 'content-type': 'application/json' }, payload: good })
    assert.equal(res.statusCode, 403, res.body)
    assert.equal(res.json<{ code: string }>().code, 'CU_ACCESS_DENIED')
  }
  const bodies: unknown[] = [
    {}, { ...good, services: [] }, { ...good, services: ['web;id'] }, { ...good, services: ['-web'] }, { ...good, reason: '' },
    { ...good, until: 'tomorrow' }, { ...good, until: new Date(Date.now() - 1000).toISOString() },
    { ...good, until: new Date(Date.now() + 400 * 86_400_000).toISOString() }, { ...good, extra: 1 }, { services: 'web', until: good.until, reason: 'r' }
  ]
  for (const payload of bodies) {
    const res = await app.inject({ method: 'POST', url: '/freezes', headers: admin, payload: payload as object })
    assert.equal(res.statusCode, 400, `${JSON.stringify(payload)}: ${res.body}`)
    assertDocumented(doc, POST, 400, res.json())
  }
  assert.deepEqual((await app.inject({ method: 'GET', url: '/freezes', headers: admin })).json(), { freezes: [] })
  assert.equal((await app.inject({ method: 'DELETE', url: '/freezes/not-a-uuid', headers: adminAuth })).statusCode, 400)
})

test('freezes: a scoped admin freezes only patterns inside its scope, and deletes only what it sees', async (t) => {
  const { app } = await setup(t)
  const scopedAuth = bearer(token({ access: 'admin', services: ['api-*'] }))
  const scoped = { ...scopedAuth, 'content-type': 'application/json' }
  const outside = await app.inject({ method: 'POST', url: '/freezes', headers: scoped, payload: { services: ['web'], until: inAnHour(), reason: 'r' } })
  assert.equal(outside.statusCode, 403, outside.body)
  assert.equal((await app.inject({ method: 'POST', url: '/freezes', headers: scoped, payload: { services: ['*'], until: inAnHour(), reason: 'r' } })).statusCode, 403)
  const inside = await app.inject({ method: 'POST', url: '/freezes', headers: scoped, payload: { services: ['api-1'], until: inAnHour(), reason: 'r' } })
  assert.equal(inside.statusCode, 201, inside.body)
  const web = await app.inject({ method: 'POST', url: '/freezes', headers: admin, payload: { services: ['web'], until: inAnHour(), reason: 'r' } })
  const all = await app.inject({ method: 'POST', url: '/freezes', headers: admin, payload: { services: ['*'], until: inAnHour(), reason: 'everything' } })
  const seen = (await app.inject({ method: 'GET', url: '/freezes', headers: scopedAuth })).json<{ freezes: Array<{ services: string[] }> }>().freezes.map((f) => f.services[0]).sort()
  // The freeze of `*` touches its services too; the one of `web` does not.
  assert.deepEqual(seen, ['*', 'api-1'])
  assert.equal((await app.inject({ method: 'DELETE', url: `/freezes/${web.json<{ freezeId: string }>().freezeId}`, headers: scopedAuth })).statusCode, 404)
  assert.equal((await app.inject({ method: 'DELETE', url: `/freezes/${all.json<{ freezeId: string }>().freezeId}`, headers: scopedAuth })).statusCode, 403)
})

test('freezes: an automatic (hook) update of a frozen service is held, joined by the next one, and starts when the freeze is deleted', async (t) => {
  const { app, docker, web } = await setup(t)
  const ends = inAnHour()
  const { freezeId } = (await app.inject({ method: 'POST', url: '/freezes', headers: admin, payload: { services: ['web'], until: ends, reason: 'audit' } })).json<{ freezeId: string }>()
  const service = await app.engine.resolve('web', () => {})
  const first = app.updater.submit(service, { appName: 'web', trigger: 'hook', requestedBy: 'hook:distribution' })
  assert.equal(first.record.status, 'held')
  assert.equal(first.record.heldUntil, ends)
  assert.match(first.record.message ?? '', new RegExp(`freeze ${freezeId}.*audit`))
  const second = app.updater.submit(service, { appName: 'web', trigger: 'watch', requestedBy: 'watch' })
  assert.equal(second.record.updateId, first.record.updateId, 'a newer automatic request joins the held one')
  const stored = await app.inject({ method: 'GET', url: `/updates/${first.record.updateId}`, headers: admin })
  assert.equal(stored.json<{ status: string }>().status, 'held')
  assert.equal(docker.updates(web.id), 0)

  assert.equal((await app.inject({ method: 'DELETE', url: `/freezes/${freezeId}`, headers: adminAuth })).statusCode, 204)
  const end = await first.wait()
  assert.equal(end.record.status, 'completed')
  console.log('updates', docker.updates(web.id))
  assert.equal(docker.updates(web.id), 1)
  console.log('end')
})

test('freezes: an explicit update supersedes what was held for the service (it is the decision)', async (t) => {
  const { app, docker, web } = await setup(t)
  await app.inject({ method: 'POST', url: '/freezes', headers: admin, payload: { services: ['web'], until: inAnHour(), reason: 'audit' } })
  const service = await app.engine.resolve('web', () => {})
  const held = app.updater.submit(service, { appName: 'web', trigger: 'hook' })
  const forced = await postUpdate(app, { appName: 'web', force: true }, admin)
  assert.equal(forced.statusCode, 200, forced.body)
  const end = await held.wait()
  assert.equal(end.record.status, 'superseded')
  assert.equal(end.record.supersededBy, forced.json<{ updateId: string }>().updateId)
  await until('one update', () => docker.updates(web.id) === 1 ? true : undefined)
})
