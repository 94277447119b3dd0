import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { bearer } from '../helper.ts'
import { startFaultProxy, type FaultProxy } from '../fault-proxy.ts'
import { inspect, swarmSkip, uniqueName, until } from '../swarm-fixtures.ts'
import { startTokenRegistry } from '../token-registry.ts'
import { count, createWatchedService, cycle, watcher, type RegistryView } from '../watch-registry-fixtures.ts'

/**
 * A registry that limits, fails, hangs or resets (DESIGN §7): proxies in front of one real registry
 * (behind its token realm), each a registry name of its own, inject 429 + Retry-After,
 * RateLimit-Remaining: 0, 503, a hang (WATCH_TIMEOUT) and a reset; a service per proxy, each on a
 * repository of its own, and one service on the registry directly. What got through is counted in
 * the registry's access log, what was sent in the proxies' counts.
 */
const faults = ['limited', 'remaining', 'failing', 'hanging', 'resetting'] as const
type Kind = typeof faults[number]

test('faults: 429/Retry-After, RateLimit-Remaining: 0, 5xx, hangs and resets defer that registry with its next try; the next request waits as told; the other registry is checked and updated meanwhile; no update fails', { skip: swarmSkip }, async (t) => {
  const registry = await startTokenRegistry(t)
  const proxies = {} as Record<Kind, FaultProxy>
  for (const kind of faults) {
    proxies[kind] = await startFaultProxy(t, registry.address)
    await registry.allow(proxies[kind].address)
  }
  const repos = Object.fromEntries([...faults, 'direct'].map((k) => [k, uniqueName(`cu-wf-${k}`)])) as Record<Kind | 'direct', string>
  const names = Object.fromEntries([...faults, 'direct'].map((k) => [k, uniqueName(`cu-wf-${k}`)])) as Record<Kind | 'direct', string>
  for (const kind of [...faults, 'direct'] as const) await registry.push(repos[kind], 'v1')
  const hostOf = (kind: Kind | 'direct'): string => kind === 'direct' ? registry.address : proxies[kind].address
  await Promise.all([...faults, 'direct' as const].map((kind) =>
    createWatchedService(t, registry, names[kind], `${hostOf(kind)}/${repos[kind]}:v1`, { 'container-updater.watch': 'true' })))
  const app = await watcher(t, registry, new Set(Object.values(names)), { WATCH_TIMEOUT: '8s' })
  const head = (kind: Kind | 'direct'): string => `/v2/${repos[kind]}/manifests/v1`

  // New digests for the direct service and the one whose registry passes answers through (with
  // RateLimit-Remaining: 0): both are rolled out; the others' registries answer nothing useful.
  const moved = { direct: await registry.push(repos.direct, 'v1'), remaining: await registry.push(repos.remaining, 'v1') }
  proxies.limited.fault = { kind: 'status', status: 429, headers: { 'retry-after': '20' } }
  proxies.remaining.fault = { kind: 'headers', headers: { 'ratelimit-remaining': '0;w=21600' } }
  proxies.failing.fault = { kind: 'status', status: 503 }
  proxies.hanging.fault = { kind: 'hang' }
  proxies.resetting.fault = { kind: 'reset' }
  const sent = (): Record<Kind, number> => Object.fromEntries(faults.map((k) => [k, proxies[k].received.length])) as Record<Kind, number>
  const sent0 = sent()
  const log0 = (await registry.accessLog()).length

  const started = Date.now()
  app.watch.scheduler.checkNow()
  const ticking = app.watch.scheduler.tick()
  // The other registry is not slowed: its HEAD is served while the hung request is still held.
  await until('the direct HEAD while a request hangs', async () => {
    const log = (await registry.accessLog()).slice(log0)
    return count(log, 'HEAD', head('direct')) === 1 && proxies.hanging.hanging >= 1 ? true : undefined
  }, 60_000, 50)
  await ticking
  const ended = Date.now()
  const first = (await app.inject({ method: 'GET', url: '/watch', headers: bearer() })).json() as { services: Array<{ service: string, state: string, message?: string }>, registries: RegistryView[] }
  const stateOf = (kind: Kind | 'direct'): string | undefined => first.services.find((v) => v.service === names[kind])?.state
  const registryOf = (kind: Kind): RegistryView | undefined => first.registries.find((r) => r.registry === proxies[kind].address)
  for (const kind of ['limited', 'failing', 'hanging', 'resetting'] as const) assert.equal(stateOf(kind), 'deferred', `${kind}: ${JSON.stringify(first.services)}`)
  assert.equal(stateOf('direct'), 'updating')
  assert.equal(stateOf('remaining'), 'updating', 'the answer that said 0 remaining was still used')
  assert.equal(first.registries.length, 5, JSON.stringify(first.registries))
  assert.ok(first.registries.every((r) => r.state === 'deferred' && typeof r.message === 'string'))
  assert.equal(first.registries.find((r) => r.registry === registry.address), undefined, 'the direct registry is not deferred')
  // Retry-After: 20 s from the answer (longer than the hang, so still ahead when read); the others back off from 1 min (WATCH_INTERVAL is 1 h).
  const untilOf = (kind: Kind): number => Date.parse(registryOf(kind)!.until!)
  assert.ok(untilOf('limited') >= started + 20_000 && untilOf('limited') <= ended + 20_000, `Retry-After honoured: ${registryOf('limited')!.until}`)
  for (const kind of ['remaining', 'failing', 'hanging', 'resetting'] as const) {
    assert.ok(untilOf(kind) >= started + 60_000 && untilOf(kind) <= ended + 60_000, `${kind} backs off 1 min: ${registryOf(kind)!.until}`)
  }
  assert.match(registryOf('remaining')!.message!, /RateLimit-Remaining is 0/)
  assert.match(registryOf('hanging')!.message!, /did not answer within 8000 ms/, 'the hung request was given up at WATCH_TIMEOUT')
  assert.match(registryOf('limited')!.message!, /429/)
  const sent1 = sent()
  for (const kind of faults) assert.ok(sent1[kind] - sent0[kind] >= 1, `${kind} was asked`)
  const log1 = (await registry.accessLog()).slice(log0)
  for (const kind of ['limited', 'failing', 'hanging', 'resetting'] as const) assert.equal(log1.filter((e) => e.path === head(kind) && !e.agent.startsWith('docker/')).length, 0, `${kind}: nothing reached the registry`)
  assert.equal(count(log1, 'HEAD', head('remaining')), 1)

  // At once again: no request to a deferred registry (no hot loop), the direct one checked as usual.
  const second = await cycle(app)
  const log2 = (await registry.accessLog()).slice(log0 + log1.length)
  assert.deepEqual(sent(), sent1, 'deferred registries are not asked')
  assert.equal(count(log2, 'HEAD', head('remaining')), 0)
  assert.equal(count(log2, 'HEAD', head('direct')), 1)
  for (const kind of faults) assert.equal(second.services.find((v) => v.service === names[kind])?.state, 'deferred', kind)

  // The updates the checks started end completed, on the pushed digests; none failed.
  for (const kind of ['direct', 'remaining'] as const) {
    await until(`${kind} on the pushed digest`, async () => {
      const now = await inspect(names[kind])
      return now.Spec.TaskTemplate.ContainerSpec.Image.endsWith(`@${moved[kind].digest}`) && now.UpdateStatus?.State === 'completed' ? true : undefined
    }, 120_000, 250)
  }
  const records = await until('final records', async () => {
    const page = (await app.inject({ method: 'GET', url: '/updates', headers: bearer() })).json() as { updates: Array<{ service: string, status: string, trigger: string }> }
    return page.updates.length === 2 && page.updates.every((u) => u.status === 'completed') ? page.updates : undefined
  }, 60_000, 250)
  assert.deepEqual(records.map((r) => r.service).sort(), [names.direct, names.remaining].sort())
  assert.ok(records.every((r) => r.trigger === 'watch'))

  // Once the Retry-After has passed, that registry is asked again (and now answers).
  proxies.limited.fault = { kind: 'pass' }
  await sleep(Math.max(0, untilOf('limited') - Date.now() + 100))
  const log3start = (await registry.accessLog()).length
  const third = await cycle(app)
  const log3 = (await registry.accessLog()).slice(log3start)
  assert.ok(sent().limited >= sent1.limited + 1, 'asked again after Retry-After')
  assert.equal(count(log3, 'HEAD', head('limited')), 1)
  assert.equal(third.services.find((v) => v.service === names.limited)?.state, 'up_to_date')
  assert.equal(third.registries.find((r) => r.registry === proxies.limited.address), undefined)
  assert.deepEqual(third.registries.map((r) => r.registry).sort(), ['remaining', 'failing', 'hanging', 'resetting'].map((k) => proxies[k as Kind].address).sort())
})
