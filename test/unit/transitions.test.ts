import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mayMove, moveTo, transitions } from '../../src/engine/transitions.ts'
import { JobLedger } from '../../src/engine/ledger.ts'
import { jobFrom } from '../../src/engine/job.ts'
import { FINAL_STATES, UPDATE_STATES, type StoredUpdate, type UpdateState } from '../../src/store/records.ts'

const record = (status: UpdateState): StoredUpdate => ({
  updateId: '00000000-0000-4000-8000-000000000001',
  appName: 'web',
  service: 'web',
  serviceId: 'abc',
  status,
  previousImage: null,
  image: null,
  startedAt: new Date(0).toISOString(),
  finishedAt: null,
  durationMs: null,
  statusUrl: '/updates/00000000-0000-4000-8000-000000000001'
})

test('the transition table has a row for every state, and final states go nowhere', () => {
  assert.deepEqual(Object.keys(transitions).sort(), [...UPDATE_STATES].sort())
  for (const state of FINAL_STATES) assert.deepEqual(transitions[state], [], state)
  // Only the gates' waiting states release an update into its lane; nothing that ran goes back.
  for (const state of UPDATE_STATES) assert.equal(mayMove(state, 'queued'), state === 'held' || state === 'pending_approval', `back to queued from ${state}`)
  for (const state of ['rejected', 'expired'] as const) assert.ok(FINAL_STATES.includes(state), `${state} is final`)
  for (const state of ['held', 'pending_approval', 'verifying'] as const) assert.ok(!FINAL_STATES.includes(state), `${state} is not final`)
})

test('the gates and the post-rollout check move records only as DESIGN §8 says', () => {
  assert.equal(mayMove('updating', 'verifying'), true)
  assert.equal(mayMove('verifying', 'rolled_back'), true, 'a failed check rolls back')
  assert.equal(mayMove('verifying', 'paused'), true, 'Swarm may pause the rollback after a failed check (verify.ts)')
  assert.equal(mayMove('held', 'updating'), false, 'a held update is queued first, through its lane')
  assert.equal(mayMove('pending_approval', 'rejected'), true)
  assert.equal(mayMove('held', 'rejected'), false, 'only a pending approval is rejected')
  // No code makes these (held.ts): a record is born held or pending, and a held one was decided.
  assert.equal(mayMove('queued', 'held'), false, 'a queued update is past its gates')
  assert.equal(mayMove('held', 'pending_approval'), false, 'a held update is not sent back for approval')
  assert.equal(mayMove('queued', 'expired'), false)
})

test('an illegal transition throws CU_ILLEGAL_TRANSITION and changes nothing', () => {
  for (const [from, to] of [['completed', 'updating'], ['failed', 'completed'], ['queued', 'completed'], ['superseded', 'timeout'], ['cancelled', 'cancelled']] as const) {
    const r = record(from)
    assert.throws(() => moveTo(r, to), (e: Error & { code?: string, statusCode?: number }) => e.code === 'CU_ILLEGAL_TRANSITION' && e.statusCode === 500 && e.message.includes(`from ${from} to ${to}`), `${from} → ${to}`)
    assert.equal(r.status, from)
  }
})

test('the legal ones move the record', () => {
  const r = record('queued')
  for (const to of ['timeout', 'updating', 'timeout', 'completed'] as const) {
    moveTo(r, to)
    assert.equal(r.status, to)
  }
})

test('the ledger ends a job through the table: a queued job cannot be completed, and stays unfinished', () => {
  let finals = 0
  const saved: UpdateState[] = []
  const ledger = new JobLedger({
    store: { save: (r: StoredUpdate) => { saved.push(r.status) } } as never,
    onRecord: () => { finals++ },
    onStoreError: () => {},
    onUnblocked: () => {},
    onFinished: () => {}
  })
  const job = jobFrom(record('queued'))
  ledger.add(job)
  assert.throws(() => ledger.finish(job, 'completed', 'web:2', 'done'), /may not move from queued to completed/)
  assert.equal(job.final, false)
  assert.equal(job.record.status, 'queued')
  assert.equal(job.record.finishedAt, null)
  assert.equal(finals, 0)
  assert.deepEqual(saved, ['queued'], 'nothing written after the refused change')
  ledger.finish(job, 'cancelled', null, 'shut down')
  assert.equal(job.record.status, 'cancelled')
  assert.equal(finals, 1)
})
