import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { bearer } from '../helper.ts'
import { swarmSkip, uniqueName } from '../swarm-fixtures.ts'
import { startTokenRegistry } from '../token-registry.ts'
import { count, createWatchedService as createService, cycle, manifestGets, watcher } from '../watch-registry-fixtures.ts'

/**
 * The watcher's registry traffic against a real registry behind a token realm (DESIGN §7), counted
 * where it lands: the realm's own request log and the registry's access log. Services are real Swarm
 * services pulled with the fixture's credentials. The watcher's listing is narrowed to this test's
 * services (the Swarm is shared: other engineers' watched services must not be checked or updated
 * from here); everything else is the real app, the real registry client and the real Docker CLI.
 */
test('swarm: behind a token realm, one HEAD per (registry, repository, tag) for 6 services, one tag listing per repository, tokens reused until they expire, the pushed digests', { skip: swarmSkip }, async (t) => {
  // 15 s tokens: the updater renews them 10 s early, so they are reused for 5 s.
  const registry = await startTokenRegistry(t, { tokenSeconds: 15 })
  const repoA = uniqueName('cu-watch-a')
  const repoB = uniqueName('cu-watch-b')
  const a = await registry.push(repoA, '1.2.3')
  await registry.push(repoA, '1.3.0')
  const b = await registry.push(repoB, 'stable')
  const names = Array.from({ length: 6 }, (_, i) => uniqueName(`cu-watch-${i}`))
  const imageA = `${registry.address}/${repoA}:1.2.3`
  const imageB = `${registry.address}/${repoB}:stable`
  // repoA:1.2.3: one by digest, two by semver:patch (which lists the tags and stays on 1.2.3);
  // repoB:stable: three that only notify, so a moved digest is shown and nothing is updated.
  await Promise.all([
    createService(t, registry, names[0]!, imageA, { 'container-updater.watch': 'true' }),
    createService(t, registry, names[1]!, imageA, { 'container-updater.watch': 'true', 'container-updater.policy': 'semver:patch' }),
    createService(t, registry, names[2]!, imageA, { 'container-updater.watch': 'true', 'container-updater.policy': 'semver:patch' }),
    ...names.slice(3).map((name) => createService(t, registry, name, imageB, { 'container-updater.watch': 'notify' }))
  ])
  const app = await watcher(t, registry, new Set(names))
  const headA = `/v2/${repoA}/manifests/1.2.3`
  const headB = `/v2/${repoB}/manifests/stable`
  const tagsA = `/v2/${repoA}/tags/list?n=1000`
  const granted = (): number => registry.tokenRequests.filter((r) => r.granted).length

  const log0 = await registry.accessLog()
  const tokens0 = granted()
  const first = await cycle(app)
  const log1 = (await registry.accessLog()).slice(log0.length)
  assert.equal(first.services.length, 6)
  for (const view of first.services) assert.equal(view.state, 'up_to_date', `${view.service}: ${view.message ?? ''}`)
  assert.deepEqual(first.services.filter((v) => v.current.tag === '1.2.3').map((v) => v.current.digest), [a.digest, a.digest, a.digest])
  assert.deepEqual(first.services.filter((v) => v.current.tag === 'stable').map((v) => v.current.digest), [b.digest, b.digest, b.digest])
  // The bearer challenge answered: a 401 from the registry, a token from the realm, then a 200.
  assert.equal(count(log1, 'HEAD', headA), 1, 'one HEAD of repoA:1.2.3 for three services')
  assert.equal(count(log1, 'HEAD', headB), 1, 'one HEAD of repoB:stable for three services')
  assert.equal(count(log1, 'GET', tagsA), 1, 'one tag listing of repoA for two semver services')
  assert.equal(manifestGets(log1), 0, 'no manifest GET when nothing changed')
  assert.ok(count(log1, 'HEAD', headA, 401) + count(log1, 'GET', tagsA, 401) >= 1, 'the registry challenged')
  assert.equal(granted() - tokens0, 2, 'one token per repository')
  assert.ok(registry.tokenRequests.slice(tokens0).every((r) => r.user === 'cu-watch' && r.service === 'cu-test-registry' && /^repository:cu-watch-[ab]-[0-9a-f]+:pull$/.test(r.scope ?? '')))

  // At once again: the same requests, and the tokens reused (none asked, no 401).
  const second = await cycle(app)
  const log2 = (await registry.accessLog()).slice(log0.length + log1.length)
  assert.ok(second.services.every((v) => v.state === 'up_to_date'))
  assert.equal(count(log2, 'HEAD', headA), 1)
  assert.equal(count(log2, 'HEAD', headB), 1)
  assert.equal(count(log2, 'GET', tagsA), 1)
  assert.equal(manifestGets(log2), 0)
  assert.equal(granted() - tokens0, 2, 'tokens reused within their lifetime')
  assert.equal(count(log2, 'HEAD', headA, 401) + count(log2, 'HEAD', headB, 401) + count(log2, 'GET', tagsA, 401), 0, 'no challenge while the tokens hold')

  // The same traffic in /metrics, as the updater counted it: 2 HEADs and a listing per cycle.
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  const series = (labels: string): number => Number(metrics.split('\n').find((l) => l.startsWith(`container_updater_watch_registry_requests_total{registry="${registry.address}",${labels}} `))?.split(' ')[1])
  assert.equal(series('method="HEAD",status="200"'), 4)
  assert.equal(series('method="GET",status="200"'), 2)
  assert.ok(series('method="HEAD",status="401"') + (series('method="GET",status="401"') || 0) >= 1, 'the challenge counted')
  assert.match(metrics, new RegExp(`^container_updater_watch_checks_total\\{registry="${registry.address}",result="up_to_date"\\} 12$`, 'm'))

  // Once the tokens are past their lifetime (less the updater's 10 s margin), new ones are asked.
  await sleep(6000)
  const pushed = await registry.push(repoB, 'stable')
  assert.notEqual(pushed.digest, b.digest)
  const before = (await registry.accessLog()).length
  const tokens2 = granted()
  const third = await cycle(app)
  const log3 = (await registry.accessLog()).slice(before)
  assert.equal(granted() - tokens2, 2, 'one new token per repository after expiry')
  assert.equal(count(log3, 'HEAD', headB), 1)
  assert.equal(manifestGets(log3), 0)
  // The moved digest, as `docker push` printed it, offered to the notify services; nothing updated.
  const notified = third.services.filter((v) => v.current.tag === 'stable')
  assert.deepEqual(notified.map((v) => [v.state, v.available?.digest]), [['update_available', pushed.digest], ['update_available', pushed.digest], ['update_available', pushed.digest]])
  const updates = (await app.inject({ method: 'GET', url: '/updates', headers: bearer() })).json()
  assert.equal(updates.updates.length, 0, 'watch=notify and up-to-date services start no update')
})
