import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createMemoryStore } from '../../src/store/memory-store.js'
import { startPruning } from '../../src/store/pruning.js'
import type { UpdateStore } from '../../src/store/records.js'
import { record, sqliteStore, uuid } from './store-fixtures.ts'
import { waitFor } from '../wait.ts'

const DAY = 24 * 60 * 60 * 1000

/** `count` records that finished `daysAgo` days ago (numbered from `from`). */
function addFinished (store: UpdateStore, from: number, count: number, daysAgo: number): void {
  const finished = new Date(Date.now() - daysAgo * DAY)
  for (let i = from; i < from + count; i++) {
    store.save(record(i, { startedAt: new Date(finished.getTime() - 1000).toISOString(), finishedAt: finished.toISOString() }))
  }
}

test('pruning deletes records older than HISTORY_DAYS in small steps, the event loop running between them', async (t) => {
  const store = sqliteStore(t)
  addFinished(store, 0, 1200, 100)
  addFinished(store, 5000, 10, 10)
  const calls: number[] = []
  const counting: UpdateStore = { ...store, prune: (before, limit) => { const n = store.prune(before, limit); calls.push(n); return n } }

  let donePruning!: (n: number) => void
  const pruned = new Promise<number>((resolve) => { donePruning = resolve })
  const stop = startPruning(counting, { historyDays: 90, batchSize: 500, onPruned: (n) => donePruning(n) })
  t.after(stop)
  assert.deepEqual(calls, [500], 'the first step runs at once, alone')
  // Queued now, this callback runs after the next step and before the one after: other work gets in.
  const stepsSeenByOtherWork = new Promise<number>((resolve) => setImmediate(() => resolve(calls.length)))
  assert.equal(await stepsSeenByOtherWork, 2)
  assert.equal(await pruned, 1200)

  assert.deepEqual(calls, [500, 500, 200])
  assert.equal(store.list({ limit: 100 }).updates.length, 10)
  assert.equal(store.get(uuid(5000))?.updateId, uuid(5000))
})

test('pruning runs again every interval and stops when told', async () => {
  const store = createMemoryStore()
  let passes = 0
  const counting: UpdateStore = { ...store, prune: (before, limit) => { passes++; return store.prune(before, limit) } }
  const stop = startPruning(counting, { historyDays: 1, intervalMs: 20 })
  addFinished(store, 0, 3, 2)
  await waitFor('passes >= 3', () => passes >= 3, 30, 10)
  stop()
  const after = passes
  assert.ok(after >= 2, `pruned at start and again (${after} passes)`)
  assert.equal(store.list({ limit: 10 }).updates.length, 0, 'a later pass deleted the records added after start')
  await new Promise((resolve) => setTimeout(resolve, 100))
  assert.equal(passes, after, 'no pass after stop')
})

test('a failed pass is reported and the next one tries again', async () => {
  const store = createMemoryStore()
  const errors: unknown[] = []
  let fail = true
  const flaky: UpdateStore = { ...store, prune: (before, limit) => { if (fail) throw new Error('disk I/O error'); return store.prune(before, limit) } }
  const stop = startPruning(flaky, { historyDays: 1, intervalMs: 20, onError: (error) => { errors.push(error); fail = false } })
  addFinished(store, 0, 2, 2)
  await waitFor('store.list({ limit: 10 }).updates.length === 0', () => store.list({ limit: 10 }).updates.length === 0, 30, 10)
  stop()
  assert.equal(errors.length, 1)
  assert.equal(store.list({ limit: 10 }).updates.length, 0)
})

test('the pruning timer does not keep the process alive', () => {
  // A process that starts pruning and never stops it must still exit by itself.
  const script = `
    import { startPruning } from ${JSON.stringify(new URL('../../src/store/pruning.ts', import.meta.url).href)}
    import { createMemoryStore } from ${JSON.stringify(new URL('../../src/store/memory-store.ts', import.meta.url).href)}
    startPruning(createMemoryStore(), { historyDays: 90 })
    console.log('started')
  `
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 })
  assert.equal(child.signal, null, 'exited on its own, not killed at the timeout')
  assert.equal(child.status, 0)
  assert.equal(child.stdout.trim(), 'started')
})
