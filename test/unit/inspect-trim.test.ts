import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { trimServices } from '../../src/docker/inspect-trim.ts'
import { toServiceState, type RawService } from '../../src/docker/service-state.ts'

/**
 * What the spawn helper sends back of a listing (`docker service inspect` of many services): only
 * the fields a ServiceState is made of, and the same ServiceStates as Docker's whole answer gives.
 * The fixture is a real `docker service inspect` of a small service (Docker 20.10).
 */
const real = readFileSync(join(import.meta.dirname, '../fixtures/service-inspect.json'), 'utf8')
const [base] = JSON.parse(real) as [RawService & Record<string, unknown>]

test('the listing keeps what a ServiceState is made of and nothing else: the same states from a tenth of the JSON', () => {
  const variants: unknown[] = [
    base,
    { ...base, ID: 'global1', Spec: { ...base.Spec, Mode: { Global: {} }, Labels: null } },
    { ...base, ID: 'updated1', UpdateStatus: { State: 'rollback_completed', StartedAt: '2026-12-07T12:00:00Z', CompletedAt: '2026-12-07T12:01:00Z', Message: 'rollback completed' }, PreviousSpec: { ...base.Spec, TaskTemplate: { ...base.Spec.TaskTemplate, ContainerSpec: { Image: 'app:1@sha256:' + 'a'.repeat(64), Env: ['SECRET=x'] } } } },
    { ...base, ID: 'placed1', Spec: { ...base.Spec, TaskTemplate: { ...base.Spec.TaskTemplate, Placement: { Constraints: ['node.role==manager'], Platforms: [{ OS: 'linux' }] }, ForceUpdate: 3 } } },
    { ...base, ID: 'plugin1', Spec: { ...base.Spec, TaskTemplate: { PluginSpec: { Name: 'x' } } }, UpdateStatus: null }
  ]
  const full = JSON.stringify(variants, null, 4)
  const trimmed = trimServices(full)
  const states = (text: string): unknown[] => (JSON.parse(text) as RawService[]).map(toServiceState)
  assert.deepEqual(states(trimmed), states(full))
  assert.equal((states(trimmed)[2] as { previousImage?: string }).previousImage, 'app:1@sha256:' + 'a'.repeat(64))
  for (const gone of ['"Args"', '"CreatedAt"', '"Endpoint"', '"Env"', 'SECRET', '"Platforms"', '"PluginSpec"', '"Global"']) assert.ok(!trimmed.includes(gone), `${gone} is not sent back`)
  assert.ok(trimServices(real).length * 5 < real.length, `${trimServices(real).length} of ${real.length} bytes`)
})

test('an answer that is not a JSON array comes back as it is, for the updater to report as Docker\'s', () => {
  for (const text of ['', 'garbled [', '{"message":"x"}', 'null']) assert.equal(trimServices(text), text)
  // A service that is not an object is kept: toServiceState refuses it as before.
  assert.equal(trimServices('[1,null]'), '[1,null]')
})
