import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Gates } from '../../src/engine/gates/gates.js'
import type { Freeze } from '../../src/store/freeze-store.js'
import type { ServiceState } from '../../src/docker/swarm.js'

const NOW = Date.parse('2026-03-04T12:00:00Z') // a Wednesday
const service = (labels: Record<string, string> = {}): ServiceState => ({ id: 'id1', name: 'web', labels } as unknown as ServiceState)
const freeze: Freeze = { freezeId: 'f1', services: ['web'], until: '2026-03-05T08:00:00.000Z', reason: 'audit', createdAt: '2026-03-01T00:00:00.000Z' }
const closed = 'Sat 00:00-24:00' // opens 2026-03-07T00:00Z

test('gates: an explicit request is refused by a freeze first (423 CU_FROZEN with the freeze), then by a closed window (CU_OUTSIDE_WINDOW); force passes both', () => {
  const gates = new Gates({ updateWindows: closed, activeFreeze: () => freeze })
  assert.throws(() => gates.decide(service(), { trigger: 'api' }, NOW), (error: Error & { code?: string, statusCode?: number, details?: Record<string, unknown>, headers?: Record<string, string> }) => {
    assert.equal(error.code, 'CU_FROZEN')
    assert.equal(error.statusCode, 423)
    assert.deepEqual(error.details, { service: 'web', freezeId: 'f1', reason: 'audit', until: freeze.until })
    assert.equal(error.headers?.['retry-after'], String(20 * 3600))
    return true
  })
  const windowOnly = new Gates({ updateWindows: closed })
  assert.throws(() => windowOnly.decide(service(), { trigger: 'ui' }, NOW), (error: Error & { code?: string, details?: Record<string, unknown> }) => {
    assert.equal(error.code, 'CU_OUTSIDE_WINDOW')
    assert.deepEqual(error.details, { service: 'web', window: closed, opensAt: '2026-03-07T00:00:00.000Z' })
    return true
  })
  assert.deepEqual(gates.decide(service(), { trigger: 'api', force: true }, NOW), { kind: 'go' })
  // A request without a trigger is treated as explicit: it is told, never silently held.
  assert.throws(() => windowOnly.decide(service(), {}, NOW), /outside its update window/)
})

test('gates: an automatic request asks for approval first, then is held by the freeze that ends last, then by a closed window; an approved one is not asked again', () => {
  const gates = new Gates({ updateWindows: closed, activeFreeze: () => freeze })
  const approve = service({ 'container-updater.approve': 'true' })
  assert.deepEqual(gates.decide(approve, { trigger: 'hook' }, NOW), { kind: 'approve' })
  // The label must say exactly true.
  assert.equal(gates.decide(service({ 'container-updater.approve': 'yes' }), { trigger: 'hook' }, NOW).kind, 'hold')
  const byFreeze = gates.decide(approve, { trigger: 'watch' }, NOW, true)
  assert.deepEqual(byFreeze, { kind: 'hold', until: Date.parse(freeze.until), message: 'held by freeze f1 until 2026-03-05T08:00:00.000Z: audit' })
  const byWindow = new Gates({ updateWindows: closed }).decide(service(), { trigger: 'hook' }, NOW)
  assert.equal(byWindow.kind, 'hold')
  assert.equal(byWindow.kind === 'hold' && byWindow.until, Date.parse('2026-03-07T00:00:00Z'))
  assert.match(byWindow.kind === 'hold' ? byWindow.message : '', /window opens at 2026-03-07T00:00:00.000Z \(UPDATE_WINDOWS: Sat 00:00-24:00\)/)
  // The label replaces UPDATE_WINDOWS; an open one lets it go.
  assert.deepEqual(new Gates({ updateWindows: closed }).decide(service({ 'container-updater.window': 'Mon-Sun 00:00-24:00' }), { trigger: 'hook' }, NOW), { kind: 'go' })
  // An unreadable label fails closed: 409, for automatic requests too (a hook skips the service with the reason).
  assert.throws(() => new Gates({}).decide(service({ 'container-updater.window': 'whenever' }), { trigger: 'watch' }, NOW), (error: Error & { code?: string }) => error.code === 'CU_INVALID_WINDOW')
  // Force means nothing to an automatic request.
  assert.equal(gates.decide(service(), { trigger: 'hook', force: true }, NOW).kind, 'hold')
})
