import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { Swarm } from '../../src/docker/swarm.ts'
import { ServiceUpdater } from '../../src/engine/updater.js'
import { createMemoryStore } from '../../src/store/memory-store.js'
import type { UpdateRecord } from '../../src/store/records.js'
import { FakeDocker, fail } from '../fake-docker.ts'
import { waitFor } from '../wait.ts'

/**
 * The edges of issue #12, one test each (they failed with the engine before the reshape): a
 * record is never credited with another update's result, timeouts count from arrival, shutdown
 * starts nothing and answers in time, Docker's odd answers get truthful statuses.
 */
const digest = (c: string) => 'sha256:' + c.repeat(64)
const IMAGE = `127.0.0.1:5000/web:latest@${digest('a')}`

function setup (options: Partial<ConstructorParameters<typeof ServiceUpdater>[0]> = {}) {
  const docker = new FakeDocker()
  docker.registry.set('127.0.0.1:5000/web:latest', digest('b'))
  docker.registry.set('127.0.0.1:5000/web:v1', digest('1'))
  docker.registry.set('127.0.0.1:5000/web:v2', digest('2'))
  const events: Array<{ id: string, status: string, event: string }> = []
  const store = createMemoryStore()
  const updater = new ServiceUpdater({
    swarm: new Swarm(docker.runner, { bin: 'docker' }),
    registryAuth: () => false,
    store,
    updateTimeoutMs: 5000,
    pollIntervalMs: 2,
    onRecord: (record, event) => events.push({ id: record.updateId, status: record.status, event }),
    ...options
  })
  return { docker, updater, events, store }
}

const updateCalls = (docker: FakeDocker) => docker.calls.filter((args) => args[1] === 'update')

const until = async (check: () => boolean, what: string): Promise<void> => waitFor(what, check, 30, 5)

test('a timed-out update is superseded by the next one, never credited with its result; each Docker update is counted once', async () => {
  const { docker, updater, events } = setup({ updateTimeoutMs: 150 })
  const web = docker.addService('web', IMAGE, { outcomes: ['never', 'completed'], pollsToFinish: 3 })
  const service = await updater.resolveService('web')
  const a = updater.submit(service, { appName: 'web', tag: 'v1' })
  const first = await a.wait()
  assert.equal(first.record.status, 'timeout', 'A is answered timeout at its deadline')
  const b = updater.submit(await updater.resolveService('web'), { appName: 'web', tag: 'v2' })
  const second = await b.wait()
  assert.equal(second.record.status, 'completed')
  assert.equal(second.record.image, `127.0.0.1:5000/web:v2@${digest('2')}`)
  const recordA = updater.getRecord(a.record.updateId)!
  assert.equal(recordA.status, 'superseded')
  assert.equal(recordA.supersededBy, b.record.updateId)
  assert.notEqual(recordA.image, second.record.image, 'A is not credited with B\'s image')
  const finals = events.filter((e) => e.event === 'final')
  assert.deepEqual(finals.map((e) => [e.id, e.status]), [[a.record.updateId, 'superseded'], [b.record.updateId, 'completed']])
  assert.equal(updateCalls(docker).length, 2)
  assert.equal(docker.updates(web.id), 2)
})

test('while a Docker update runs within its deadline, the next one waits: never two at once', async () => {
  // Every change of a record, with the Docker updates issued when it was made: B's absence is
  // proven at the moment A ends, not after a pause.
  const changes: Array<{ id: string, status: string, updates: number }> = []
  const { docker, updater } = setup({ updateTimeoutMs: 2000, onChange: (record) => changes.push({ id: record.updateId, status: record.status, updates: updateCalls(docker).length }) })
  docker.addService('web', IMAGE, { pollsToFinish: 30 })
  const service = await updater.resolveService('web')
  const a = updater.submit(service, { appName: 'web', tag: 'v1' })
  await until(() => updateCalls(docker).length === 1, 'A started')
  const b = updater.submit(service, { appName: 'web', tag: 'v2' })
  assert.deepEqual(updater.load, { running: 1, queued: 1 }, 'B queued behind A')
  assert.equal((await a.wait()).record.status, 'completed')
  const aEnded = changes.findIndex((c) => c.id === a.record.updateId && c.status === 'completed')
  assert.equal(changes[aEnded]?.updates, 1, 'B queued behind A: no second Docker update until A ended')
  assert.equal((await b.wait()).record.status, 'completed')
  assert.ok(changes.findIndex((c) => c.id === b.record.updateId && c.status === 'updating') > aEnded, 'B started after A ended')
  assert.equal(updateCalls(docker).length, 2)
})

