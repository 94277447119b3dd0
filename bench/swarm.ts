/**
 * The bench's Swarm services and images, and a count of the updater's Docker calls. Every service
 * carries the test label and this run's own label, so that the cleanup finds them all (also those
 * whose creation was still under way when a figure failed) and never touches anyone else's.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync, readFileSync, chmodSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import { REGISTRY, TEST_LABEL, docker, fastUpdates, pushImage, uniqueName } from '../test/swarm-fixtures.ts'

const exec = promisify(execFile)
const RUN_LABEL = `container-updater.bench=${randomBytes(4).toString('hex')}`

/** Pushes a fresh image to the local registry; returns its `registry/repo:latest`. */
export async function benchImage (prefix = 'cu-bench'): Promise<string> {
  const repo = uniqueName(prefix)
  await pushImage(repo, 'latest')
  return `${REGISTRY}/${repo}:latest`
}

export interface ServiceOptions {
  image: string
  replicas?: number
  /** more `docker service create` flags (later flags win over fastUpdates) */
  extra?: string[]
  prefix?: string
}

/** Creates one service and waits until its task runs (replicas > 0). */
export async function createService ({ image, replicas = 1, extra = [], prefix = 'cu-bench' }: ServiceOptions): Promise<string> {
  const name = uniqueName(prefix)
  const wait = replicas > 0 ? ['--detach=false', '--quiet'] : ['--detach', '--no-resolve-image']
  await docker('service', 'create', ...wait, '--name', name, '--replicas', String(replicas), '--label', TEST_LABEL, '--label', RUN_LABEL, ...fastUpdates, ...extra, image)
  return name
}

/** Creates `count` services, `parallel` creations at a time (each `create` is a few hundred ms). */
export async function createServices (count: number, options: ServiceOptions, parallel = 10): Promise<string[]> {
  const names: string[] = []
  for (let i = 0; i < count; i += parallel) {
    names.push(...await Promise.all(Array.from({ length: Math.min(parallel, count - i) }, async () => createService(options))))
  }
  return names
}

/** Every service in the swarm, ours and other people's (the scale figures report the count). */
export async function serviceCount (): Promise<number> {
  return (await docker('service', 'ls', '--quiet')).split('\n').filter(Boolean).length
}

/** Removes these services, 50 names per `docker service rm`. */
export async function removeServices (names: string[]): Promise<void> {
  for (let i = 0; i < names.length; i += 50) await docker('service', 'rm', ...names.slice(i, i + 50)).catch(() => '')
}

/** Removes every service this run created, in batches of 50 names per `docker service rm`. */
export async function removeBenchServices (): Promise<number> {
  const ids = (await docker('service', 'ls', '--quiet', '--filter', `label=${RUN_LABEL}`)).split('\n').filter(Boolean)
  await removeServices(ids)
  return ids.length
}

/** The service's `UpdateStatus.CompletedAt` in ms since the epoch (Swarm's own clock: this machine's). */
export async function completedAt (name: string): Promise<number> {
  const at = await docker('service', 'inspect', '--format', '{{if .UpdateStatus}}{{.UpdateStatus.CompletedAt}}{{end}}', name)
  const ms = Date.parse(at)
  if (!Number.isFinite(ms)) throw new Error(`${name} has no UpdateStatus.CompletedAt (${JSON.stringify(at)})`)
  return ms
}

/**
 * A DOCKER_BIN for the updater that appends one line per call (its arguments) to a file and then
 * execs the real CLI: a count of spawns that does not depend on the updater's own metrics. The
 * wrapper costs one `sh` exec per call (about a millisecond), in baselines and figures alike.
 */
export class DockerCalls {
  readonly bin: string
  readonly #log: string
  readonly #dir: string

  private constructor (dir: string, realDocker: string) {
    this.#dir = dir
    this.bin = join(dir, 'docker')
    this.#log = join(dir, 'calls.log')
    writeFileSync(this.#log, '')
    writeFileSync(this.bin, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${this.#log}'\nexec '${realDocker}' "$@"\n`)
    chmodSync(this.bin, 0o755)
  }

  static async create (): Promise<DockerCalls> {
    const { stdout } = await exec('sh', ['-c', 'command -v docker'])
    return new DockerCalls(mkdtempSync(join(tmpdir(), 'cu-bench-docker-')), stdout.trim())
  }

  /** The updater environment that routes its Docker calls through the wrapper. */
  get env (): Record<string, string> {
    return { DOCKER_BIN: this.bin }
  }

  /** Every call so far (its arguments, one string each). */
  all (): string[] {
    return readFileSync(this.#log, 'utf8').split('\n').filter(Boolean)
  }

  /** A mark to count from: `since(mark)` gives the calls after it. */
  mark (): number {
    return this.all().length
  }

  since (mark: number): string[] {
    return this.all().slice(mark)
  }

  close (): void {
    rmSync(this.#dir, { recursive: true, force: true })
  }
}

/** `{ 'service inspect': 3, 'service update': 1 }`: calls by their first two words. */
export function byCommand (calls: string[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const call of calls) {
    const key = call.split(' ').slice(0, 2).join(' ')
    out[key] = (out[key] ?? 0) + 1
  }
  return out
}

export const describeCalls = (calls: string[]): string =>
  Object.entries(byCommand(calls)).map(([command, n]) => `${n} ${command}`).join(', ') || 'none'

/** Waits until the updater has no Docker calls left to make for a while (background updates done). */
export async function quiet (calls: DockerCalls, forMs = 1500, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = calls.mark()
  let since = Date.now()
  while (Date.now() < deadline) {
    await sleep(250)
    const now = calls.mark()
    if (now !== last) {
      last = now
      since = Date.now()
    } else if (Date.now() - since >= forMs) {
      return
    }
  }
}
