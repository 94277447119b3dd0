import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { chromium, type Page } from 'playwright-core'
import { build, postUpdate, token } from '../helper.ts'
import { REGISTRY, createService, digestOf, inspect, pushImage, swarmSkip, uniqueName } from '../swarm-fixtures.ts'

const CHROMIUM = '/usr/bin/chromium'
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

async function seriousViolations (page: Page): Promise<string[]> {
  await page.evaluate(axeSource)
  const result = await page.evaluate(async () => (globalThis as unknown as { axe: { run: () => Promise<{ violations: Array<{ id: string, impact: string }> }> } }).axe.run())
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)
}

test('swarm: the dashboard: sign in, see the service and its image, "Update now" turns it updating then completed live, Docker has the new digest; same origin only, no token in a URL or the log, no serious axe violation', { skip: swarmSkip }, async (t) => {
  const name = uniqueName('cu-ui')
  await pushImage(name, 'latest')
  await createService(t, name, `${REGISTRY}/${name}:latest`)
  const logs: string[] = []
  const app = await build(t, { POLL_INTERVAL_MS: '200', UPDATE_TIMEOUT: '90' }, { logger: { level: 'info', stream: { write: (line: string) => { logs.push(line) } } } })
  // The service's first record, so that the services view lists it (without the watcher it lists recorded services).
  const jwt = token({ services: [name] })
  assert.equal((await postUpdate(app, { appName: name }, { authorization: `Bearer ${jwt}` })).statusCode, 200)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const v2 = await pushImage(name, 'latest')

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  t.after(() => browser.close())
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  const page = await context.newPage()
  const requested: string[] = []
  await page.route('**/*', async (route) => {
    const url = route.request().url()
    requested.push(url)
    if (!url.startsWith(`${origin}/`)) return route.abort()
    return route.continue()
  })
  const cspErrors: string[] = []
  page.on('console', (m) => { if (m.type() === 'error') cspErrors.push(m.text()) })

  await page.goto(`${origin}/ui`)
  assert.deepEqual(await seriousViolations(page), [], 'axe on the sign-in view')
  await page.getByLabel('Token').fill(jwt)
  await page.keyboard.press('Enter')
  const row = page.locator(`tr[data-service="${name}"]`)
  await row.waitFor({ timeout: 20_000 }).catch(async (error: Error) => {
    throw new Error(`${error.message}; the page says "${await page.locator('#status').innerText()}"; console: ${cspErrors.join(' | ')}`)
  })
  assert.match(await row.innerText(), new RegExp(`${REGISTRY}/${name}:latest`))
  assert.deepEqual(await seriousViolations(page), [], 'axe on the services view')
  await page.screenshot({ path: 'docs/screenshots/services-1280x800.png' })

  await row.getByRole('button', { name: 'Update now' }).click()
  await row.locator('td.state', { hasText: 'updating' }).waitFor({ timeout: 60_000 })
  await row.locator('td.state', { hasText: 'completed' }).waitFor({ timeout: 90_000 })
  assert.equal(digestOf((await inspect(name)).Spec.TaskTemplate.ContainerSpec.Image), v2.digest)
  assert.match(await row.innerText(), new RegExp(v2.digest))

  await page.getByRole('button', { name: 'History' }).click()
  await page.locator('#history-rows tr').first().waitFor()
  await page.locator('#chart svg').waitFor()
  assert.deepEqual(await seriousViolations(page), [], 'axe on the history view')
  await page.locator('#history-rows').getByRole('button', { name: 'Details' }).first().click()
  await page.locator('#detail').waitFor()
  assert.deepEqual(await seriousViolations(page), [], 'axe on a record\'s detail')
  await page.screenshot({ path: 'docs/screenshots/history-1280x800.png', fullPage: true })
  await page.setViewportSize({ width: 390, height: 844 })
  await page.getByRole('button', { name: 'Services' }).click()
  await page.screenshot({ path: 'docs/screenshots/services-390x844.png', fullPage: true })

  assert.deepEqual(requested.filter((u) => !u.startsWith(`${origin}/`)), [], 'no request to another origin')
  assert.deepEqual(requested.filter((u) => u.includes(jwt)), [], 'no token in a requested URL')
  assert.deepEqual(logs.filter((l) => l.includes(jwt)), [], 'no token in the server log')
  assert.deepEqual(cspErrors.filter((m) => /Content Security Policy/i.test(m)), [], 'no CSP refusal')
})
