import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { createServer } from 'node:net'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'
import { appRootfs, type AppKind } from './app-image.ts'
import { SECRET, token } from './helper.ts'
import { waitFor } from './wait.ts'

export { waitFor }

/**
 * Fixtures for the multi-node tests: the three-node Swarm and the private registry of
 * scripts/test-cluster.sh (brought up here, idempotently), test images pushed through the
 * manager's daemon, and the updater run as the real built server (`node dist/server.js`).
 */
const exec = promisify(execFile)
export const RUN_DIR = '/run/container-updater-cluster'
export const REGISTRY = '198.18.0.1:5000'
export const NODES = ['node1', 'node2', 'node3'] as const
export type NodeName = typeof NODES[number]
export const TEST_LABEL = 'container-updater.test=1'
export const socketOf = (node: NodeName): string => `${RUN_DIR}/${node}/docker.sock`
export const MANAGER_HOST = `unix://${socketOf('node1')}`
/** The test client's Docker config, logged in to the registry by the script. */
export const LOGGED_IN_CONFIG = `${RUN_DIR}/docker-config`
const SCRIPT = join(import.meta.dirname, '..', 'scripts', 'test-cluster.sh')
const ROOT = join(import.meta.dirname, '..')

export async function cluster (...args: string[]): Promise<string> {
  const { stdout } = await exec('bash', [SCRIPT, ...args], { timeout: 180_000 })
  return stdout
}

async function clusterProblem (): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'the multi-node tests need root (network namespaces, dockerd per node)'
  try {
    await cluster('up')
    return undefined
  } catch (error) {
    const { stderr, message } = error as { stderr?: string, message: string }
    return `scripts/test-cluster.sh up failed: ${(stderr ?? message).trim().split('\n').slice(-3).join(' | ')}`
  }
}

const problem = await clusterProblem()
if (problem !== undefined && process.env.CI === 'true') {
  // In CI a skipped cluster test is a failure: the multi-node contract would go unproven.
  throw new Error(`CI=true but the multi-node tests cannot run: ${problem}`)
}
/** `{ skip }` for the cluster tests: false when the cluster is up, the reason otherwise. */
export const clusterSkip: false | string = problem ?? false

export const uniqueName = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`

/** The Docker CLI against one node (the manager by default), with the logged-in test config. */
export async function nodeDocker (node: NodeName, args: string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await exec('docker', args, {
    env: { ...process.env, DOCKER_HOST: `unix://${socketOf(node)}`, DOCKER_CONFIG: LOGGED_IN_CONFIG, ...env },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 120_000
  })
  return stdout.trim()
}
export const docker = async (...args: string[]): Promise<string> => nodeDocker('node1', args)

/** A Docker config directory with no credentials at all. */
export function emptyDockerConfig (): string {
  return mkdtempSync(join(tmpdir(), 'cu-cluster-config-'))
}

/**
 * Builds `${REGISTRY}/${repo}:${tag}` from busybox on the manager's daemon, pushes it with the
 * test's credentials and removes it from the manager again: no node has the image until it pulls
 * it (a node holding the tag would run it without asking the registry).
 */
