import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { bearer } from './helper.ts'
import { inspect, until } from './swarm-fixtures.ts'
import type { WatchEntry } from '../src/watch/entry.ts'

/**
 * Helpers of the watcher's real-Swarm tests (test/swarm/watch-*.test.ts): a notification receiver on
 * the loopback, GET /watch by service, and waiting for a service to land on an image.
 */
/** A service's GET /watch entry, as the route builds it (src/watch/entry.ts). */
export type { WatchEntry }

export async function watchOf (app: FastifyInstance, service: string): Promise<WatchEntry | undefined> {
  const res = await app.inject({ method: 'GET', url: '/watch', headers: bearer() })
  if (res.statusCode !== 200) throw new Error(`GET /watch answered ${res.statusCode}: ${res.body}`)
  return (res.json() as { services: WatchEntry[] }).services.find((s) => s.service === service)
}

/** Checks now and waits until `service` has been checked since `after` (its lastCheckedAt moved). */
export async function checkCycle (app: FastifyInstance, services: string[], body: object = {}): Promise<void> {
  const before = new Map(await Promise.all(services.map(async (s) => [s, (await watchOf(app, s))?.lastCheckedAt ?? null] as const)))
  const res = await app.inject({ method: 'POST', url: '/watch/check', headers: bearer(), payload: body })
  if (res.statusCode !== 202) throw new Error(`POST /watch/check answered ${res.statusCode}: ${res.body}`)
  for (const service of services) {
    await until(`a check of ${service}`, async () => {
      const now = (await watchOf(app, service))?.lastCheckedAt ?? null
      return now !== null && now !== before.get(service) ? true : undefined
    }, 120_000, 250)
  }
}

/** Waits until Swarm reports `service`'s update completed on an image ending in `suffix` (a tag, or tag@digest). */
export async function landsOn (service: string, expect: (image: string) => boolean, what: string): Promise<string> {
  return until(`${service} on ${what}`, async () => {
    const s = await inspect(service)
    const image = s.Spec.TaskTemplate.ContainerSpec.Image
    return expect(image) && s.UpdateStatus?.State === 'completed' ? image : undefined
  }, 240_000, 500)
}

export interface Notice { event: string, body: Record<string, unknown> }

/** A notification target (NOTIFY_URLS `json+<url>`) that keeps what it receives. */
export async function noticeReceiver (t: { after: (fn: () => unknown) => void }): Promise<{ url: string, notices: Notice[] }> {
  const notices: Notice[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const headers: IncomingHttpHeaders = req.headers
      notices.push({ event: String(headers['x-container-updater-event']), body: JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown> })
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => { server.closeAllConnections(); server.close() })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`, notices }
}

export const watchLabels = (watch: string, policy?: string): string[] => [
  '--label', `container-updater.watch=${watch}`,
  ...(policy !== undefined ? ['--label', `container-updater.policy=${policy}`] : [])
]
