import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { Swarm } from '../../src/docker/swarm.ts'
import { ServiceUpdater, type Answer } from '../../src/engine/updater.js'
import { createMemoryStore } from '../../src/store/memory-store.js'
import type { UpdateRecord } from '../../src/store/records.js'
import { FakeDocker, fail } from '../fake-docker.ts'

const digest = (c: string) => 'sha256:' + c.repeat(64)
const IMAGE = `127.0.0.1:5000/web:latest@${digest('a')}`

export function setup (options: Partial<ConstructorParameters<typeof ServiceUpdater>[0]> = {}) {
  const docker = new FakeDocker()
  docker.registry.set('127.0.0.1:5000/web:latest', digest('b'))
  const settled: UpdateRecord[] = []
  const updater = new ServiceUpdater({
    swarm: new Swarm(docker.runner, { bin: 'docker' }),
    registryAuth: () => false,
    store: createMemoryStore(),
    updateTimeoutMs: 5000,
    pollIntervalMs: 1,
    onRecord: (record) => settled.push(record),
    ...options
  })
  return { docker, updater, settled }
}

/** The record of a waited request, or its domain error thrown (as the route answers it). */
async function result (job: { wait: () => Promise<Answer> }): Promise<UpdateRecord> {
  const { record, error } = await job.wait()
  if (error !== undefined) throw error
  return record
}

test('resolves the exact name, then <app>_<app>, never an ID prefix or a name prefix', async () => {
  const { docker, updater } = setup()
  const web = docker.addService('web', IMAGE)
  const stack = docker.addService('shop_shop', IMAGE)
  assert.equal((await updater.resolveService('web')).id, web.id)
  assert.equal((await updater.resolveService('shop')).id, stack.id)
  await assert.rejects(updater.resolveService(web.id.slice(0, 6)), { code: 'CU_SERVICE_NOT_FOUND', statusCode: 404 })
  await assert.rejects(updater.resolveService('we'), { code: 'CU_SERVICE_NOT_FOUND' })
  await assert.rejects(updater.resolveService('-web'), { code: 'CU_INVALID_SERVICE_NAME', statusCode: 400 })
  assert.throws(() => updater.submit(web as never, { appName: 'web', tag: '-x' }), { code: 'CU_INVALID_TAG', statusCode: 400 })
  assert.equal(docker.calls.some((args) => args.includes('-web')), false, 'an invalid name never reaches Docker')
})

test('an update rolls onto the tag without its digest and reads the result from UpdateStatus', async () => {
  const { docker, updater, settled } = setup()
  const web = docker.addService('web', IMAGE)
  const service = await updater.resolveService('web')
  const record = await result(updater.submit(service, { appName: 'web' }))
  const update = docker.calls.find((args) => args[1] === 'update')
  assert.deepEqual(update, ['service', 'update', '--detach', '--force', '--image', '127.0.0.1:5000/web:latest', '--', web.id])
  const beforeUpdate = docker.calls.slice(0, docker.calls.indexOf(update!))
  assert.equal(beforeUpdate.filter((args) => args[1] === 'inspect').length, 1, 'the request path reads the service once')
  assert.equal(record.status, 'completed')
  assert.equal(record.previousImage, IMAGE)
  assert.equal(record.image, `127.0.0.1:5000/web:latest@${digest('b')}`)
  assert.equal(settled.length, 1)
  assert.ok(record.durationMs !== null && record.durationMs >= 0)
})

test('a requested tag and registry credentials change the command', async () => {
  const { docker, updater } = setup({ registryAuth: (image) => image.startsWith('127.0.0.1:5000/') })
  docker.addService('web', IMAGE)
  await result(updater.submit(await updater.resolveService('web'), { appName: 'web', tag: 'v2' }))
  const update = docker.calls.find((args) => args[1] === 'update')!
  assert.equal(update[update.indexOf('--image') + 1], '127.0.0.1:5000/web:v2')
  assert.ok(update.includes('--with-registry-auth'))
})

test('rolled back and paused updates carry the task error', async () => {
  const { docker, updater } = setup()
  const web = docker.addService('web', IMAGE, { outcomes: ['rollback_completed', 'paused'], taskError: 'task: non-zero exit (3)' })
  const service = await updater.resolveService('web')
  const rolledBack = await result(updater.submit(service, { appName: 'web' }))
  assert.equal(rolledBack.status, 'rolled_back')
  assert.equal(rolledBack.message, 'rollback completed: task: non-zero exit (3)')
  assert.equal(rolledBack.image, IMAGE, 'the spec is back on the old digest')
  const paused = await result(updater.submit(service, { appName: 'web' }))
  assert.equal(paused.status, 'paused')
  assert.match(paused.message ?? '', /paused.*non-zero exit \(3\)/)
  assert.equal(docker.updates(web.id), 2)
})

