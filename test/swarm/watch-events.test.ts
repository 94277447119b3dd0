import { test } from 'node:test'
import assert from 'node:assert/strict'
import { build } from '../helper.ts'
import { createService, docker, pushImage, REGISTRY, swarmSkip, uniqueName, until } from '../swarm-fixtures.ts'
import { watchLabels, watchOf } from '../watch-fixtures.ts'

/**
 * DESIGN §7: services created, relabelled and removed while the updater runs are picked up from the
 * `docker events` stream, with no restart and no POST /watch/check (the periodic listing is 5 min
 * away; each wait here is far shorter).
 */
test('swarm: a watched service created, relabelled and removed while the updater runs is picked up from docker events', { skip: swarmSkip }, async (t) => {
  const repo = uniqueName('cu-we')
  await pushImage(repo, '1.2.3')
  // A service there before the start: once it is listed, the first listing is done (a service in
  // it gets its first check spread over the interval, as every service at start).
  const anchor = uniqueName('cu-we-anchor')
  await createService(t, anchor, `${REGISTRY}/${repo}:1.2.3`, watchLabels('true'))
  const app = await build(t, { WATCH: 'true', WATCH_INTERVAL: '1h' })
  await until('the first listing', async () => (await watchOf(app, anchor)) !== undefined ? true : undefined, 60_000, 250)
  const name = uniqueName('cu-we')
  await createService(t, name, `${REGISTRY}/${repo}:1.2.3`, watchLabels('true'))
  const created = await until('the new service checked', async () => {
    const view = await watchOf(app, name)
    return view?.lastCheckedAt !== null && view?.lastCheckedAt !== undefined ? view : undefined
  }, 60_000, 250)
  assert.equal(created.state, 'up_to_date')
  assert.equal(created.policy, 'digest')

  await docker('service', 'update', '--detach', '--label-add', 'container-updater.policy=semver:minor', '--label-add', 'container-updater.schedule=15m', name)
  const relabelled = await until('the new labels', async () => {
    const view = await watchOf(app, name)
    return view?.policy === 'semver:minor' && view.lastCheckedAt !== created.lastCheckedAt ? view : undefined
  }, 60_000, 250)
  assert.equal(relabelled.schedule, '15m')
  assert.equal(relabelled.state, 'up_to_date', relabelled.message)

  await docker('service', 'rm', name)
  await until('the removed service gone', async () => (await watchOf(app, name)) === undefined ? true : undefined, 60_000, 250)
})
