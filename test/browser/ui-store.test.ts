import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { build, postUpdate, token } from '../helper.ts'
import { REGISTRY, createService, inspect, pushImage, swarmSkip, uniqueName } from '../swarm-fixtures.ts'
import { tmpfs } from '../unit/store-fixtures.ts'
import { openDashboard, statusOf, signIn } from './browser-fixtures.ts'

/**
 * The store unavailable for real (ui-errors.test.ts gives the page a 503 instead): the server's
 * DATA_DIR on a small tmpfs that fills up under it while the page is open.
 */
test('swarm: the record store fails under a running server (its volume full): "Update now" says the store is unavailable and why, Docker is not touched, and it works again once there is room', { skip: swarmSkip }, async (t) => {
  const mount = tmpfs(t, '4m')
  if (mount === undefined) return t.skip('cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)')
  const name = uniqueName('cu-ui-st')
  await pushImage(name, 'latest')
  await createService(t, name, `${REGISTRY}/${name}:latest`)
  const app = await build(t, { DATA_DIR: join(mount, 'data'), POLL_INTERVAL_MS: '200', UPDATE_TIMEOUT: '90' })
  const jwt = token({ services: [name] })
  // A record, so that the services view has a row for the service.
  assert.equal((await postUpdate(app, { appName: name }, { authorization: `Bearer ${jwt}` })).statusCode, 200)
  const { page } = await openDashboard(t, app)
  await signIn(page, jwt)
  const row = page.locator(`tr[data-service="${name}"]`)
  await row.waitFor({ timeout: 20_000 })

  // Fill the volume: the next write of the store (the new record) has no room.
  const ballast = join(mount, 'ballast')
  assert.throws(() => writeFileSync(ballast, Buffer.alloc(8 * 1024 * 1024)), /ENOSPC/)
  const before = (await inspect(name)).Version.Index
  await row.getByRole('button', { name: 'Update now' }).click()
  await page.locator('#status.error', { hasText: 'The record store is unavailable' }).waitFor({ timeout: 20_000 }).catch(async (error: Error) => {
    throw new Error(`${error.message}; the page says "${await statusOf(page)}"`)
  })
  const said = await statusOf(page)
  assert.match(said, /disk full/)
  assert.match(said, /no update can be recorded or read until it is fixed/)
  assert.doesNotMatch(said, /\n\s+at /, 'no stack trace')
  assert.equal((await inspect(name)).Version.Index, before, 'Docker was not asked to update')

  // Room again: the same button works, and the row follows the update live.
  rmSync(ballast)
  await row.getByRole('button', { name: 'Update now' }).click()
  await page.locator('#status', { hasText: 'this page follows it live' }).waitFor({ timeout: 20_000 })
  await row.locator('td.state', { hasText: 'completed' }).waitFor({ timeout: 90_000 })
  assert.ok((await inspect(name)).Version.Index > before, 'the update ran')
})
