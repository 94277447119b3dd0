import { test } from 'node:test'
import assert from 'node:assert/strict'
import { build, postUpdate, token } from '../helper.ts'
import { REGISTRY, createService, digestOf, inspect, pushImage, swarmSkip, uniqueName } from '../swarm-fixtures.ts'
import { apiCalls, openDashboard, seriousViolations, signIn, statusOf } from './browser-fixtures.ts'

/**
 * The dashboard in Debian's chromium against the real server on the real Swarm (docs/UI.md). Only
 * what this branch serves; the actions on routes other branches add (POST /rollback, /freezes,
 * approvals) are in ui-actions.test.ts.
 */

test('swarm: the dashboard: sign in, every service with its image from a handful of requests, Dry run by keyboard, "Update now" turns the row updating then completed live with trigger ui and Docker has the new digest; history filters, detail and charts; readable on a phone; same origin only, no token in a URL or the log, no serious axe violation', { skip: swarmSkip }, async (t) => {
  const name = uniqueName('cu-ui')
  const other = uniqueName('cu-ui2')
  const v1 = await pushImage(name, 'latest')
  await pushImage(other, 'latest')
  await createService(t, name, `${REGISTRY}/${name}:latest`)
  await createService(t, other, `${REGISTRY}/${other}:latest`)
  const logs: string[] = []
  const app = await build(t, { POLL_INTERVAL_MS: '200', UPDATE_TIMEOUT: '90' }, { logger: { level: 'info', stream: { write: (line: string) => { logs.push(line) } } } })
  // Each service's first record, so that the services view lists it (nothing is watched here).
  const jwt = token({ services: [name, other] })
  for (const appName of [name, other]) assert.equal((await postUpdate(app, { appName }, { authorization: `Bearer ${jwt}` })).statusCode, 200)
  const v2 = await pushImage(name, 'latest')

  const { page, origin, requested, consoleErrors } = await openDashboard(t, app)
  assert.deepEqual(await seriousViolations(page), [], 'axe on the sign-in view')
  await signIn(page, jwt)
  const row = page.locator(`tr[data-service="${name}"]`)
  await row.waitFor({ timeout: 20_000 }).catch(async (error: Error) => {
    throw new Error(`${error.message}; the page says "${await statusOf(page)}"; console: ${consoleErrors.join(' | ')}`)
  })
  await page.locator(`tr[data-service="${other}"]`).waitFor()
  assert.match(await row.innerText(), new RegExp(`${REGISTRY}/${name}:latest@${v1.digest}`))
  assert.match(await page.locator('#who').innerText(), /deploy access/)
  // A handful of requests for the whole view, whatever the number of services: none names a service.
  assert.deepEqual(apiCalls(requested, origin).sort(), ['/freezes', '/readyz', '/updates?limit=100', '/updates?status=pending_approval&limit=100', '/watch', '/whoami'])
  for (const label of ['Update now', 'Dry run', 'Roll back', 'Check now']) assert.equal(await row.getByRole('button', { name: label }).count(), 1, label)
  assert.equal(await row.getByRole('button', { name: 'Lift quarantine' }).count(), 0, 'admin actions only for admin tokens')
  assert.deepEqual(await seriousViolations(page), [], 'axe on the services view')
  await page.screenshot({ path: 'docs/screenshots/services-1280x800.png' })

  // By keyboard: focus the row's Dry run and press Enter; the plan is shown and focused.
  await row.getByRole('button', { name: 'Dry run' }).focus()
  await page.keyboard.press('Enter')
  await page.locator('#plan', { hasText: v2.digest }).waitFor()
  assert.match(await page.locator('#plan').innerText(), new RegExp(`→ ${REGISTRY}/${name}:latest`))
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'plan')
  assert.equal(digestOf((await inspect(name)).Spec.TaskTemplate.ContainerSpec.Image), v1.digest, 'a dry run changes nothing')

  await row.getByRole('button', { name: 'Update now' }).click()
  await row.locator('td.state', { hasText: 'updating' }).waitFor({ timeout: 60_000 })
  await row.locator('td.state', { hasText: 'completed' }).waitFor({ timeout: 90_000 })
  assert.equal(digestOf((await inspect(name)).Spec.TaskTemplate.ContainerSpec.Image), v2.digest)
  assert.match(await row.innerText(), new RegExp(v2.digest))
  const fromUi = (await app.inject({ url: `/updates?service=${name}&limit=1`, headers: { authorization: `Bearer ${jwt}` } })).json().updates[0]
  assert.equal(fromUi.trigger, 'ui', 'the record says the dashboard started it')
  assert.equal(fromUi.requestedBy, 'test')

  await page.getByRole('button', { name: 'History' }).click()
  await page.locator('#history-rows tr').nth(2).waitFor()
  await page.locator('#chart svg').first().waitFor()
  assert.equal(await page.locator('#chart svg').count(), 2, 'updates per day, and durations')
  assert.match(await page.locator('#chart svg title').first().innerHTML(), /3 completed/)
  // Not colour alone: the bar carries its mark and count, and each outcome has a pattern.
  assert.equal(await page.locator('#chart svg text', { hasText: '✓3' }).count(), 1)
  assert.equal(await page.locator('#chart pattern').count(), 4)
  assert.deepEqual(await seriousViolations(page), [], 'axe on the history view')
  // Filters: one service.
  await page.getByLabel('Service', { exact: true }).fill(other)
  await page.getByRole('button', { name: 'Filter' }).click()
  await page.locator('#history-rows tr').first().waitFor()
  await page.waitForFunction((svc) => [...document.querySelectorAll('#history-rows tr')].every((r) => r.textContent?.includes(svc)) && document.querySelectorAll('#history-rows tr').length === 1, other)
  await page.getByLabel('Service', { exact: true }).fill(name)
  await page.getByRole('button', { name: 'Filter' }).click()
  await page.locator(`#history-rows tr[data-update="${fromUi.updateId as string}"]`).getByRole('button', { name: 'Details' }).click()
  const detail = page.locator('#detail')
  await detail.waitFor()
  const text = await detail.innerText()
  assert.match(text, new RegExp(`${v1.digest} → ${v2.digest}`), 'from → to digest')
  assert.match(text, /Trigger\s+ui/)
  assert.match(text, /Who\s+test/)
  assert.match(text, /Duration\s+\d+\.\d s/)
  assert.deepEqual(await seriousViolations(page), [], 'axe on a record\'s detail')
  await page.screenshot({ path: 'docs/screenshots/history-1280x800.png', fullPage: true })

  await page.setViewportSize({ width: 390, height: 844 })
  await page.getByRole('button', { name: 'Services' }).click()
  await row.waitFor()
  const wide = await page.evaluate(() => [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 391 && (e as HTMLElement).offsetParent !== null && e.closest('thead') === null).map((e) => `${e.tagName}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`))
  assert.deepEqual(wide, [], 'nothing wider than the phone (column headings are hidden there: each cell names its column)')
  const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth)
  assert.ok(scrollWidth <= 390, `no horizontal scrolling: ${scrollWidth} px, ${JSON.stringify(await page.evaluate(() => [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 391 || e.scrollWidth > 391).map((e) => `${e.tagName}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().right)}/${e.scrollWidth}`)))}`)
  assert.deepEqual(await seriousViolations(page), [], 'axe on a phone')
  await page.screenshot({ path: 'docs/screenshots/services-390x844.png', fullPage: true })

  // The page's weight (docs/UI.md, "Size"): its own files as transferred.
  const bytes = await page.evaluate(() => (performance.getEntriesByType('navigation') as PerformanceResourceTiming[]).concat(performance.getEntriesByType('resource') as PerformanceResourceTiming[])
    .filter((e) => new URL(e.name).pathname.startsWith('/ui')).reduce((sum, e) => sum + e.encodedBodySize, 0))
  t.diagnostic(`the page's own files: ${bytes} bytes`)
  assert.ok(bytes > 0 && bytes < 64 * 1024, `the page stays light: ${bytes} bytes`)

  assert.deepEqual(requested.filter((u) => !u.startsWith(`${origin}/`)), [], 'no request to another origin')
  assert.deepEqual(requested.filter((u) => u.includes(jwt)), [], 'no token in a requested URL')
  assert.deepEqual(logs.filter((l) => l.includes(jwt)), [], 'no token in the server log')
  assert.deepEqual(consoleErrors.filter((m) => /Content Security Policy/i.test(m)), [], 'no CSP refusal')
})

