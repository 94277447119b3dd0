import { test } from 'node:test'
import assert from 'node:assert/strict'
import { build, token } from '../helper.ts'
import { REGISTRY, createService, digestOf, inspect, pushImage, swarmSkip, uniqueName } from '../swarm-fixtures.ts'
import { openDashboard, signIn, statusOf } from './browser-fixtures.ts'

/** The page follows watch-state changes from GET /events (`event: watch`), not only records. */

test('swarm: a watch state change shows in the row without a reload: a new digest in the registry turns the row "update available" live', { skip: swarmSkip }, async (t) => {
  const name = uniqueName('cu-ui-wt')
  const v1 = await pushImage(name, 'latest')
  await createService(t, name, `${REGISTRY}/${name}:latest`, ['--label', 'container-updater.watch=notify'])
  const serviceId = (await inspect(name)).ID
  const app = await build(t, { POLL_INTERVAL_MS: '200' })
  const jwt = token({ services: [name] })
  // The scheduler is not started in tests (no other service of the Swarm is checked): one check here.
  const check = async (): Promise<void> => { app.watch.scheduler.checkNow([serviceId]); await app.watch.scheduler.tick() }
  await check()

  const { page, requested, origin } = await openDashboard(t, app)
  await signIn(page, jwt)
  const row = page.locator(`tr[data-service="${name}"]`)
  await row.locator('td.state[data-state="up_to_date"]').waitFor({ timeout: 20_000 }).catch(async (error: Error) => {
    throw new Error(`${error.message}; the page says "${await statusOf(page)}"`)
  })
  assert.match(await row.locator('td[data-label="Available"]').innerText(), /^none$/)
  assert.equal(await row.locator('td[data-label="Gates"]').innerText(), '–', 'no min-age label: no "min age 0s" gate')
  const watchLoads = (): number => requested.filter((u) => u === `${origin}/watch`).length
  const loadsBefore = watchLoads()
  assert.equal(loadsBefore, 1, 'the page read GET /watch once')

  const v2 = await pushImage(name, 'latest')
  await check()
  await row.locator('td.state[data-state="update_available"]').waitFor({ timeout: 20_000 })
  assert.match(await row.locator('td[data-label="Available"]').innerText(), new RegExp(`^latest \\(${v2.digest.slice(0, 19)}`))
  assert.equal(watchLoads(), loadsBefore, 'no reload: the change came through /events')
  assert.equal(digestOf((await inspect(name)).Spec.TaskTemplate.ContainerSpec.Image), v1.digest, 'notify only: nothing rolled out')
})
