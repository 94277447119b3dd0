import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { FakeDocker } from '../fake-docker.ts'
import { bearer, build, token } from '../helper.ts'

const IMAGE = '127.0.0.1:5000/web:latest@sha256:' + 'a'.repeat(64)

const postRollback = async (app: FastifyInstance, body: unknown, headers: Record<string, string> = bearer()) =>
  app.inject({ method: 'POST', url: '/rollback', headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify(body) })

/** POST /rollback's refusals, before any Docker write (the rollback itself is proven in test/swarm/rollback.test.ts). */
test('POST /rollback of a service Swarm keeps no previous spec for: 409 CU_NO_PREVIOUS_SPEC, no record, no Docker write', async (t) => {
  const docker = new FakeDocker()
  docker.addService('web', IMAGE)
  const app = await build(t, {}, { runner: docker.runner })
  const res = await postRollback(app, { appName: 'web' })
  assert.equal(res.statusCode, 409, res.body)
  assert.deepEqual(res.json(), { statusCode: 409, error: 'Conflict', code: 'CU_NO_PREVIOUS_SPEC', message: 'Service web has no previous spec to roll back to (Swarm keeps one only after an update)' })
  assert.deepEqual(docker.calls.filter((args) => args[1] === 'rollback' || args[1] === 'update'), [])
  assert.equal((await app.inject({ url: '/updates', headers: bearer() })).json<{ updates: unknown[] }>().updates.length, 0)
})

test('POST /rollback: bad bodies are 400, a token scoped to other services 403 CU_FORBIDDEN (as for /update), all before any Docker call', async (t) => {
  const docker = new FakeDocker()
  docker.addService('web', IMAGE)
  const app = await build(t, {}, { runner: docker.runner })
  for (const body of [{}, { appName: '-web' }, { appName: 'web', tag: 'v2' }, { appName: 'web', wait: 'yes' }]) {
    const res = await postRollback(app, body)
    assert.equal(res.statusCode, 400, JSON.stringify(body))
    assert.equal(res.json<{ statusCode: number }>().statusCode, 400)
  }
  const scoped = await postRollback(app, { appName: 'web' }, bearer(token({ services: ['api'] })))
  assert.equal(scoped.statusCode, 403, scoped.body)
  assert.equal(scoped.json<{ code: string }>().code, 'CU_FORBIDDEN')
  assert.deepEqual(docker.calls, [])
})

test('POST /rollback while an update of a service never updated is running: queued behind it in the lane, not refused 409 (the update leaves a previous spec)', async (t) => {
  const docker = new FakeDocker()
  const web = docker.addService('web', IMAGE)
  web.outcomes = ['never']
  docker.registry.set('127.0.0.1:5000/web:latest', 'sha256:' + 'b'.repeat(64))
  const app = await build(t, {}, { runner: docker.runner })
  const update = await app.inject({ method: 'POST', url: '/update', headers: { ...bearer(), 'content-type': 'application/json' }, payload: { appName: 'web', wait: false } })
  assert.equal(update.statusCode, 202, update.body)
  const res = await postRollback(app, { appName: 'web', wait: false })
  assert.equal(res.statusCode, 202, res.body)
  assert.equal(res.json<{ action: string, status: string }>().action, 'rollback')
  assert.equal(res.json<{ status: string }>().status, 'queued', 'it waits for the running update')
  assert.deepEqual(docker.calls.filter((args) => args[1] === 'rollback'), [], 'nothing is rolled back while the update runs')
})