test('UPDATE_TIMEOUT counts from the arrival, not from the start of the Docker update', async () => {
  const { docker, updater } = setup({ updateTimeoutMs: 300 })
  const web = docker.addService('web', IMAGE, { outcomes: ['never'] })
  // The request arrived 250 ms ago (it waited in the queue, say): 50 ms are left. The update is
  // made to finish 270 ms after it starts: counted from the start, the caller would hear "completed".
  const job = updater.submit(await updater.resolveService('web'), { appName: 'web' }, Date.now() - 250)
  setTimeout(() => web.outcomes.shift(), 270).unref()
  const answer = await job.wait()
  assert.equal(answer.record.status, 'timeout')
  assert.equal(docker.updates(web.id), 1)
  await until(() => updater.getRecord(job.record.updateId)?.status === 'completed', 'the record still reaches its real end')
})

test('a request that waits for a slot past its deadline is answered timeout; it never ran', async () => {
  const { docker, updater } = setup({ updateTimeoutMs: 200, maxConcurrentUpdates: 1 })
  docker.addService('busy', IMAGE, { outcomes: ['never'] })
  const web = docker.addService('web', IMAGE)
  updater.submit(await updater.resolveService('busy'), { appName: 'busy' }, Date.now() + 5000)
  await until(() => updateCalls(docker).length === 1, 'busy holds the only slot')
  const queued = updater.submit(await updater.resolveService('web'), { appName: 'web' })
  const answer = await queued.wait()
  assert.equal(answer.record.status, 'timeout')
  assert.equal(docker.updates(web.id), 0, 'web never started while the slot was taken')
  await updater.close()
})

test('shutdown: queued updates are cancelled (503), running ones answered by the grace deadline even while Docker fails, nothing new starts', async () => {
  const { docker, updater, store } = setup({ updateTimeoutMs: 60_000 })
  const web = docker.addService('web', IMAGE, { outcomes: ['never'] })
  const service = await updater.resolveService('web')
  const running = updater.submit(service, { appName: 'web' })
  await until(() => updater.getRecord(running.record.updateId)?.status === 'updating' && web.forceUpdate === 1, 'running')
  const queued = updater.submit(service, { appName: 'web', tag: 'v2' })
  // Docker now fails every call: the watch cannot read the service any more.
  for (let i = 0; i < 1000; i++) docker.failures.push({ match: () => true, failure: fail('Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?') })
  updater.beginShutdown(100)
  const q = await queued.wait()
  assert.equal(q.record.status, 'cancelled')
  assert.equal((q.error as { code?: string }).code, 'CU_SHUTTING_DOWN')
  const r = await running.wait()
  assert.equal(r.record.status, 'timeout')
  assert.match(r.record.message ?? '', /shutting down/)
  await updater.close()
  assert.equal(docker.updates(web.id), 1, 'the queued update never reached Docker')
  assert.equal(store.get(r.record.updateId)?.status, 'timeout', 'the next instance resumes it from the store')
  assert.throws(() => updater.submit(service, { appName: 'web' }), { code: 'CU_SHUTTING_DOWN' })
})

test('an ambiguous ID prefix, or a service removed before the update, is 404', async () => {
  const { docker, updater } = setup()
  docker.failures.push({ match: (args) => args.includes('ab'), failure: fail('Error response from daemon: service ab is ambiguous (2 matches found)') })
  await assert.rejects(updater.resolveService('ab'), { code: 'CU_SERVICE_NOT_FOUND', statusCode: 404 })
  const web = docker.addService('web', IMAGE)
  const service = await updater.resolveService('web')
  docker.services.delete(web.id)
  const answer = await updater.submit(service, { appName: 'web' }).wait()
  assert.equal(answer.record.status, 'failed')
  assert.equal((answer.error as { statusCode?: number }).statusCode, 404)
})

test('garbage or truncated JSON from the CLI is a 502 naming the command, never a parser message', async () => {
  const { docker } = setup()
  docker.addService('web', IMAGE)
  const badRunner = docker.runner
  docker.runner = async (args, options) => {
    if (args[0] === 'info' || (args[1] === 'inspect' && args.includes('web'))) return '[{"ID": "abc", "Spec": {'
    return badRunner(args, options)
  }
  const swarm = new Swarm(docker.runner, { bin: 'docker' })
  const u2 = new ServiceUpdater({ swarm, registryAuth: () => false, store: createMemoryStore(), updateTimeoutMs: 1000 })
  await assert.rejects(u2.resolveService('web'), (error: Error & { code?: string, statusCode?: number }) =>
    error.code === 'CU_DOCKER_FAILED' && error.statusCode === 502 && /unreadable answer from docker service inspect/.test(error.message) && !/JSON|position/i.test(error.message))
  await assert.rejects(u2.checkReady(), (error: Error & { code?: string }) => error.code === 'CU_DOCKER_FAILED' && !/JSON|position/i.test(error.message))
})

