import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { bearer, build, postUpdate } from '../helper.ts'
import { APP_HTTP_PORT } from '../app-image.ts'
import { REGISTRY, createService, digestOf, freePort, inspect, pushImage, swarmSkip, uniqueName, until } from '../swarm-fixtures.ts'
import type { UpdateRecord } from '../../src/store/records.ts'

/** The post-rollout check (docs/API.md, "Post-rollout check") against the real Swarm. */
describe('swarm: post-rollout check', { skip: swarmSkip, concurrency: true }, () => {
  /** The app, and every state its records went through (as announced to GET /events). */
  async function app (t: Parameters<typeof build>[0], updateTimeout = '120'): Promise<{ server: FastifyInstance, seen: UpdateRecord[] }> {
    const server = await build(t, { POLL_INTERVAL_MS: '200', UPDATE_TIMEOUT: updateTimeout })
    const seen: UpdateRecord[] = []
    const publish = server.recordStream.publish.bind(server.recordStream)
    server.recordStream.publish = (record) => { seen.push(structuredClone(record)); publish(record) }
    return { server, seen }
  }

  /** A service serving `kind` on a host-mode published port, with a short check on it. */
  async function checkedService (t: Parameters<typeof build>[0], prefix: string, checkFor = '4s') {
    const name = uniqueName(prefix)
    const port = await freePort()
    const v1 = await pushImage(name, 'latest', 'http-200')
    await createService(t, name, `${REGISTRY}/${name}:latest`, [
      '--publish', `mode=host,target=${APP_HTTP_PORT},published=${port}`,
      '--label', `container-updater.check.url=http://127.0.0.1:${port}/cgi-bin/status`,
      '--label', `container-updater.check.for=${checkFor}`,
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
  test('swarm: the check holds its lane past UPDATE_TIMEOUT: a request arriving meanwhile queues behind it, and the checked update still ends completed', async (t) => {
    const { name } = await checkedService(t, 'cu-check-lane', '20s')
    const v2 = await pushImage(name, 'latest', 'http-200')
    const { server, seen } = await app(t, '2')
    const statesOf = (id: string): string[] => seen.filter((r) => r.updateId === id).map((r) => r.status)
    const first = await postUpdate(server, { appName: name, wait: false })
    assert.equal(first.statusCode, 202, first.body)
    const id = first.json<UpdateRecord>().updateId
    // The caller's deadline (2 s) passed and the 20 s check runs (in either order).
    await until('the check running past the deadline', () => statesOf(id).includes('verifying') && statesOf(id).includes('timeout') && seen.at(-1)?.updateId === id ? true : undefined)
    const v3 = await pushImage(name, 'latest', 'http-200')
    const second = await postUpdate(server, { appName: name, wait: false })
    assert.equal(second.statusCode, 202, second.body)
    const next = second.json<UpdateRecord>()
    assert.equal(next.status, 'queued', 'it waits behind the check')
    const final = ['completed', 'rolled_back', 'paused', 'failed', 'superseded', 'cancelled']
    const ended = await until('the checked update final', () => seen.find((r) => r.updateId === id && final.includes(r.status)), 120_000)
    assert.equal(ended.status, 'completed', JSON.stringify(ended))
    assert.match(ended.message!, /post-rollout check passed for 20 s/)
    assert.equal(digestOf(ended.image!), v2.digest)
    // Only then did the next one start, and it rolls onto the newer image.
    const after = await until('the next update final', () => seen.find((r) => r.updateId === next.updateId && final.includes(r.status)), 120_000)
    assert.equal(after.status, 'completed', JSON.stringify(after))
    assert.equal(digestOf(after.image!), v3.digest)
    assert.ok(seen.findIndex((r) => r.updateId === next.updateId && r.status === 'updating') > seen.indexOf(ended))
  })
})
