import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import type { ServiceState } from '../../src/docker/swarm.ts'
import { openSqliteStore } from '../../src/store/sqlite-store.ts'
import { RegistryBudget, RequestLimiter } from '../../src/watch/budget.ts'
import { CheckWriter } from '../../src/watch/check-writer.ts'
import { WatchAnnouncer, storeSnapshot } from '../../src/watch/entry.ts'
import { WatchScheduler } from '../../src/watch/scheduler.ts'
import { forEachInTurns } from '../../src/watch/turns.ts'
import { openWatchStore, type ServiceCheck, type WatchStore } from '../../src/watch/watch-store.ts'
import { tempDir } from './store-fixtures.ts'

/**
 * Issue #19: a cycle of many services must not hold the event loop (/healthz p99 during a cycle,
 * bench/figures/watch.ts). The store is read once per tick, not per service; a cycle's checks are
 * written a few transactions at a time; the services are handled a few per turn of the event loop.
 */
const digest = 'sha256:' + 'a'.repeat(64)
const svc = (n: number): ServiceState => ({
  id: `id${n}`,
  name: `svc${n}`,
  version: 1,
  image: `127.0.0.1:5000/app${n % 10}:1@${digest}`,
  forceUpdate: 0,
  labels: { 'container-updater.watch': 'true' }
})
const check = (n: number): ServiceCheck => ({ serviceId: `id${n}`, service: `svc${n}`, lastCheckedMs: n, state: 'up_to_date', message: null, notified: null })

/** The store, with every call counted by method name. */
function counted (t: TestContext): { store: WatchStore, calls: Map<string, number>, rows: number[] } {
  const records = openSqliteStore({ dataDir: tempDir(t) })
  const real = openWatchStore(records.file)
  t.after(() => { real.close(); records.close() })
  const calls = new Map<string, number>()
  const rows: number[] = []
  const store = new Proxy(real, {
    get (target, key: string) {
      const value = target[key as keyof WatchStore]
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        calls.set(key, (calls.get(key) ?? 0) + 1)
        if (key === 'saveChecks') rows.push((args[0] as unknown[]).length)
        return (value as (...a: unknown[]) => unknown)(...args)
      }
    }
  })
  return { store, calls, rows }
}

function scheduler (store: WatchStore, services: ServiceState[], settling?: () => boolean): WatchScheduler {
  return new WatchScheduler({
    store,
    budget: new RegistryBudget({ maxBackoffMs: 3_600_000 }),
    limiter: new RequestLimiter(4),
    checkDigest: async () => ({ digest, budget: {} }),
    listTags: async () => ({ tags: [], budget: {}, requests: 1 }),
    submit: () => undefined,
    notifyAvailable: () => {},
    defaultScheduleMs: 3_600_000,
    listServices: async () => services,
    ...(settling !== undefined && { settling })
  })
}

test('a tick reads the stored checks once and writes them in a few transactions, whatever the number of services', async (t) => {
  const { store, calls, rows } = counted(t)
  const services = Array.from({ length: 250 }, (_, i) => svc(i))
  const watcher = scheduler(store, services)
  watcher.checkNow()
  await watcher.tick()
  // Before: getCheck twice per service (when due, then its next check) and one autocommit each.
  assert.equal(calls.get('getCheck') ?? 0, 0, 'no read per service')
  assert.equal(calls.get('saveCheck') ?? 0, 0, 'no write per service')
  assert.equal(calls.get('checks'), 1, 'one read of every check')
  assert.equal(rows.reduce((a, b) => a + b, 0), 250, 'every service\'s check written')
  assert.ok(rows.length <= 10 && rows.every((n) => n <= 100), `a few transactions of at most 100 rows (${rows.join(', ')})`)
  assert.equal(store.checks().length, 250)
  assert.ok(watcher.views().every((v) => v.nextCheckAt === store.getCheck(v.serviceId)!.lastCheckedMs! + 3_600_000), 'the next checks come from the checks written')
})

test('a tick of many services lets the event loop run between them: at most 50 decisions per turn', async (t) => {
  const { store } = counted(t)
  let turn = 0
  let counting = true
  const count = (): void => { turn++; if (counting) setImmediate(count) }
  setImmediate(count)
  const perTurn = new Map<number, number>()
  // Asked once per decision, when it starts: which turn of the event loop each one started in.
  const watcher = scheduler(store, Array.from({ length: 250 }, (_, i) => svc(i)), () => { perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1); return false })
  watcher.checkNow()
  // Before: the listing, the registry answers and the decisions were all promises already settled,
  // so all 250 decisions started in one turn and nothing queued behind them ran until they had.
  await watcher.tick()
  counting = false
  assert.equal([...perTurn.values()].reduce((a, b) => a + b, 0), 250)
  assert.ok(Math.max(...perTurn.values()) <= 50, `decisions per turn: ${[...perTurn.values()].join(', ')}`)
})

