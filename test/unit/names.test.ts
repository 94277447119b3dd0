import { test } from 'node:test'
import assert from 'node:assert/strict'
import { candidateServiceNames, isValidServiceName, isValidTag } from '../../src/docker/names.ts'

test('service names follow Swarm rule', () => {
  for (const name of ['web', 'a', 'web_web', 'my-app-2', 'A1__b--c', 'x'.repeat(63)]) {
    assert.equal(isValidServiceName(name), true, name)
  }
  const bad = ['', '-web', 'web-', '_web', 'web.app', 'x'.repeat(64), 'wéb', 'web\u0000', 'web;rm -rf /', '$(id)', 'a b', '`id`',
    'web\n', 'web|cat', 'web&', '../etc', 'web/x', '--help', 'Ωmega', 'web\u200b']
  for (const name of bad) assert.equal(isValidServiceName(name), false, JSON.stringify(name))
  assert.equal(isValidServiceName(123), false)
  assert.equal(isValidServiceName(null), false)
})

test('the name pattern does not backtrack on hostile input', () => {
  const hostile = 'a' + '-_'.repeat(5000) + '!'
  const started = process.hrtime.bigint()
  assert.equal(isValidServiceName(hostile), false)
  // Correctness only; the timing is printed, not asserted (see the brief: no timed assertions).
  process.stdout.write(`# hostile name checked in ${Number(process.hrtime.bigint() - started) / 1e6} ms\n`)
})

test('tags follow Docker grammar', () => {
  for (const tag of ['latest', '1.2.3', 'v1_rc-2', '_x', 'a'.repeat(128)]) assert.equal(isValidTag(tag), true, tag)
  for (const tag of ['', '.x', '-x', 'a'.repeat(129), 'a:b', 'a@b', 'a/b', 'a b']) assert.equal(isValidTag(tag), false, tag)
})

test('candidate names: exact, then the stack convention, within 63 characters', () => {
  assert.deepEqual(candidateServiceNames('web'), ['web', 'web_web'])
  assert.deepEqual(candidateServiceNames('x'.repeat(40)), ['x'.repeat(40)])
})