export async function pushImage (repo: string, tag: string, kind: AppKind = 'good'): Promise<{ ref: string, digest: string, version: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'cu-cluster-image-'))
  try {
    const { tar, version } = await appRootfs(dir, tag, kind)
    const ref = `${REGISTRY}/${repo}:${tag}`
    await docker('import', '-c', 'CMD ["/bin/app"]', tar, ref)
    const out = await docker('push', ref)
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(out)?.[1]
    if (digest === undefined) throw new Error(`no digest in docker push output: ${out}`)
    await docker('image', 'rm', ref).catch(() => {})
    return { ref, digest, version }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Pulls an image by digest onto every node (with the test's credentials), leaving no tag behind. */
export async function pullEverywhere (repo: string, digest: string): Promise<void> {
  await Promise.all(NODES.map((node) => nodeDocker(node, ['pull', '--quiet', `${REGISTRY}/${repo}@${digest}`])))
}

/** Update settings that make an update take seconds. */
export const fastUpdates = [
  '--update-delay', '0s', '--update-monitor', '2s', '--rollback-delay', '0s', '--rollback-monitor', '1s',
  '--stop-grace-period', '1s', '--restart-delay', '1s', '--endpoint-mode', 'dnsrr'
]

interface AfterHook { after: (fn: () => Promise<unknown>) => void }

/**
 * Cleanups for what a suite's `before` hook starts (an `after` called inside a hook would run as
 * soon as the hook ends): the suite's own `after` runs them, newest first.
 */
export class Cleanup implements AfterHook {
  readonly #steps: Array<() => Promise<unknown>> = []
  after (fn: () => Promise<unknown>): void { this.#steps.push(fn) }
  async run (): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) await step().catch(() => {})
  }
}

/**
 * Creates a service on the cluster (waiting until it runs) and removes it when the test ends.
 * `withRegistryAuth` stores the test's credentials in the spec, so that every node can pull.
 */
export async function createService (t: AfterHook, name: string, image: string, { extra = [], withRegistryAuth = false }: { extra?: string[], withRegistryAuth?: boolean } = {}): Promise<string> {
  t.after(() => docker('service', 'rm', name).catch(() => ''))
  return docker('service', 'create', '--quiet', '--detach=false', '--name', name, '--label', TEST_LABEL,
    ...fastUpdates, ...(withRegistryAuth ? ['--with-registry-auth'] : []), ...extra, image)
}

export interface Inspected {
  ID: string
  Spec: { Name: string, TaskTemplate: { ContainerSpec: { Image: string } } }
  UpdateStatus?: { State: string, Message?: string }
}

export async function inspect (name: string): Promise<Inspected> {
  return (JSON.parse(await docker('service', 'inspect', name)) as Inspected[])[0]!
}

// --- the updater as a process ----------------------------------------------------------------------

/** `npm run build`, once for all test files, and only when dist/ is older than src/. */
async function ensureBuilt (): Promise<void> {
  const newest = (dir: string): number => Math.max(0, ...readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile()).map((entry) => statSync(join(entry.parentPath, entry.name)).mtimeMs))
  const server = join(ROOT, 'dist', 'server.js')
  if (existsSync(server) && statSync(server).mtimeMs >= newest(join(ROOT, 'src'))) return
  await exec('npm', ['run', 'build'], { cwd: ROOT, timeout: 300_000 })
}

async function freePort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

export interface Updater {
  url: string
  process: ChildProcess
  /** everything the process wrote, for assertions and failure messages */
  output: () => string
}

/**
 * Starts the built server (what `npm start` runs) pointed at the manager, with `dockerConfig` as its
 * Docker config (credentials or none), and stops it when the test ends.
 */
export async function startUpdater (t: AfterHook, dockerConfig: string, env: Record<string, string> = {}): Promise<Updater> {
  await ensureBuilt()
  const port = await freePort()
  const child = spawn(process.execPath, ['dist/server.js'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: tmpdir(),
      JWT_SECRET: SECRET,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      POLL_INTERVAL_MS: '250',
      UPDATE_TIMEOUT: '60',
      DATA_DIR: mkdtempSync(join(tmpdir(), 'cu-cluster-data-')),
      DOCKER_HOST: MANAGER_HOST,
      DOCKER_CONFIG: dockerConfig,
      ...env
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await once(child, 'exit')
    }
  })
  const url = `http://127.0.0.1:${port}`
  await waitFor(`the updater to listen (output: ${output})`, async () => (await fetch(`${url}/healthz`)).status === 200, 30)
  return { url, process: child, output: () => output }
}

export interface Answer { status: number, json: Record<string, unknown> }

export async function postUpdate (url: string, body: unknown, jwt = token()): Promise<Answer> {
  const res = await fetch(`${url}/update`, { method: 'POST', headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: res.status, json: await res.json() as Record<string, unknown> }
}

export async function getJson (url: string, path: string, jwt = token()): Promise<Answer> {
  const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${jwt}` } })
  return { status: res.status, json: await res.json() as Record<string, unknown> }
}

/** curl run inside a network namespace of the cluster (the root namespace cannot reach 198.18.0.x). */
export async function curlIn (ns: string, args: string[]): Promise<{ status: number, body: string }> {
  const { stdout } = await exec('nsenter', [`--net=/run/netns/${ns}`, 'curl', '-sS', '-m', '120', '-w', '\n%{http_code}', ...args], { timeout: 130_000 })
  const cut = stdout.lastIndexOf('\n')
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) }
}

/** Removes a directory made by a test (configs, data dirs). */
export const removeDir = (dir: string): void => rmSync(dir, { recursive: true, force: true })
