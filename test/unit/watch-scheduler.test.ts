import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import type { ServiceState } from '../../src/docker/swarm.ts'
import { openSqliteStore } from '../../src/store/sqlite-store.ts'
import { RegistryBudget, RequestLimiter } from '../../src/watch/budget.ts'
import { jitterOf, WatchScheduler } from '../../src/watch/scheduler.ts'
import { openWatchStore } from '../../src/watch/watch-store.ts'
import { tempDir } from './store-fixtures.ts'

const digest = 'sha256:' + 'a'.repeat(64)
const svc = (n: number, schedule?: string): ServiceState => ({
  id: `id${n}`,
  name: `svc${n}`,
  version: 1,
  image: `127.0.0.1:5000/app:1@${digest}`,
  forceUpdate: 0,
  labels: { 'container-updater.watch': 'true', ...(schedule !== undefined && { 'container-updater.schedule': schedule }) }
})

function rig (t: TestContext, services: ServiceState[]) {
  const records = openSqliteStore({ dataDir: tempDir(t) })
  const store = openWatchStore(records.file)
  t.after(() => { store.close(); records.close() })
  let now = 10_000_000
  const counts = { listings: 0, heads: 0 }
  const scheduler = new WatchScheduler({
    store,
    budget: new RegistryBudget({ maxBackoffMs: 3_600_000 }),
    limiter: new RequestLimiter(4),
    checkDigest: async () => { counts.heads++; return { digest, budget: {} } },
    listTags: async () => ({ tags: [], budget: {}, requests: 1 }),
    submit: () => undefined,
    notifyAvailable: () => {},
    defaultScheduleMs: 3_600_000,
    listServices: async () => { counts.listings++; return services },
    now: () => now
  })
  return { scheduler, store, counts, advance: (ms: number) => { now += ms }, now: () => now }
}

test('no burst at start: first checks are spread over the interval by a stable jitter', async (t) => {
  const services = Array.from({ length: 50 }, (_, i) => svc(i))
  const { scheduler, counts, advance } = rig(t, services)
  await scheduler.tick()
  const first = counts.heads
  assert.ok(first < 10, `at most a few of 50 services are due at once (${first})`)
  assert.equal(counts.listings, 1)
  advance(3_600_000)
  await scheduler.tick()
  assert.equal(counts.listings, 2, 'one listing per tick, whatever the number of services')
  assert.equal(scheduler.views().length, 50, 'all checked within one interval')
  assert.equal(jitterOf('id1', 3_600_000), jitterOf('id1', 3_600_000))
  assert.ok(jitterOf('id1', 3_600_000) < 3_600_000)
})

test('schedules resume from the stored last check after a restart', async (t) => {
  const { scheduler, store, counts, now, advance } = rig(t, [svc(1, '15m')])
  store.saveCheck({ serviceId: 'id1', service: 'svc1', lastCheckedMs: now() - 10 * 60_000, state: 'up_to_date', message: null, notified: null })
  assert.equal(scheduler.dueAt(svc(1, '15m')), now() + 5 * 60_000)
  await scheduler.tick()
  assert.equal(counts.heads, 0, 'not due yet: no check at start')
  advance(5 * 60_000)
  await scheduler.tick()
  assert.equal(counts.heads, 1)
  assert.equal(store.getCheck('id1')?.lastCheckedMs, now())
  assert.equal(scheduler.views()[0]?.nextCheckAt, now() + 15 * 60_000)
})

test('check now: the named service, or all, at the next tick', async (t) => {
  const { scheduler, store, counts, now } = rig(t, [svc(1), svc(2)])
  for (const id of ['id1', 'id2']) store.saveCheck({ serviceId: id, service: id, lastCheckedMs: now(), state: 'up_to_date', message: null, notified: null })
  scheduler.checkNow(['id1'])
  await scheduler.tick()
  assert.equal(counts.heads, 1)
  // The other one is listed with its stored state and its next check.
  assert.deepEqual(scheduler.views().map((v) => [v.serviceId, v.state, v.nextCheckAt]).sort(), [['id1', 'up_to_date', now() + 3_600_000], ['id2', 'up_to_date', now() + 3_600_000]])
  scheduler.checkNow()
  await scheduler.tick()
  // Two services on one repo:tag: one HEAD for both.
  assert.equal(counts.heads, 2)
  assert.equal(scheduler.views().length, 2)
})

test('a service created or relabelled after start is checked at the next listing; one removed is dropped', async (t) => {
  const services = [svc(1)]
  const { scheduler, store, counts, now } = rig(t, services)
  store.saveCheck({ serviceId: 'id1', service: 'svc1', lastCheckedMs: now(), state: 'up_to_date', message: null, notified: null })
  await scheduler.tick()
  assert.equal(counts.heads, 0, 'not due')
  services.push({ ...svc(2), image: '127.0.0.1:5000/other:1@' + digest })
  await scheduler.tick()
  assert.equal(counts.heads, 1, 'the new service is checked at once')
  services[0] = { ...svc(1), labels: { ...svc(1).labels, 'container-updater.policy': 'semver:minor' } }
  await scheduler.tick()
  assert.equal(counts.heads, 2, 'the relabelled service is checked at once')
  assert.equal(scheduler.views().find((v) => v.serviceId === 'id1')?.policy, 'semver:minor')
  services.splice(1, 1)
  await scheduler.tick()
  assert.deepEqual(scheduler.views().map((v) => v.serviceId), ['id1'])
  assert.equal(counts.heads, 2, 'nothing else checked')
})

test('stop() does not wait for a listing that never ends (Docker hung at shutdown), and that cycle decides nothing after it', async (t) => {
  const records = openSqliteStore({ dataDir: tempDir(t) })
  const store = openWatchStore(records.file)
  t.after(() => { store.close(); records.close() })
  let listed!: () => void
  const listing = new Promise<void>((resolve) => { listed = resolve })
  let release!: (services: ServiceState[]) => void
  let decided = 0
  const scheduler = new WatchScheduler({
    store,
    budget: new RegistryBudget({ maxBackoffMs: 3_600_000 }),
    limiter: new RequestLimiter(4),
    checkDigest: async () => { decided++; return { digest, budget: {} } },
    listTags: async () => ({ tags: [], budget: {}, requests: 1 }),
    submit: () => undefined,
    notifyAvailable: () => {},
    defaultScheduleMs: 3_600_000,
    // The listing hangs until the test lets it go (a `docker service ls` hung on a dead daemon).
    listServices: async () => { listed(); return await new Promise<ServiceState[]>((resolve) => { release = resolve }) },
    stopWaitMs: 10
  })
  // The scheduler's timer is unref'd (it never holds the process open): this one holds the test's.
  const alive = setTimeout(() => {}, 30_000)
  scheduler.start()
  await listing
  clearTimeout(alive)
  // Before the fix, stop() awaited the hung cycle: this await never returned (the test timed out).
  await scheduler.stop()
  release([svc(1)])
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(decided, 0, 'the late listing checked nothing')
})
