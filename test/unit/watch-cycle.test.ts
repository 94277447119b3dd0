import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import type { ServiceState } from '../../src/docker/swarm.ts'
import type { TagDigestCheck } from '../../src/docker/registry-digest.ts'
import type { TagList } from '../../src/docker/registry-tags.ts'
import { openSqliteStore } from '../../src/store/sqlite-store.ts'
import { RegistryBudget, RequestLimiter } from '../../src/watch/budget.ts'
import { runCycle, type CycleDeps } from '../../src/watch/cycle.ts'
import { openWatchStore } from '../../src/watch/watch-store.ts'
import { tempDir } from './store-fixtures.ts'

/**
 * The decisions of one cycle, with the registry reads injected (their HTTP side is proven in
 * registry-watch-reads.test.ts): request counts per distinct repo:tag, each policy's choice,
 * quarantine, min-age by durable first-seen, notify once, deferral.
 */
const REG = '127.0.0.1:5000'
const d = (c: string): string => 'sha256:' + c.repeat(64)
const p = 'container-updater.'

function service (n: number, image: string, labels: Record<string, string>): ServiceState {
  return { id: `id${n}`, name: `svc${n}`, version: 1, image, forceUpdate: 0, labels: { [`${p}watch`]: 'true', ...labels } }
}

function rig (t: TestContext) {
  const records = openSqliteStore({ dataDir: tempDir(t) })
  const store = openWatchStore(records.file)
  t.after(() => { store.close(); records.close() })
  const registry: { digests: Record<string, string>, tags: string[], fail?: TagDigestCheck } = { digests: {}, tags: [] }
  const calls = { heads: [] as string[], lists: [] as string[], submits: [] as Array<[string, string, string]>, notified: [] as string[] }
  let now = 1_000_000
  let held = false
  const deps: CycleDeps = {
    store,
    budget: new RegistryBudget({ maxBackoffMs: 3_600_000, now: () => now }),
    limiter: new RequestLimiter(4),
    checkDigest: async (image) => {
      calls.heads.push(image)
      if (registry.fail !== undefined) return registry.fail
      const digest = registry.digests[image]
      return digest === undefined ? { unavailable: 'the tag does not exist in the registry (404)', backoff: false, budget: {} } : { digest, budget: {} }
    },
    listTags: async (image): Promise<TagList> => { calls.lists.push(image); return { tags: registry.tags, budget: {}, requests: 1 } },
    submit: (s, tag, reason) => { calls.submits.push([s.name, tag, reason]); return { status: held ? 'held' : 'queued', heldUntil: held ? '2030-01-01T22:00:00.000Z' : undefined } },
    notifyAvailable: (s, image) => { calls.notified.push(`${s.name} ${image}`) },
    defaultScheduleMs: 3_600_000,
    now: () => now
  }
  return { deps, registry, calls, store, advance: (ms: number) => { now += ms }, hold: () => { held = true } }
}

test('one HEAD per distinct repo:tag and one listing per repository, whatever the number of services', async (t) => {
  const { deps, registry, calls } = rig(t)
  registry.digests[`${REG}/app:1.2.3`] = d('a')
  registry.tags = ['1.2.3', '1.2.4']
  registry.digests[`${REG}/app:1.2.4`] = d('b')
  const services = [
    ...Array.from({ length: 10 }, (_, i) => service(i, `${REG}/app:1.2.3@${d('a')}`, {})),
    ...Array.from({ length: 10 }, (_, i) => service(100 + i, `${REG}/app:1.2.3@${d('a')}`, { [`${p}policy`]: 'semver:patch' }))
  ]
  const views = await runCycle(services, deps)
  assert.equal(views.length, 20)
  assert.deepEqual(calls.heads.sort(), [`${REG}/app:1.2.3`, `${REG}/app:1.2.4`])
  assert.equal(calls.lists.length, 1)
  assert.equal(views.filter((v) => v.state === 'up_to_date').length, 10)
  assert.equal(calls.submits.length, 10)
  assert.deepEqual(calls.submits[0], ['svc100', '1.2.4', 'semver:patch 1.2.3 → 1.2.4'])
})

test('digest: a moved tag submits an update with the digests in the reason', async (t) => {
  const { deps, registry, calls } = rig(t)
  registry.digests[`${REG}/app:latest`] = d('b')
  const [view] = await runCycle([service(1, `${REG}/app:latest@${d('a')}`, {})], deps)
  assert.equal(view?.state, 'updating')
  assert.deepEqual(calls.submits, [['svc1', 'latest', 'digest sha256:aa… → sha256:bb…']])
})

