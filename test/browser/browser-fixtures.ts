import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import type { TestContext } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { chromium, type Page } from 'playwright-core'

/**
 * Debian's chromium driven by playwright-core (no browser download), against the app listening on
 * 127.0.0.1 at a port of its own. Every request the page makes is recorded, and any request to
 * another origin is aborted (and shows in `requested`).
 */
export const CHROMIUM = '/usr/bin/chromium'
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

export interface Dashboard {
  page: Page
  origin: string
  /** every URL the page requested, in order */
  requested: string[]
  /** console errors (CSP refusals show here) */
  consoleErrors: string[]
}

export async function openDashboard (t: TestContext, app: FastifyInstance, viewport = { width: 1280, height: 800 }): Promise<Dashboard> {
  if (app.server.address() === null) await app.listen({ host: '127.0.0.1', port: 0 })
  const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  t.after(() => browser.close())
  const context = await browser.newContext({ viewport })
  const page = await context.newPage()
  const requested: string[] = []
  await page.route('**/*', async (route) => {
    const url = route.request().url()
    requested.push(url)
    if (!url.startsWith(`${origin}/`)) return route.abort()
    return route.continue()
  })
  const consoleErrors: string[] = []
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()) })
  await page.goto(`${origin}/ui`)
  return { page, origin, requested, consoleErrors }
}

/** Pastes the token and presses Enter (the keyboard's way in). */
export async function signIn (page: Page, jwt: string): Promise<void> {
  await page.getByLabel('Token').fill(jwt)
  await page.keyboard.press('Enter')
}

/** What the page says in its status line (for assertion messages). */
export const statusOf = async (page: Page): Promise<string> => page.locator('#status').innerText().catch(() => '')

/** axe-core run in the page: the ids of serious or critical violations. */
export async function seriousViolations (page: Page): Promise<string[]> {
  await page.evaluate(axeSource)
  const result = await page.evaluate(async () => (globalThis as unknown as { axe: { run: () => Promise<{ violations: Array<{ id: string, impact: string }> }> } }).axe.run())
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)
}

/** The API calls among the requested URLs (not the page's own files, not the stream). */
export const apiCalls = (requested: string[], origin: string): string[] =>
  requested.filter((u) => u.startsWith(origin) && !u.startsWith(`${origin}/ui`) && !u.endsWith('/events')).map((u) => u.slice(origin.length))