test('garbage on every poll: the caller hears timeout at its deadline, not a 500', async () => {
  const { docker, updater } = setup({ updateTimeoutMs: 150 })
  const web = docker.addService('web', IMAGE, { outcomes: ['never'] })
  const service = await updater.resolveService('web')
  await updater.close()
  const inner = docker.runner
  docker.runner = async (args, options) => {
    if (args[1] === 'inspect' && docker.updates(web.id) > 0) return 'not json'
    return inner(args, options)
  }
  const swarm = new Swarm(docker.runner, { bin: 'docker' })
  const u = new ServiceUpdater({ swarm, registryAuth: () => false, store: createMemoryStore(), updateTimeoutMs: 150, pollIntervalMs: 5 })
  const answer = await u.submit(service, { appName: 'web' }).wait()
  assert.equal(answer.record.status, 'timeout')
  assert.equal(answer.error, undefined)
  await u.close()
})

test('a service removed while its update is watched fails at once, not at the deadline', async () => {
  const { docker, updater } = setup({ updateTimeoutMs: 60_000 })
  const web = docker.addService('web', IMAGE, { outcomes: ['never'] })
  const job = updater.submit(await updater.resolveService('web'), { appName: 'web' })
  await until(() => web.forceUpdate === 1, 'started')
  docker.services.delete(web.id)
  const answer = await job.wait()
  assert.equal(answer.record.status, 'failed')
  assert.match(answer.record.message ?? '', /removed/)
  assert.equal((answer.error as { statusCode?: number }).statusCode, 404)
})

test('an update call killed at its timeout after it reached Swarm: the service is read again, and the update is followed to its end', async () => {
  const { docker, updater } = setup()
  const web = docker.addService('web', IMAGE)
  docker.failures.push({ match: (args) => args[1] === 'update', failure: { timedOut: true, exitCode: null, stderr: '' }, after: true })
  const answer = await updater.submit(await updater.resolveService('web'), { appName: 'web' }).wait()
  assert.equal(answer.record.status, 'completed')
  assert.equal(answer.record.image, `127.0.0.1:5000/web:latest@${digest('b')}`)
  assert.equal(web.forceUpdate, 1, 'not retried: it had reached Swarm')
})

test('an update call killed before it reached Swarm: 504 with its error, record failed', async () => {
  const { docker, updater } = setup()
  docker.addService('web', IMAGE)
  docker.failures.push({ match: (args) => args[1] === 'update', failure: { timedOut: true, exitCode: null, stderr: '' } })
  const answer = await updater.submit(await updater.resolveService('web'), { appName: 'web' }).wait()
  assert.equal(answer.record.status, 'failed')
  assert.equal((answer.error as { statusCode?: number }).statusCode, 504)
})

test('the registry down: Docker\'s "could not pin digest" warning reaches the record as a field and in the message', async () => {
  const { docker, updater } = setup()
  docker.addService('web', IMAGE)
  docker.updateWarning = 'image 127.0.0.1:5000/web:latest could not be accessed on a registry to record\nits digest. Each node will access 127.0.0.1:5000/web:latest independently,\npossibly leading to different nodes running different\nversions of the image.\n'
  const answer = await updater.submit(await updater.resolveService('web'), { appName: 'web' }).wait()
  assert.equal(answer.record.status, 'completed')
  assert.equal(answer.record.image, '127.0.0.1:5000/web:latest', 'the spec is unpinned')
  assert.match(answer.record.warning ?? '', /could not be accessed on a registry to record its digest\. Each node/, 'the whole warning, on one line')
  assert.match(answer.record.message ?? '', /warning: .*could not be accessed/)
})

