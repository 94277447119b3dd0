import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { batchHttpStatus, batchStatus, httpStatusFor, stateAnswers } from '../../src/routes/state-answers.ts'
import type { UpdateState } from '../../src/store/records.ts'

const batch = (...states: UpdateState[]) => states.map((status) => ({ status }))

test('a batch with one failed and one superseded update is failed, and answers 502', () => {
  assert.equal(batchStatus(batch('failed', 'superseded')), 'failed')
  assert.equal(batchHttpStatus(batch('failed', 'superseded')), 502)
  assert.equal(batchHttpStatus(batch('superseded', 'failed', 'completed')), 502)
})

test('batch precedence: running first, then the most severe, completed when all completed', () => {
  assert.equal(batchStatus(batch('completed', 'updating', 'timeout')), 'updating')
  assert.equal(batchStatus(batch('completed', 'queued', 'failed')), 'queued')
  assert.equal(batchHttpStatus(batch('failed', 'timeout')), 504)
  assert.equal(batchHttpStatus(batch('failed', 'rolled_back')), 409)
  assert.equal(batchHttpStatus(batch('completed', 'superseded')), 409)
  assert.equal(batchHttpStatus(batch('completed', 'cancelled')), 503)
  assert.equal(batchHttpStatus(batch('superseded', 'cancelled')), 409)
  assert.equal(batchHttpStatus(batch('completed', 'completed')), 200)
  assert.equal(batchStatus([]), 'completed')
})

test('one update answers with its state\'s status, the same table as a batch of one', () => {
  for (const [state, status] of stateAnswers) {
    assert.equal(httpStatusFor(state), status, state)
    assert.equal(batchHttpStatus(batch(state)), status, state)
  }
})

test('docs/API.md\'s table of states and answers is the code\'s, row by row', () => {
  const api = readFileSync(new URL('../../docs/API.md', import.meta.url), 'utf8')
  const section = api.slice(api.indexOf('### States and answers'), api.indexOf('## Reading updates'))
  const rows = [...section.matchAll(/^\| (\d+) \| `(\w+)` \| (\d{3}) \|$/gm)].map((m) => [Number(m[1]), m[2], Number(m[3])])
  assert.deepEqual(rows, stateAnswers.map(([state, status], i) => [i + 1, state, status]))
})
