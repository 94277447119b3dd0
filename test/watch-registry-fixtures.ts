import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { TestContext } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { bearer, build } from './helper.ts'
import { fastUpdates, TEST_LABEL } from './swarm-fixtures.ts'
import type { AccessEntry, TokenRegistry } from './token-registry.ts'

/**
 * What the watcher's real-registry tests share (test/swarm/watch-registry.test.ts,
 * test/faults/watch-registry-faults.test.ts): services pulled with a token registry's credentials,
 * the app with its scheduler stopped so the test runs each cycle, and counts over an access log.
 */
const exec = promisify(execFile)

export interface WatchView { service: string, state: string, current: { tag: string | null, digest: string | null }, available: { digest: string, tag: string } | null, message?: string }
export interface RegistryView { registry: string, state: string, until?: string, message?: string }

/** A Swarm service from `registry` (or a proxy in front of it), created with its credentials, removed when the test ends. */
export async function createWatchedService (t: { after: (fn: () => Promise<unknown>) => void }, registry: TokenRegistry, name: string, image: string, labels: Record<string, string>): Promise<void> {
  const env = { ...process.env, DOCKER_CONFIG: registry.dockerConfig }
  t.after(() => exec('docker', ['service', 'rm', name]).catch(() => ''))
  const labelArgs = Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`])
  await exec('docker', ['service', 'create', '--quiet', '--detach=false', '--with-registry-auth', '--name', name, '--label', TEST_LABEL, ...labelArgs, ...fastUpdates, image], { env, timeout: 180_000 })
}

/**
 * The app with the registry's credentials as its Docker config, its scheduler stopped (the test
 * runs each cycle) and its listing narrowed to `names`: the Swarm is shared, and other engineers'
 * watched services must be neither checked nor updated from here.
 */
export async function watcher (t: TestContext, registry: TokenRegistry, names: Set<string>, env: Record<string, string> = {}): Promise<FastifyInstance> {
  const saved = process.env.DOCKER_CONFIG
  process.env.DOCKER_CONFIG = registry.dockerConfig
  t.after(() => { if (saved === undefined) delete process.env.DOCKER_CONFIG; else process.env.DOCKER_CONFIG = saved })
  const app = await build(t, { WATCH: 'false', UPDATE_TIMEOUT: '90', ...env })
  const list = app.swarm.listServices.bind(app.swarm)
  app.swarm.listServices = async (label) => (await list(label)).filter((s) => names.has(s.name))
  return app
}

/** One cycle over every watched service (as POST /watch/check asks), then GET /watch. */
export async function cycle (app: FastifyInstance): Promise<{ services: WatchView[], registries: RegistryView[] }> {
  app.watch.scheduler.checkNow()
  await app.watch.scheduler.tick()
  const res = await app.inject({ method: 'GET', url: '/watch', headers: bearer() })
  assert.equal(res.statusCode, 200)
  return res.json()
}

/**
 * The updater's requests in an access log: not Docker's (`docker/…` user agent: the CLI resolving a
 * digest for `docker service update`, the engine pulling), which reach the same registry.
 */
const fromUpdater = (e: AccessEntry): boolean => !e.agent.startsWith('docker/')
export const count = (log: AccessEntry[], method: string, path: string, status = 200): number =>
  log.filter((e) => fromUpdater(e) && e.method === method && e.path === path && e.status === status).length
export const manifestGets = (log: AccessEntry[]): number => log.filter((e) => fromUpdater(e) && e.method === 'GET' && e.path.includes('/manifests/')).length
