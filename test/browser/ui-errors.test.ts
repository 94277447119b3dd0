import { test } from 'node:test'
import assert from 'node:assert/strict'
import { build, craftToken, nowSeconds, token } from '../helper.ts'
import { dockerErrors, faultyDocker } from '../fault-fixtures.ts'
import { openDashboard, seriousViolations, signIn } from './browser-fixtures.ts'

/**
 * The dashboard's error states say what happened (docs/UI.md): an expired token, Docker down (the
 * real server with DOCKER_BIN a wrapper whose every call fails with Docker's own text), an empty
 * scope, and the record store unavailable.
 */
test('faults: the dashboard says what happened: an expired token goes back to sign-in, Docker down is said at once and on "Update now", nothing in scope is an empty state, the store unavailable is named', async (t) => {
  const docker = await faultyDocker(t, [{ fault: 'fail', stderr: dockerErrors.unreachable, exitCode: 1 }])
  const app = await build(t, { DOCKER_BIN: docker.bin, EVENTS_STREAM: 'false' })
  // A record of an earlier update, so that the services view has a row to act on.
  const startedAt = new Date(Date.now() - 60_000).toISOString()
  const id = '00000000-0000-4000-8000-0000000000e1'
  const image = (digit: string): string => `127.0.0.1:5000/web-down:latest@sha256:${digit.repeat(64)}`
  app.updater.store.save({ updateId: id, appName: 'web-down', service: 'web-down', status: 'completed', serviceId: 'x'.repeat(25), previousImage: image('a'), image: image('b'), startedAt, finishedAt: startedAt, durationMs: 1500, statusUrl: `/updates/${id}`, trigger: 'api' })
  const { page, requested } = await openDashboard(t, app)

  const expired = await craftToken({ alg: 'HS256', typ: 'JWT' }, { sub: 'test', iat: nowSeconds() - 7200, exp: nowSeconds() - 3600 })
  await signIn(page, expired)
  await page.locator('#status', { hasText: 'Your token was refused (expired or invalid)' }).waitFor()
  assert.ok(await page.locator('#signin').isVisible(), 'back at the sign-in form')
  assert.equal(await page.evaluate(() => sessionStorage.getItem('container-updater-token')), null, 'the refused token is forgotten')
  assert.deepEqual(await seriousViolations(page), [], 'axe on the refused sign-in')

  await signIn(page, token({ services: ['web-down'] }))
  const banner = page.locator('#docker')
  await banner.waitFor()
  assert.match(await banner.innerText(), /^Docker is unavailable: cannot connect to the Docker daemon/i)
  const row = page.locator('tr[data-service="web-down"]')
  await row.waitFor()
  await row.getByRole('button', { name: 'Update now' }).click()
  await page.locator('#status.error', { hasText: 'Docker is unavailable' }).waitFor()
  assert.match(await page.locator('#status').innerText(), /cannot connect to the Docker daemon/i)
  assert.deepEqual(await seriousViolations(page), [], 'axe with Docker down')
  await page.screenshot({ path: 'docs/screenshots/docker-down-1280x800.png' })

  // A token whose scope holds nothing: the view says so instead of an empty table.
  await page.getByRole('button', { name: 'Sign out' }).click()
  await signIn(page, token({ services: ['nothing-here'] }))
  await page.locator('#services-rows', { hasText: 'No service to show' }).waitFor()

  // The store failing is CU_STORE_UNAVAILABLE (proven against a real failing SQLite in
  // test/unit/store-failures.test.ts, and under a running server in ui-store.test.ts); here the History
  // view is given that answer (a read failing, which a full volume does not cause) to prove it names it.
  await page.route('**/updates?**', (route) => route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ statusCode: 503, error: 'Service Unavailable', message: 'The record store is unavailable: disk full while trying to read /data/updates.db (SQLITE_FULL): free space on the DATA_DIR volume', code: 'CU_STORE_UNAVAILABLE' }) }))
  await page.getByRole('button', { name: 'History' }).click()
  await page.locator('#status.error', { hasText: 'The record store is unavailable' }).waitFor()
  assert.match(await page.locator('#status').innerText(), /disk full/)
  assert.equal(requested.some((u) => u.includes('token')), false)
})
