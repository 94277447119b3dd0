import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { bearer, build, postUpdate, token } from '../helper.ts'
import { REGISTRY, createService, digestOf, inspect, pushImage, runningVersion, swarmSkip, uniqueName } from '../swarm-fixtures.ts'

const postRollback = async (app: FastifyInstance, body: unknown, headers: Record<string, string> = bearer()) =>
  app.inject({ method: 'POST', url: '/rollback', headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify(body) })

/** POST /rollback against the real Swarm (docs/API.md, "POST /rollback"). */
describe('swarm: POST /rollback', { skip: swarmSkip, concurrency: true }, () => {
  const app = async (t: Parameters<typeof build>[0]): Promise<FastifyInstance> => build(t, { POLL_INTERVAL_MS: '200', UPDATE_TIMEOUT: '90' })

  test('swarm: after a real update, POST /rollback restores the previous digest and the record says so', async (t) => {
    const name = uniqueName('cu-rb')
    const v1 = await pushImage(name, 'latest')
    await createService(t, name, `${REGISTRY}/${name}:latest`)
    const v2 = await pushImage(name, 'latest')
    const server = await app(t)
    const updated = await postUpdate(server, { appName: name })
    assert.equal(updated.statusCode, 200, updated.body)
    assert.equal(digestOf((await inspect(name)).Spec.TaskTemplate.ContainerSpec.Image), v2.digest)

    const res = await postRollback(server, { appName: name })
    assert.equal(res.statusCode, 200, res.body)
    const record = res.json()
    assert.equal(record.action, 'rollback')
    assert.equal(record.trigger, 'api')
    assert.equal(record.status, 'completed')
    assert.equal(digestOf(record.previousImage), v2.digest)
    assert.equal(digestOf(record.image), v1.digest)
    const service = await inspect(name)
    assert.equal(service.UpdateStatus?.State, 'rollback_completed')
    assert.equal(digestOf(service.Spec.TaskTemplate.ContainerSpec.Image), v1.digest)
    assert.equal(await runningVersion(name), v1.version)
    const stored = await server.inject({ method: 'GET', url: `/updates/${record.updateId}`, headers: bearer() })
    assert.deepEqual(stored.json(), record)
  })

  test('swarm: a service never updated has no previous spec: 409 CU_NO_PREVIOUS_SPEC, nothing changed', async (t) => {
    const name = uniqueName('cu-rb-none')
    await pushImage(name, 'latest')
    await createService(t, name, `${REGISTRY}/${name}:latest`)
    const before = await inspect(name)
    const res = await postRollback(await app(t), { appName: name })
    assert.equal(res.statusCode, 409, res.body)
    assert.equal(res.json().code, 'CU_NO_PREVIOUS_SPEC')
    assert.match(res.json().message, new RegExp(`Service ${name} has no previous spec`))
    assert.equal((await inspect(name)).Version.Index, before.Version.Index)
  })

  test('swarm: a rollback asked for while an update runs waits for it in the lane, then undoes it', async (t) => {
    const name = uniqueName('cu-rb-lane')
    const v1 = await pushImage(name, 'latest')
    await createService(t, name, `${REGISTRY}/${name}:latest`)
    const v2 = await pushImage(name, 'latest')
    const server = await app(t)
    const started = await postUpdate(server, { appName: name, wait: false })
    assert.equal(started.statusCode, 202, started.body)
    const res = await postRollback(server, { appName: name })
    assert.equal(res.statusCode, 200, res.body)
    const update = (await server.inject({ method: 'GET', url: `/updates/${started.json().updateId}`, headers: bearer() })).json()
    assert.equal(update.status, 'completed', 'the update was not interrupted')
    assert.equal(digestOf(update.image), v2.digest)
    assert.equal(digestOf(res.json().previousImage), v2.digest, 'the rollback started after the update ended')
    assert.equal(digestOf(res.json().image), v1.digest)
    assert.equal(digestOf((await inspect(name)).Spec.TaskTemplate.ContainerSpec.Image), v1.digest)
  })

  test('swarm: a read token may not roll back (403, nothing changed); a deploy token may', async (t) => {
    const name = uniqueName('cu-rb-acc')
    await pushImage(name, 'latest')
    await createService(t, name, `${REGISTRY}/${name}:latest`)
    await pushImage(name, 'latest')
    const server = await app(t)
    assert.equal((await postUpdate(server, { appName: name })).statusCode, 200)
    const before = await inspect(name)
    const refused = await postRollback(server, { appName: name }, bearer(token({ access: 'read' })))
    assert.equal(refused.statusCode, 403, refused.body)
    assert.equal(refused.json().code, 'CU_ACCESS_DENIED')
    assert.equal((await inspect(name)).Version.Index, before.Version.Index)
    const done = await postRollback(server, { appName: name }, bearer(token({ access: 'deploy' })))
    assert.equal(done.statusCode, 200, done.body)
  })
})
