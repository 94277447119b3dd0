import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RegistryBudget, RequestLimiter } from '../../src/watch/budget.ts'

test('budget: Retry-After is honoured, then exponential backoff from 1 min to the interval', () => {
  let now = 1_000_000
  const budget = new RegistryBudget({ maxBackoffMs: 3_600_000, now: () => now })
  assert.equal(budget.deferredUntil('r'), undefined)
  budget.record('r', { retryAfterMs: 120_000 }, true)
  assert.equal(budget.deferredUntil('r'), now + 120_000)
  assert.equal(budget.deferredUntil('other'), undefined, 'no other registry slows')
  now += 120_000
  assert.equal(budget.deferredUntil('r'), undefined)
  budget.record('r', {}, true) // second failure in a row: 2 min
  assert.equal(budget.deferredUntil('r'), now + 120_000)
  for (let i = 0; i < 10; i++) budget.record('r', {}, true)
  assert.equal(budget.deferredUntil('r'), now + 3_600_000, 'capped at the interval')
  assert.deepEqual(budget.states(), [{ registry: 'r', state: 'deferred', until: now + 3_600_000, message: 'the registry limits requests' }])
  budget.record('r', {}, false)
  assert.equal(budget.deferredUntil('r'), undefined, 'a good answer ends the backoff')
  assert.deepEqual(budget.states(), [])
})

test('budget: RateLimit-Remaining defers before it reaches 0', () => {
  const now = 5_000
  const budget = new RegistryBudget({ maxBackoffMs: 3_600_000, now: () => now })
  budget.record('hub', { remaining: 2 }, false)
  assert.equal(budget.deferredUntil('hub'), undefined)
  budget.record('hub', { remaining: 1 }, false)
  assert.equal(budget.deferredUntil('hub'), now + 60_000)
  assert.match(budget.states()[0]!.message!, /RateLimit-Remaining is 1/)
})

test('limiter: at most N at once, one per repository', async () => {
  const limiter = new RequestLimiter(2)
  const started: string[] = []
  const release = new Map<string, () => void>()
  const task = (name: string) => () => new Promise<void>((resolve) => { started.push(name); release.set(name, resolve) })
  const all = [limiter.run('a', task('a1')), limiter.run('a', task('a2')), limiter.run('b', task('b1')), limiter.run('c', task('c1'))]
  assert.deepEqual(started, ['a1', 'b1'], 'a2 waits for a1, c1 for a slot')
  release.get('a1')!()
  await new Promise(setImmediate)
  assert.deepEqual(started, ['a1', 'b1', 'a2'])
  assert.equal(limiter.running, 2)
  release.get('b1')!()
  await new Promise(setImmediate)
  assert.deepEqual(started, ['a1', 'b1', 'a2', 'c1'])
  release.get('a2')!()
  release.get('c1')!()
  await Promise.all(all)
  assert.equal(limiter.running, 0)
})
