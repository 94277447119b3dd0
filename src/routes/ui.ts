import { readFile } from 'node:fs/promises'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { UiNotBuilt } from '../errors.js'

/** Nothing but this origin: no inline script or style, no frames, no form posts elsewhere. */
export const UI_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"

// From dist/routes the assets are in dist/ui; from src/routes (tsx) the page and its CSS in src/ui
// and the compiled script in dist/ui (npm run build:ui).
const candidates = (file: string): URL[] => [new URL(`../ui/${file}`, import.meta.url), new URL(`../../dist/ui/${file}`, import.meta.url)]

/** The page's ES modules (src/ui/*.ts): page.js imports the others. */
export const UI_MODULES = ['page', 'api', 'dom', 'services-view', 'freezes-view', 'history-view', 'chart', 'live'] as const

const assets: Record<string, { file: string, type: string }> = {
  '/ui': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/ui/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
  ...Object.fromEntries(UI_MODULES.map((m) => [`/ui/${m}.js`, { file: `${m}.js`, type: 'text/javascript; charset=utf-8' }]))
}

async function firstReadable (file: string): Promise<Buffer | undefined> {
  for (const url of candidates(file)) {
    try { return await readFile(url) } catch { /* the next place */ }
  }
  return undefined
}

/**
 * GET /ui: the dashboard (src/ui/), static files read once, served with a strict CSP. They
 * take no token: the page asks for one and sends it on its API calls (docs/UI.md).
 */
export default async function uiRoutes (app: FastifyInstance): Promise<void> {
  const cache = new Map<string, Buffer>()
  for (const [path, { file, type }] of Object.entries(assets)) {
    app.get(path, { schema: { hide: true } }, async (_request, reply: FastifyReply) => {
      let body = cache.get(file)
      if (body === undefined) {
        body = await firstReadable(file)
        if (body === undefined) throw new UiNotBuilt()
        cache.set(file, body)
      }
      return reply
        .header('content-type', type)
        .header('content-security-policy', UI_CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header('cache-control', 'no-cache')
        .send(body)
    })
  }
}
