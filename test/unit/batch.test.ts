import { test } from 'node:test'
import assert from 'node:assert/strict'
import { submitBatch } from '../../src/engine/batch.js'
import { createMemoryStore } from '../../src/store/memory-store.js'
import { Swarm } from '../../src/docker/swarm.ts'
import { ServiceUpdater } from '../../src/engine/updater.js'
import { FakeDocker } from '../fake-docker.ts'

const IMAGE = `127.0.0.1:5000/web:latest@sha256:${'a'.repeat(64)}`

test('a batch keeps the updates it queued when a later one is refused; refused entirely, nothing is stored', async () => {
  const store = createMemoryStore()
  const save = store.save.bind(store)
  let failNext = false
  store.save = (record) => {
    if (failNext && record.service === 'api') throw Object.assign(new Error('the record store is unavailable: disk full'), { statusCode: 503, code: 'CU_STORE_UNAVAILABLE' })
    save(record)
  }
  const docker = new FakeDocker()
  const updater = new ServiceUpdater({ swarm: new Swarm(docker.runner, { bin: 'docker' }), registryAuth: () => false, store, updateTimeoutMs: 5000, pollIntervalMs: 1 })
  docker.addService('web', IMAGE)
  docker.addService('api', IMAGE.replace('/web:', '/api:'))
  const services = [await updater.resolveService('web'), await updater.resolveService('api')]
  failNext = true
  const { batch, jobs } = submitBatch(updater, services, { target: { stack: 'shop' }, tag: undefined, requestedBy: 'ci', skipped: [] })
  assert.equal(jobs.length, 1)
  assert.deepEqual(batch.updateIds, [jobs[0]!.record.updateId])
  assert.deepEqual(batch.skipped, [{ service: 'api', reason: 'the record store is unavailable: disk full' }])
  assert.deepEqual(store.getBatch(batch.batchId)?.updateIds, batch.updateIds, 'the batch is stored: its statusUrl answers')
  assert.equal((await jobs[0]!.wait()).record.batchId, batch.batchId)

  // Nothing queued at all (an invalid tag refuses every service): the refusal is thrown, no batch stored.
  assert.throws(() => submitBatch(updater, services, { target: { stack: 'shop' }, tag: '-bad', requestedBy: 'ci', skipped: [] }), { code: 'CU_INVALID_TAG' })
})
