import { test } from 'node:test'
import assert from 'node:assert/strict'
import { build, postUpdate, token } from '../helper.ts'
import { REGISTRY, createService, digestOf, inspect, pushImage, swarmSkip, uniqueName } from '../swarm-fixtures.ts'
import { openDashboard, seriousViolations, signIn, statusOf } from './browser-fixtures.ts'

/**
 * The dashboard's actions on the routes of DESIGN §8 (docs/API.md): POST /rollback, GET/POST/DELETE
 * /freezes, POST /updates/:id/approve|reject, against the real server on the real Swarm.
 */

const bearerOf = (jwt: string) => ({ authorization: `Bearer ${jwt}` })
const specDigest = async (name: string): Promise<string | undefined> => digestOf((await inspect(name)).Spec.TaskTemplate.ContainerSpec.Image)

test('swarm: "Roll back" from the page restores the previous digest live; the record is action rollback, trigger ui', { skip: swarmSkip }, async (t) => {
  const name = uniqueName('cu-ui-rb')
  const v1 = await pushImage(name, 'latest')
  await createService(t, name, `${REGISTRY}/${name}:latest`)
  const app = await build(t, { POLL_INTERVAL_MS: '200', UPDATE_TIMEOUT: '90' })
  const jwt = token({ services: [name] })
  const v2 = await pushImage(name, 'latest')
  assert.equal((await postUpdate(app, { appName: name }, bearerOf(jwt))).statusCode, 200)
  assert.equal(await specDigest(name), v2.digest)

  const { page } = await openDashboard(t, app)
  await signIn(page, jwt)
  const row = page.locator(`tr[data-service="${name}"]`)
  await row.waitFor({ timeout: 20_000 })
  await row.getByRole('button', { name: 'Roll back' }).click()
  await row.locator('td.image', { hasText: v1.digest }).waitFor({ timeout: 90_000 }).catch(async (error: Error) => {
    throw new Error(`${error.message}; the page says "${await statusOf(page)}"`)
  })
  await row.locator('td.state', { hasText: 'completed' }).waitFor({ timeout: 90_000 })
  assert.equal(await specDigest(name), v1.digest, 'Swarm runs the previous spec again')
  const record = (await app.inject({ url: `/updates?service=${name}&limit=1`, headers: bearerOf(jwt) })).json().updates[0]
  assert.equal(record.action, 'rollback')
  assert.equal(record.trigger, 'ui')
})

test('swarm: an admin freezes a service from the page (it shows in the row, Update now is refused with the freeze\'s reason) and ends the freeze', { skip: swarmSkip }, async (t) => {
  const name = uniqueName('cu-ui-fz')
  await pushImage(name, 'latest')
  await createService(t, name, `${REGISTRY}/${name}:latest`)
  const app = await build(t, { POLL_INTERVAL_MS: '200' })
  const jwt = token({ services: [name], access: 'admin' })
  assert.equal((await postUpdate(app, { appName: name }, bearerOf(jwt))).statusCode, 200)
  const before = (await inspect(name)).Version.Index

  const { page } = await openDashboard(t, app)
  await signIn(page, jwt)
  const row = page.locator(`tr[data-service="${name}"]`)
  await row.waitFor({ timeout: 20_000 })
  await page.locator('#freeze-form').waitFor()
  await page.getByLabel('Services (names or globs').fill(name)
  await page.getByLabel('Until').fill(new Date(Date.now() + 3600_000 - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 16))
  await page.getByLabel('Reason').fill('release night')
  await page.getByRole('button', { name: 'Freeze', exact: true }).click()
  await row.locator('td[data-label="Gates"]', { hasText: 'frozen until' }).waitFor()
  assert.match(await row.innerText(), /release night/)
  assert.deepEqual(await seriousViolations(page), [], 'axe with a freeze')
  await row.getByRole('button', { name: 'Update now' }).click()
  await page.locator('#status.error', { hasText: 'release night' }).waitFor()
  assert.equal((await inspect(name)).Version.Index, before, 'a frozen service is not touched')
  await page.locator('#freeze-rows').getByRole('button', { name: 'End freeze' }).click()
  await row.locator('td[data-label="Gates"]', { hasText: '–' }).waitFor()
  const listed = (await app.inject({ url: '/freezes', headers: bearerOf(jwt) })).json() as unknown[] | { freezes: unknown[] }
  assert.deepEqual(Array.isArray(listed) ? listed : listed.freezes, [], 'the freeze is gone')
})

test('swarm: Approve and Reject from the page: a watched service with approve=true waits for the admin; approved it rolls out, rejected it ends rejected', { skip: swarmSkip }, async (t) => {
  const name = uniqueName('cu-ui-ap')
  await pushImage(name, 'latest')
  await createService(t, name, `${REGISTRY}/${name}:latest`, ['--label', 'container-updater.watch=true', '--label', 'container-updater.approve=true'])
  const serviceId = (await inspect(name)).ID
  const app = await build(t, { POLL_INTERVAL_MS: '200', UPDATE_TIMEOUT: '90' })
  const jwt = token({ services: [name], access: 'admin' })
  // The scheduler is not started in tests (no other service of the Swarm is checked): one check here.
  const check = async (): Promise<void> => { app.watch.scheduler.checkNow([serviceId]); await app.watch.scheduler.tick() }
  const v2 = await pushImage(name, 'latest')
  await check()

  const { page } = await openDashboard(t, app)
  await signIn(page, jwt)
  const row = page.locator(`tr[data-service="${name}"]`)
  await row.getByRole('button', { name: 'Approve' }).waitFor({ timeout: 20_000 })
  assert.match(await row.innerText(), /waiting for approval/)
  assert.deepEqual(await seriousViolations(page), [], 'axe with an approval pending')
  await row.getByRole('button', { name: 'Approve' }).click()
  await row.locator('td.state', { hasText: 'completed' }).waitFor({ timeout: 90_000 }).catch(async (error: Error) => {
    throw new Error(`${error.message}; the row says "${await row.innerText()}", the page "${await statusOf(page)}"`)
  })
  assert.equal(await specDigest(name), v2.digest)

  await pushImage(name, 'latest')
  await check()
  await page.reload()
  await row.getByRole('button', { name: 'Reject' }).waitFor({ timeout: 20_000 })
  await row.getByRole('button', { name: 'Reject' }).click()
  await row.locator('td.state', { hasText: 'rejected' }).waitFor({ timeout: 20_000 })
  assert.equal(await specDigest(name), v2.digest, 'a rejected update changes nothing')
})
