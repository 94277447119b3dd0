import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { bearer, build, postUpdate } from '../helper.ts'
import { APP_HTTP_PORT } from '../app-image.ts'
import { REGISTRY, createService, digestOf, freePort, inspect, pushImage, swarmSkip, uniqueName } from '../swarm-fixtures.ts'
import type { UpdateRecord } from '../../src/store/records.ts'

/** The post-rollout check (docs/API.md, "Post-rollout check") against the real Swarm. */
describe('swarm: post-rollout check', { skip: swarmSkip, concurrency: true }, () => {
  /** The app, and every state its records went through (as announced to GET /events). */
  async function app (t: Parameters<typeof build>[0]): Promise<{ server: FastifyInstance, seen: UpdateRecord[] }> {
    const server = await build(t, { POLL_INTERVAL_MS: '200', UPDATE_TIMEOUT: '120' })
    const seen: UpdateRecord[] = []
    const publish = server.recordStream.publish.bind(server.recordStream)
    server.recordStream.publish = (record) => { seen.push(structuredClone(record)); publish(record) }
    return { server, seen }
  }

  /** A service serving `kind` on a host-mode published port, with a short check on it. */
  async function checkedService (t: Parameters<typeof build>[0], prefix: string) {
    const name = uniqueName(prefix)
    const port = await freePort()
    const v1 = await pushImage(name, 'latest', 'http-200')
    await createService(t, name, `${REGISTRY}/${name}:latest`, [
      '--publish', `mode=host,target=${APP_HTTP_PORT},published=${port}`,
      '--label', `container-updater.check.url=http://127.0.0.1:${port}/cgi-bin/status`,
      '--label', 'container-updater.check.for=4s',
      '--label', 'container-updater.check.interval=1s',
      '--label', 'container-updater.check.timeout=2s'
    ])
    return { name, port, v1 }
  }

  test('swarm: a new image that answers 500 is rolled back by the updater although Swarm completed it; the record says why', async (t) => {
    const { name, port, v1 } = await checkedService(t, 'cu-check-bad')
    assert.equal((await fetch(`http://127.0.0.1:${port}/cgi-bin/status`)).status, 200, 'the old image answers 200')
    const v2 = await pushImage(name, 'latest', 'http-500')
    const { server, seen } = await app(t)
    const res = await postUpdate(server, { appName: name })
    assert.equal(res.statusCode, 409, res.body)
    const record = res.json<UpdateRecord>()
    assert.equal(record.status, 'rolled_back')
    assert.match(record.message!, /^post-rollout check failed: the check URL answered 500 \(expected 200-399\)/)
    assert.equal(digestOf(record.previousImage!), v1.digest)
    assert.equal(digestOf(record.image!), v1.digest)
    // Swarm itself saw the new tasks healthy: the record was verifying (Swarm completed onto v2) before the rollback.
    const states = seen.filter((r) => r.updateId === record.updateId).map((r) => r.status)
    assert.deepEqual(states.slice(-2), ['verifying', 'rolled_back'], states.join(' → '))
    const service = await inspect(name)
    assert.equal(service.UpdateStatus?.State, 'rollback_completed', 'the updater asked Swarm to roll back')
    assert.equal(digestOf(service.Spec.TaskTemplate.ContainerSpec.Image), v1.digest)
    assert.notEqual(v2.digest, v1.digest)
    const stored = await server.inject({ method: 'GET', url: `/updates/${record.updateId}`, headers: bearer() })
    assert.deepEqual(stored.json(), record)
  })

  test('swarm: a new image that keeps answering 200 completes after check.for', async (t) => {
    const { name, v1 } = await checkedService(t, 'cu-check-good')
    const v2 = await pushImage(name, 'latest', 'http-200')
    const { server, seen } = await app(t)
    const res = await postUpdate(server, { appName: name })
    assert.equal(res.statusCode, 200, res.body)
    const record = res.json<UpdateRecord>()
    assert.equal(record.status, 'completed')
    assert.match(record.message!, /post-rollout check passed for 4 s/)
    assert.equal(digestOf(record.previousImage!), v1.digest)
    assert.equal(digestOf(record.image!), v2.digest)
    const states = seen.filter((r) => r.updateId === record.updateId).map((r) => r.status)
    assert.deepEqual(states.slice(-2), ['verifying', 'completed'], states.join(' → '))
    assert.equal(digestOf((await inspect(name)).Spec.TaskTemplate.ContainerSpec.Image), v2.digest)
  })
})