test('swarm: a read token sees no action button, and the API refuses the actions if they are sent anyway (nothing changes in Docker)', { skip: swarmSkip }, async (t) => {
  const name = uniqueName('cu-ui-read')
  await pushImage(name, 'latest')
  await createService(t, name, `${REGISTRY}/${name}:latest`)
  const app = await build(t, { POLL_INTERVAL_MS: '200' })
  assert.equal((await postUpdate(app, { appName: name }, { authorization: `Bearer ${token({ services: [name] })}` })).statusCode, 200)
  await pushImage(name, 'latest')
  const before = await inspect(name)

  const { page } = await openDashboard(t, app)
  await signIn(page, token({ services: [name], access: 'read' }))
  const row = page.locator(`tr[data-service="${name}"]`)
  await row.waitFor({ timeout: 20_000 })
  assert.match(await page.locator('#who').innerText(), /read access/)
  assert.equal(await page.locator('#services button:visible:not(#refresh)').count(), 0, 'no action button at all (Refresh only reads)')
  assert.match(await row.innerText(), /read only/)
  assert.deepEqual(await seriousViolations(page), [], 'axe on the read-only view')

  // What a button would have sent, sent by hand from the page with its token.
  const answers = await page.evaluate(async (appName) => {
    const jwt = sessionStorage.getItem('container-updater-token') ?? ''
    const sent: Array<{ path: string, status: number, code?: string }> = []
    for (const [path, body] of [['/update', { appName, wait: false }], ['/update', { appName, dryRun: true }], ['/watch/check', { service: appName }]] as const) {
      const res = await fetch(path, { method: 'POST', headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json', 'x-container-updater-trigger': 'ui' }, body: JSON.stringify(body) })
      sent.push({ path, status: res.status, code: (await res.json() as { code?: string }).code })
    }
    return sent
  }, name)
  for (const answer of answers) assert.deepEqual({ status: answer.status, code: answer.code }, { status: 403, code: 'CU_ACCESS_DENIED' }, answer.path)
  const after = await inspect(name)
  assert.equal(after.Version.Index, before.Version.Index, 'the service was not touched')
  assert.equal((await app.inject({ url: `/updates?service=${name}`, headers: { authorization: `Bearer ${token()}` } })).json().updates.length, 1, 'no new record')
})

test('swarm: an admin token sees Lift quarantine and Check now on a watched service; lifting it from the page ends the quarantine', { skip: swarmSkip }, async (t) => {
  const name = uniqueName('cu-ui-adm')
  await pushImage(name, 'latest')
  // watch=notify: checked, never updated.
  await createService(t, name, `${REGISTRY}/${name}:latest`, ['--label', 'container-updater.watch=notify'])
  const serviceId = (await inspect(name)).ID
  const app = await build(t, { POLL_INTERVAL_MS: '200' })
  // The scheduler is not started (WATCH=false in tests, so no other service of the Swarm is ever
  // checked): this service's one check is run here, as POST /watch/check would.
  app.watch.scheduler.checkNow([serviceId])
  await app.watch.scheduler.tick()
  app.watch.store.quarantine({ serviceId, service: name, digest: `sha256:${'c'.repeat(64)}`, updateId: '00000000-0000-4000-8000-0000000000aa', sinceMs: Date.now() })

  const { page } = await openDashboard(t, app)
  await signIn(page, token({ services: [name], access: 'admin' }))
  const row = page.locator(`tr[data-service="${name}"]`)
  await row.waitFor({ timeout: 20_000 })
  assert.match(await row.innerText(), /up to date/)
  assert.match(await row.innerText(), /sha256:cccccccccccc/)
  assert.deepEqual(await seriousViolations(page), [], 'axe on the admin view')
  await row.getByRole('button', { name: 'Check now' }).click()
  await page.locator('#status', { hasText: `Check of ${name} requested` }).waitFor()
  await row.getByRole('button', { name: 'Lift quarantine' }).click()
  await page.locator('#status', { hasText: `Quarantine of ${name} lifted` }).waitFor()
  await page.locator(`tr[data-service="${name}"] td[data-label="Quarantine"]`, { hasText: '–' }).waitFor()
  assert.equal(app.watch.store.getQuarantine(serviceId), undefined)
  assert.equal(await page.locator(`tr[data-service="${name}"]`).getByRole('button', { name: 'Lift quarantine' }).count(), 0)
})