test('a restarted updater resumes what the earlier process left: running updates to their end, queued ones cancelled', async () => {
  const { docker, updater, store } = setup()
  const web = docker.addService('web', IMAGE, { pollsToFinish: 3 })
  // The earlier process: its update reached Swarm, then it died (only the store survives).
  const before = await updater.resolveService('web')
  await docker.runner(['service', 'update', '--detach', '--force', '--image', '127.0.0.1:5000/web:latest', '--', web.id])
  const base: UpdateRecord & { serviceId: string, baseVersion: number } = {
    updateId: '00000000-0000-4000-8000-000000000001',
    appName: 'web',
    service: 'web',
    serviceId: web.id,
    status: 'updating',
    previousImage: IMAGE,
    image: null,
    startedAt: new Date().toISOString(),
    finishedAt: null,
    durationMs: null,
    statusUrl: '/updates/00000000-0000-4000-8000-000000000001',
    baseVersion: before.version
  }
  store.save(base)
  store.save({ ...base, updateId: '00000000-0000-4000-8000-000000000002', statusUrl: '/updates/00000000-0000-4000-8000-000000000002', status: 'queued' })
  store.save({ ...base, updateId: '00000000-0000-4000-8000-000000000003', statusUrl: '/updates/00000000-0000-4000-8000-000000000003', baseVersion: web.version + 5 })
  const next = new ServiceUpdater({ swarm: new Swarm(docker.runner, { bin: 'docker' }), registryAuth: () => false, store, updateTimeoutMs: 5000, pollIntervalMs: 2 })
  assert.equal(next.resume(), 2)
  assert.equal(store.get(base.updateId.replace(/1$/, '2'))?.status, 'cancelled')
  await until(() => store.get(base.updateId)?.status === 'completed', 'the resumed update completes')
  assert.equal(store.get(base.updateId)?.image, `127.0.0.1:5000/web:latest@${digest('b')}`)
  await until(() => store.get(base.updateId.replace(/1$/, '3'))?.status === 'failed', 'an update that never reached Swarm')
  assert.match(store.get(base.updateId.replace(/1$/, '3'))?.message ?? '', /before Docker accepted/)
  await next.close()
})

test('the updater\'s own service: answered at once, and left for the next instance on shutdown', async () => {
  const docker = new FakeDocker()
  const self = docker.addService('updater', IMAGE, { outcomes: ['never'] })
  const store = createMemoryStore()
  const updater = new ServiceUpdater({ swarm: new Swarm(docker.runner, { bin: 'docker' }), registryAuth: () => false, store, updateTimeoutMs: 5000, pollIntervalMs: 2, selfServiceId: self.id })
  const service = await updater.resolveService('updater')
  assert.equal(updater.isSelf(service), true)
  const job = updater.submit(service, { appName: 'updater' })
  assert.match(job.record.message ?? '', /instance that takes over/)
  await until(() => self.forceUpdate === 1, 'started')
  updater.beginShutdown(10)
  // A caller waiting for it is answered at the shutdown deadline: the record stays as it is.
  assert.equal((await job.wait()).record.status, 'updating', 'past the shutdown deadline, not timed out')
  await updater.close()
  assert.equal(store.get(job.record.updateId)?.status, 'updating', 'still running in Swarm: the successor settles it')
})

test('a timed-out update whose service update call is still in flight keeps its lane until the call returns', async () => {
  const { docker } = setup()
  const web = docker.addService('web', IMAGE, { pollsToFinish: 2 })
  const order: string[] = []
  const inner = docker.runner
  docker.runner = async (args, options) => {
    if (args[1] === 'update') {
      const tag = args[args.indexOf('--image') + 1]!.split(':').at(-1)!
      order.push(`start ${tag}`)
      if (tag === 'v1') await sleep(300) // Docker takes its time; the caller's deadline passes
      const out = await inner(args, options)
      order.push(`end ${tag}`)
      return out
    }
    return inner(args, options)
  }
  const updater = new ServiceUpdater({ swarm: new Swarm(docker.runner, { bin: 'docker' }), registryAuth: () => false, store: createMemoryStore(), updateTimeoutMs: 100, pollIntervalMs: 2 })
  const service = await updater.resolveService('web')
  const a = updater.submit(service, { appName: 'web', tag: 'v1' })
  assert.equal((await a.wait()).record.status, 'timeout')
  const b = updater.submit(service, { appName: 'web', tag: 'v2' }, Date.now() + 5000)
  const answer = await b.wait()
  assert.deepEqual(order, ['start v1', 'end v1', 'start v2', 'end v2'], 'never two writes at once')
  assert.equal(answer.record.status, 'completed')
  assert.equal(answer.record.image, `127.0.0.1:5000/web:v2@${digest('2')}`, 'B is credited with its own write')
  assert.equal(updater.getRecord(a.record.updateId)?.status, 'superseded')
  assert.equal(web.forceUpdate, 2)
  await updater.close()
})