test('the checks of services no longer listed are forgotten, so a tick reads only as many as are watched', async (t) => {
  const { store } = counted(t)
  const services = Array.from({ length: 5 }, (_, i) => svc(i))
  const watcher = scheduler(store, services)
  watcher.checkNow()
  await watcher.tick()
  assert.equal(store.checks().length, 5)
  services.splice(0, 2)
  await watcher.tick()
  assert.deepEqual(store.checks().map((c) => c.serviceId).sort(), ['id2', 'id3', 'id4'])
})

test('forEachInTurns: every item once, in order, a turn of the event loop between groups', async () => {
  const seen: number[] = []
  const turns: number[] = []
  let turn = 0
  const counter = (): void => { turn++; if (turn < 100) setImmediate(counter) }
  setImmediate(counter)
  await forEachInTurns(Array.from({ length: 10 }, (_, i) => i), (i) => { seen.push(i); turns.push(turn) }, 4)
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  assert.equal(new Set(turns.slice(0, 4)).size, 1, 'the first group in one turn')
  assert.ok(turns[4]! > turns[3]! && turns[8]! > turns[7]!, `a turn between groups (${turns.join(',')})`)
})

test('CheckWriter: checks queued in one turn are one transaction; flush waits for them and throws the first failure', async (t) => {
  const { store, rows } = counted(t)
  const writer = new CheckWriter(store, 100)
  for (let i = 0; i < 250; i++) writer.queue(check(i))
  assert.equal(store.checks().length, 0, 'written behind, not at once')
  await writer.flush()
  assert.deepEqual(rows, [100, 100, 50])
  assert.equal(store.checks().length, 250)
  assert.deepEqual(store.getCheck('id7'), check(7))
  // A failure is the cycle's: flush() throws it, once, and the writer goes on afterwards.
  const failing = new CheckWriter({ saveChecks: () => { throw new Error('disk full') } })
  failing.queue(check(1))
  await assert.rejects(failing.flush(), /disk full/)
  await failing.flush()
})

test('WatchAnnouncer: a pass reads the store once; a call during a pass makes one more pass, so the last change is sent', async (t) => {
  const { store, calls } = counted(t)
  const views = Array.from({ length: 120 }, (_, i) => ({
    serviceId: `id${i}`,
    service: `svc${i}`,
    image: 'app:1',
    watch: 'true' as const,
    policy: 'digest',
    schedule: '1h',
    minAge: '0s',
    state: 'up_to_date' as const,
    current: { tag: '1', digest },
    available: null,
    nextCheckAt: null
  }))
  const sent: string[] = []
  const announcer = new WatchAnnouncer((entry) => sent.push(`${entry.service}:${entry.quarantined?.digest ?? '-'}`), { views: () => views, store: () => storeSnapshot(store) })
  const first = announcer.announce()
  // Quarantined while the first pass runs: the second call resolves after a pass that saw it.
  store.quarantine({ serviceId: 'id119', service: 'svc119', digest, updateId: 'u1', sinceMs: 1 })
  await Promise.all([first, announcer.announce()])
  assert.equal(sent.filter((s) => s.startsWith('svc119:')).at(-1), `svc119:${digest}`)
  assert.equal(sent.length, 121, 'every service once, and the quarantined one again')
  assert.equal(calls.get('getQuarantine') ?? 0, 0, 'no read per service')
  assert.equal(calls.get('getCheck') ?? 0, 0, 'no read per service')
  assert.equal(calls.get('quarantines'), 2, 'one read per pass')
  await announcer.announce()
  assert.equal(sent.length, 121, 'nothing changed, nothing sent')
})

test('a tick and the announcer\'s pass after it read the stored checks once; the entries carry the checks written', async (t) => {
  const { store, calls } = counted(t)
  const watcher = scheduler(store, Array.from({ length: 120 }, (_, i) => svc(i)))
  const sent: Array<{ service: string, lastCheckedAt: string | null }> = []
  // As plugins/watch.ts builds it: the last checks from the scheduler's memory, not the store.
  const announcer = new WatchAnnouncer((entry) => sent.push(entry), { views: () => watcher.views(), store: () => storeSnapshot(store, (id) => watcher.lastCheck(id)) })
  watcher.checkNow()
  await watcher.tick()
  await announcer.announce()
  assert.equal(calls.get('checks'), 1, 'the tick\'s read only')
  assert.equal(sent.length, 120)
  for (const entry of sent) assert.equal(entry.lastCheckedAt, new Date(store.getCheck(`id${entry.service.slice(3)}`)!.lastCheckedMs!).toISOString())
})