test('an update the engine holds (a gate of §8) is state held; one Swarm is rolling is decided later', async (t) => {
  const { deps, registry, calls, hold } = rig(t)
  registry.digests[`${REG}/app:latest`] = d('b')
  hold()
  const [view] = await runCycle([service(1, `${REG}/app:latest@${d('a')}`, {})], deps)
  assert.equal(view?.state, 'held')
  assert.equal(view?.message, 'held until 2030-01-01T22:00:00.000Z')
  const rolling = { ...service(2, `${REG}/app:latest@${d('a')}`, {}), updateStatus: { state: 'rollback_started' } }
  const [later] = await runCycle([rolling], deps)
  assert.equal(later?.state, 'updating')
  const [settling] = await runCycle([service(3, `${REG}/app:latest@${d('a')}`, {})], { ...deps, settling: () => true })
  assert.equal(settling?.state, 'updating')
  assert.equal(calls.submits.length, 1, 'neither the rolling nor the settling service was submitted')
})

test('quarantine: the quarantined digest is never submitted; another digest lifts it', async (t) => {
  const { deps, registry, calls, store } = rig(t)
  store.quarantine({ serviceId: 'id1', service: 'svc1', digest: d('b'), updateId: 'u1', sinceMs: 1 })
  registry.digests[`${REG}/app:1`] = d('b')
  const svc = service(1, `${REG}/app:1@${d('a')}`, {})
  for (let i = 0; i < 3; i++) assert.equal((await runCycle([svc], deps))[0]?.state, 'quarantined')
  assert.equal(calls.submits.length, 0, 'no cycle starts an update')
  registry.digests[`${REG}/app:1`] = d('c')
  assert.equal((await runCycle([svc], deps))[0]?.state, 'updating')
  assert.equal(store.getQuarantine('id1'), undefined)
  assert.equal(calls.submits.length, 1)
})

test('min-age counts from the durable first sighting', async (t) => {
  const { deps, registry, calls, advance } = rig(t)
  registry.digests[`${REG}/app:1`] = d('b')
  const svc = service(1, `${REG}/app:1@${d('a')}`, { [`${p}min-age`]: '1h' })
  const [first] = await runCycle([svc], deps)
  assert.equal(first?.state, 'waiting_min_age')
  assert.equal(first!.available!.eligibleAt - first!.available!.firstSeenAt, 3_600_000)
  advance(3_599_000)
  assert.equal((await runCycle([svc], deps))[0]?.state, 'waiting_min_age')
  advance(1000)
  assert.equal((await runCycle([svc], deps))[0]?.state, 'updating')
  assert.equal(calls.submits.length, 1)
})

test('notify: available once per new tag@digest, never an update', async (t) => {
  const { deps, registry, calls } = rig(t)
  registry.digests[`${REG}/app:1`] = d('b')
  const svc = service(1, `${REG}/app:1@${d('a')}`, { [`${p}watch`]: 'notify' })
  for (let i = 0; i < 3; i++) assert.equal((await runCycle([svc], deps))[0]?.state, 'update_available')
  assert.deepEqual(calls.notified, [`svc1 ${REG}/app:1`])
  registry.digests[`${REG}/app:1`] = d('c')
  await runCycle([svc], deps)
  assert.equal(calls.notified.length, 2)
  assert.equal(calls.submits.length, 0)
})

test('pinned, bad labels, unwatched, and a registry that backs off', async (t) => {
  const { deps, registry, calls, store } = rig(t)
  const views = await runCycle([
    service(1, `${REG}/app@${d('a')}`, {}),
    service(2, `${REG}/app:1`, { [`${p}policy`]: 'newest' }),
    { ...service(3, `${REG}/app:1`, {}), labels: {} }
  ], deps)
  assert.deepEqual(views.map((v) => v.state), ['pinned', 'error'])
  assert.equal(calls.heads.length, 0)
  registry.fail = { unavailable: 'the registry limits requests (429)', backoff: true, budget: { retryAfterMs: 600_000 } }
  const svc = service(4, `${REG}/app:1@${d('a')}`, {})
  assert.equal((await runCycle([svc], deps))[0]?.state, 'deferred')
  const [next] = await runCycle([svc], deps)
  assert.equal(next?.state, 'deferred')
  assert.match(next!.message!, /deferred until/)
  assert.equal(calls.heads.length, 1, 'the deferred registry is not asked again')
  assert.equal(calls.submits.length, 0, 'never a failed update')
  assert.equal(store.getCheck('id4')?.state, 'deferred')
  assert.equal(typeof store.getCheck('id4')?.lastCheckedMs, 'number')
})
