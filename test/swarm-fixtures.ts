import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'
import { appRootfs, type AppKind } from './app-image.ts'

/**
 * Fixtures for the tests that prove the contract on the real single-node Swarm brought up by
 * scripts/test-swarm.sh: tiny images made from busybox with `docker import`, pushed to the local
 * registry, and services with short update settings so that an update takes seconds.
 */
const exec = promisify(execFile)
export const REGISTRY = '127.0.0.1:5000'
export const TEST_LABEL = 'container-updater.test=1'

export async function docker (...args: string[]): Promise<string> {
  const { stdout } = await exec('docker', args, { maxBuffer: 16 * 1024 * 1024, timeout: 120_000 })
  return stdout.trim()
}

async function swarmProblem (): Promise<string | undefined> {
  try {
    const state = await docker('info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}')
    if (state !== 'active true') return `this Docker engine is not a Swarm manager (${state}); run scripts/test-swarm.sh`
    await exec('curl', ['-fsS', `http://${REGISTRY}/v2/`], { timeout: 5000 })
    return undefined
  } catch (error) {
    return `no test Swarm: ${(error as Error).message.split('\n')[0]}; run scripts/test-swarm.sh`
  }
}

const problem = await swarmProblem()
if (problem !== undefined && process.env.CI === 'true') {
  // In CI a skipped Swarm test is a failure: the contract would go unproven.
  throw new Error(`CI=true but the real-Swarm tests cannot run: ${problem}`)
}
/** `{ skip }` for the Swarm tests: false when the Swarm is there, the reason otherwise. */
export const swarmSkip: false | string = problem ?? false

export const uniqueName = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`

/**
 * Builds and pushes `${REGISTRY}/${repo}:${tag}`: busybox and a /bin/app that prints its version and
 * sleeps ('good') or exits 3 at once ('crash'). Returns the pushed digest and the image's version.
 */
export async function pushImage (repo: string, tag: string, kind: AppKind = 'good', registry = REGISTRY): Promise<{ digest: string, version: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'cu-image-'))
  try {
    const { tar, version } = await appRootfs(dir, tag, kind)
    const ref = `${registry}/${repo}:${tag}`
    await docker('import', '-c', 'CMD ["/bin/app"]', tar, ref)
    const out = await docker('push', ref)
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(out)?.[1]
    if (digest === undefined) throw new Error(`no digest in docker push output: ${out}`)
    await docker('image', 'rm', ref).catch(() => {})
    return { digest, version }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Update settings that make an update take seconds, with rollback on failure. */
export const fastUpdates = [
  '--update-delay', '0s', '--update-monitor', '2s', '--update-failure-action', 'rollback',
  '--rollback-delay', '0s', '--rollback-monitor', '1s', '--stop-grace-period', '1s', '--restart-delay', '1s'
]

/** Creates a service (waiting until it runs) and removes it when the test ends. */
export async function createService (t: { after: (fn: () => Promise<unknown>) => void }, name: string, image: string, extra: string[] = []): Promise<string> {
  t.after(() => docker('service', 'rm', name).catch(() => ''))
  return docker('service', 'create', '--quiet', '--detach=false', '--name', name, '--label', TEST_LABEL, ...fastUpdates, ...extra, image)
}

export interface Inspected {
  ID: string
  Version: { Index: number }
  Spec: { Name: string, Labels?: Record<string, string>, TaskTemplate: { ForceUpdate?: number, ContainerSpec: { Image: string } } }
  UpdateStatus?: { State: string, StartedAt?: string, CompletedAt?: string }
}

export async function inspect (name: string): Promise<Inspected> {
  return (JSON.parse(await docker('service', 'inspect', name)) as Inspected[])[0]!
}

/** What the service's running container really runs: the /version baked into its image. */
export async function runningVersion (name: string): Promise<string> {
  // Right after a rollback completes, the restored task may still be starting: give it a moment.
  let ids: string[] = []
  for (let i = 0; i < 60; i++) {
    ids = (await docker('ps', '-q', '--filter', `label=com.docker.swarm.service.name=${name}`, '--filter', 'status=running')).split('\n').filter(Boolean)
    if (ids.length === 1) return docker('exec', ids[0]!, 'cat', '/version')
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`expected one running container for ${name}, found ${ids.length}`)
}

export const digestOf = (image: string): string | undefined => /@(sha256:[0-9a-f]{64})$/.exec(image)?.[1]

/** A free TCP port on the loopback. */
export async function freePort (): Promise<number> {
  const { createServer } = await import('node:net')
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

export { until } from './wait.ts'
