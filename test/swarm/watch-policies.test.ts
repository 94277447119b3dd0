import { test } from 'node:test'
import assert from 'node:assert/strict'
import { bearer, build } from '../helper.ts'
import { assertDocumented, openApi } from '../fault-fixtures.ts'
import { createService, digestOf, inspect, pushImage, REGISTRY, swarmSkip, uniqueName } from '../swarm-fixtures.ts'
import { checkCycle, landsOn, noticeReceiver, watchLabels, watchOf } from '../watch-fixtures.ts'

/**
 * The registry watcher on the real Swarm against the loopback registry (no auth): the tags of the
 * issue are pushed, one service per policy, and after one check every service is where DESIGN §7
 * says (read back with `docker service inspect`); a digest moved under a tag is rolled out; a
 * `watch=notify` service is left alone and notified once, however many cycles follow.
 */
test('swarm: watch policies move each service exactly where §7 says; a moved digest rolls out; notify changes nothing and notifies once', { skip: swarmSkip }, async (t) => {
  const repo = uniqueName('cu-watch')
  const tags = ['1.2.3', '1.2.4', '1.3.0', '2.0.0', '1.2.3-alpine', '1.3.0-alpine', '1.4.0-rc1', 'stable']
  const pushed: Record<string, string> = {}
  for (const tag of tags) pushed[tag] = (await pushImage(repo, tag)).digest
  const image = (tag: string): string => `${REGISTRY}/${repo}:${tag}`
  const services = {
    patch: { name: uniqueName('cu-w-patch'), from: '1.2.3', labels: watchLabels('true', 'semver:patch'), to: '1.2.4' },
    minor: { name: uniqueName('cu-w-minor'), from: '1.2.3', labels: watchLabels('true', 'semver:minor'), to: '1.3.0' },
    major: { name: uniqueName('cu-w-major'), from: '1.2.3', labels: watchLabels('true', 'semver:major'), to: '2.0.0' },
    alpine: { name: uniqueName('cu-w-alpine'), from: '1.2.3-alpine', labels: watchLabels('true', 'semver:major'), to: '1.3.0-alpine' },
    glob: { name: uniqueName('cu-w-glob'), from: '1.2.3', labels: watchLabels('true', 'glob:1.*'), to: '1.4.0-rc1' },
    digest: { name: uniqueName('cu-w-digest'), from: 'stable', labels: watchLabels('true'), to: 'stable' },
    notify: { name: uniqueName('cu-w-notify'), from: '1.2.3', labels: watchLabels('notify', 'semver:minor'), to: '1.2.3' }
  }
  await Promise.all(Object.values(services).map(async (s) => createService(t, s.name, image(s.from), s.labels)))
  // The digest moves under `stable` after its service pinned the first one.
  const moved = (await pushImage(repo, 'stable')).digest
  assert.notEqual(moved, pushed.stable)
  const notifyBefore = (await inspect(services.notify.name)).Spec.TaskTemplate.ContainerSpec.Image

  const receiver = await noticeReceiver(t)
  const app = await build(t, { WATCH: 'true', WATCH_INTERVAL: '1h', UPDATE_TIMEOUT: '180', NOTIFY_URLS: `json+${receiver.url}` })
  const names = Object.values(services).map((s) => s.name)
  await checkCycle(app, names)

  for (const [kind, s] of Object.entries(services)) {
    if (kind === 'notify') continue
    const want = kind === 'digest' ? `${image('stable')}@${moved}` : `${image(s.to)}@${pushed[s.to]}`
    await landsOn(s.name, (img) => img === want, want)
  }
  const notifyAfter = (await inspect(services.notify.name)).Spec.TaskTemplate.ContainerSpec.Image
  assert.equal(notifyAfter, notifyBefore, 'watch=notify never updates')
  const notifyView = await watchOf(app, services.notify.name)
  assert.equal(notifyView?.state, 'update_available')
  assert.equal(notifyView?.available?.tag, '1.3.0')
  assert.equal(notifyView?.available?.digest, pushed['1.3.0'])
  assert.equal(notifyView?.policy, 'semver:minor')
  assert.equal(notifyView?.schedule, '1h')
  assert.equal(notifyView?.minAge, '0s')

  // The whole answer is what the OpenAPI document promises.
  const watchBody = (await app.inject({ method: 'GET', url: '/watch', headers: bearer() })).json()
  assertDocumented(await openApi(app), { method: 'get', path: '/watch' }, 200, watchBody)

  // The records say who and why.
  const records = await app.inject({ method: 'GET', url: `/updates?service=${services.minor.name}`, headers: bearer() })
  const [record] = records.json().updates as Array<Record<string, unknown>>
  assert.equal(record?.trigger, 'watch')
  assert.equal(record?.requestedBy, 'watch')
  assert.equal(record?.reason, 'semver:minor 1.2.3 → 1.3.0')
  assert.equal(record?.status, 'completed')
  const digestRecord = (await app.inject({ method: 'GET', url: `/updates?service=${services.digest.name}`, headers: bearer() })).json().updates[0] as Record<string, unknown>
  assert.equal(digestRecord.reason, `digest ${pushed.stable!.slice(0, 9)}… → ${moved.slice(0, 9)}…`)
  assert.equal(digestOf(String(digestRecord.image)), moved)

  // Two more cycles: everything up to date, no second update, no second `available`.
  await checkCycle(app, names)
  await checkCycle(app, names)
  for (const [kind, s] of Object.entries(services)) {
    const view = await watchOf(app, s.name)
    assert.equal(view?.state, kind === 'notify' ? 'update_available' : 'up_to_date', `${kind}: ${view?.message ?? ''}`)
    const list = (await app.inject({ method: 'GET', url: `/updates?service=${s.name}`, headers: bearer() })).json().updates as unknown[]
    assert.equal(list.length, kind === 'notify' ? 0 : 1, `${kind}: one update`)
  }
  await app.close() // delivers what is queued
  const available = receiver.notices.filter((n) => n.event === 'available')
  assert.deepEqual(available.map((n) => [n.body.service, n.body.image, n.body.digest, n.body.reason]), [
    [services.notify.name, image('1.3.0'), pushed['1.3.0'], 'semver:minor 1.2.3 → 1.3.0']
  ])
  assert.equal(receiver.notices.filter((n) => n.event === 'completed').length, 6, 'each update notified as usual')
})