test('requests arriving during an update join the single next update and all get its result', async () => {
  const { docker, updater } = setup()
  const web = docker.addService('web', IMAGE, { pollsToFinish: 20 })
  const service = await updater.resolveService('web')
  const first = updater.submit(service, { appName: 'web' })
  await sleep(5) // the first update is running now
  const followers = Array.from({ length: 10 }, () => updater.submit(service, { appName: 'web' }))
  assert.equal(new Set(followers.map((f) => f.record.updateId)).size, 1, 'followers share one update')
  assert.notEqual(followers[0]!.record.updateId, first.record.updateId)
  assert.deepEqual(updater.load, { running: 1, queued: 1 })
  const results = await Promise.all([result(first), ...followers.map((f) => result(f))])
  assert.ok(results.every((r) => r.status === 'completed'))
  assert.equal(docker.updates(web.id), 2, 'eleven requests, two Docker updates')
  assert.equal(results[1]!.previousImage, results[0]!.image, 'the queued update read the service again when its turn came')
  assert.equal(web.forceUpdate, 2)
  assert.deepEqual(updater.load, { running: 0, queued: 0 })
})

test('requests for different tags keep their order and do not merge', async () => {
  const { docker, updater } = setup()
  const web = docker.addService('web', IMAGE, { pollsToFinish: 5 })
  const service = await updater.resolveService('web')
  const a = updater.submit(service, { appName: 'web' })
  await sleep(2)
  const b = updater.submit(service, { appName: 'web', tag: 'v2' })
  const c = updater.submit(service, { appName: 'web', tag: 'v3' })
  const d = updater.submit(service, { appName: 'web', tag: 'v3' })
  assert.equal(c.record.updateId, d.record.updateId)
  await Promise.all([result(a), result(b), result(c)])
  const images = docker.calls.filter((args) => args[1] === 'update').map((args) => args[args.indexOf('--image') + 1])
  assert.deepEqual(images, ['127.0.0.1:5000/web:latest', '127.0.0.1:5000/web:v2', '127.0.0.1:5000/web:v3'])
  assert.equal(docker.updates(web.id), 3)
})

test('different services update in parallel, within the global cap', async () => {
  const { docker, updater } = setup({ maxConcurrentUpdates: 2 })
  const services = await Promise.all(['a', 'b', 'c', 'd'].map(async (name) => {
    docker.addService(name, IMAGE, { pollsToFinish: 10 })
    return updater.resolveService(name)
  }))
  const jobs = services.map((s) => updater.submit(s, { appName: s.name }))
  await sleep(5)
  assert.deepEqual(updater.load, { running: 2, queued: 2 })
  const records = await Promise.all(jobs.map((j) => result(j)))
  assert.ok(records.every((r) => r.status === 'completed'))
  assert.ok(docker.calls.some((args) => args[1] === 'inspect' && args.length === 5), 'running updates are read in one Docker call')
})

test('a service removed while it updates fails its own update only', async () => {
  const { docker, updater } = setup()
  const [a, b] = await Promise.all(['a', 'b'].map(async (name) => {
    docker.addService(name, IMAGE, { pollsToFinish: 10 })
    return updater.resolveService(name)
  }))
  const jobA = updater.submit(a!, { appName: 'a' })
  const jobB = updater.submit(b!, { appName: 'b' })
  await sleep(5)
  docker.services.delete(a!.id)
  await assert.rejects(result(jobA), { code: 'CU_SERVICE_NOT_FOUND' })
  assert.equal((await result(jobB)).status, 'completed')
})

test('"update out of sequence" is retried after re-reading the service', async () => {
  const { docker, updater } = setup()
  const web = docker.addService('web', IMAGE)
  const outOfSequence = { match: (args: readonly string[]) => args[1] === 'update', failure: fail('Error response from daemon: rpc error: code = Unknown desc = update out of sequence') }
  docker.failures.push(outOfSequence, { ...outOfSequence })
  const record = await result(updater.submit(await updater.resolveService('web'), { appName: 'web' }))
  assert.equal(record.status, 'completed')
  assert.equal(docker.updates(web.id), 3)
})

test('a Docker error reaches every request merged into the update, and the next update still runs', async () => {
  const { docker, updater } = setup()
  const web = docker.addService('web', IMAGE, { pollsToFinish: 5 })
  const service = await updater.resolveService('web')
  const first = updater.submit(service, { appName: 'web' })
  await sleep(2)
  docker.failures.push({ match: (args) => args[1] === 'update', failure: fail('Error response from daemon: no space left on device') })
  const merged = [updater.submit(service, { appName: 'web' }), updater.submit(service, { appName: 'web' })]
  assert.equal((await result(first)).status, 'completed')
  for (const job of merged) await assert.rejects(result(job), { code: 'CU_DOCKER_FAILED', message: 'Docker failed: no space left on device' })
  assert.equal(updater.getRecord(merged[0]!.record.updateId)?.status, 'failed')
  assert.equal((await result(updater.submit(service, { appName: 'web' }))).status, 'completed')
  assert.equal(docker.updates(web.id), 3)
})

test('a service pinned by digest alone needs a tag', async () => {
  const { docker, updater } = setup()
  docker.addService('web', `127.0.0.1:5000/web@${digest('a')}`)
  const service = await updater.resolveService('web')
  await assert.rejects(result(updater.submit(service, { appName: 'web' })), { code: 'CU_IMAGE_PINNED_BY_DIGEST', statusCode: 400 })
  assert.equal((await result(updater.submit(service, { appName: 'web', tag: 'v1' }))).status, 'completed')
})

test('past the timeout the caller hears "timeout"; the record reaches the final state later', async () => {
  const { docker, updater, settled } = setup({ updateTimeoutMs: 50, pollIntervalMs: 10 })
  docker.addService('web', IMAGE, { pollsToFinish: 15 })
  const service = await updater.resolveService('web')
  const record = await result(updater.submit(service, { appName: 'web' }))
  assert.equal(record.status, 'timeout')
  assert.match(record.message ?? '', /not converged/)
  for (let i = 0; i < 200 && updater.getRecord(record.updateId)?.status === 'timeout'; i++) await sleep(10)
  assert.equal(updater.getRecord(record.updateId)?.status, 'completed')
  assert.deepEqual(settled.map((r) => r.status), ['timeout', 'completed'])
})

test('without an UpdateStatus (reset by another client, or no replicas) the tasks tell the end', async () => {
  const { docker, updater } = setup()
  const empty = docker.addService('empty', IMAGE, { outcomes: ['reset'], replicas: 0 })
  const record = await result(updater.submit(await updater.resolveService('empty'), { appName: 'empty' }))
  assert.equal(record.status, 'completed')
  assert.equal(docker.updates(empty.id), 1)

  const web = docker.addService('web', IMAGE, { outcomes: ['reset'], replicas: 2, tasksRunning: false })
  const job = updater.submit(await updater.resolveService('web'), { appName: 'web' })
  await sleep(30)
  assert.equal(updater.getRecord(job.record.updateId)?.status, 'updating', 'tasks still starting: not done')
  web.tasksRunning = true
  const done = await result(job)
  assert.equal(done.status, 'completed')
  assert.equal(done.image, `127.0.0.1:5000/web:latest@${digest('b')}`)
  assert.ok(docker.calls.some((args) => args[0] === 'inspect' && args.length === 6), 'both tasks inspected')
})

test('the memory store is bounded and close() refuses new updates', async () => {
  const { docker, updater } = setup({ store: createMemoryStore(2) })
  docker.addService('web', IMAGE)
  const service = await updater.resolveService('web')
  const ids: string[] = []
  for (let i = 0; i < 3; i++) {
    const job = updater.submit(service, { appName: 'web' })
    ids.push(job.record.updateId)
    await result(job)
  }
  assert.equal(updater.getRecord(ids[0]!), undefined)
  assert.equal(updater.getRecord(ids[2]!)?.status, 'completed')
  await updater.close()
  assert.throws(() => updater.submit(service, { appName: 'web' }), { code: 'CU_SHUTTING_DOWN', statusCode: 503 })
})

test('readiness: a node that is not a Swarm manager is told apart', async () => {
  const { docker, updater } = setup()
  await updater.checkReady()
  docker.swarm = { LocalNodeState: 'inactive', ControlAvailable: false }
  await assert.rejects(updater.checkReady(), { code: 'CU_NOT_SWARM_MANAGER', statusCode: 503 })
})

test('an update writes its record once per change: queued, updating with its base version, the end', async () => {
  const store = createMemoryStore()
  const saved: string[] = []
  const save = store.save.bind(store)
  store.save = (record) => { saved.push(`${record.status}${record.baseVersion !== undefined ? '+base' : ''}${record.warning !== undefined ? '+warning' : ''}`); save(record) }
  const { docker, updater } = setup({ store })
  docker.addService('web', IMAGE)
  assert.equal((await result(updater.submit(await updater.resolveService('web'), { appName: 'web' }))).status, 'completed')
  assert.deepEqual(saved, ['queued', 'updating+base', 'completed+base'])
  // Docker's warning (an image it could not pin) is written as soon as it is known.
  saved.length = 0
  docker.updateWarning = 'image 127.0.0.1:5000/web:latest could not be accessed on a registry to record its digest.'
  const warned = await result(updater.submit(await updater.resolveService('web'), { appName: 'web' }))
  assert.ok(warned.warning !== undefined)
  assert.deepEqual(saved, ['queued', 'updating+base', 'updating+base+warning', `${warned.status}+base+warning`])
})
