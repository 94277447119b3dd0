import { execFile } from 'node:child_process'
import { setMaxListeners } from 'node:events'
import { statSync } from 'node:fs'
import {
  DockerFailed, DockerPermissionDenied, DockerTimeout, DockerUnavailable, NotSwarmManager, OutOfSequence, ServiceNotFound
} from '../errors.js'
import { dockerEnv } from './cli-env.js'

export { dockerEnv } from './cli-env.js'

/**
 * Runs `docker` in this process (./spawner.ts runs it from a helper process; ./events.ts streams
 * `docker events`). Arguments always travel as an array to execFile (no shell),
 * every call has a timeout after which the child is SIGKILLed (and reaped by Node), and failures are
 * classified into the domain errors the HTTP layer maps to statuses.
 */

export interface CommandFailure {
  /** spawn error code, e.g. ENOENT when the binary is missing */
  spawnCode?: string
  exitCode?: number | null
  timedOut: boolean
  stderr: string
  /** why the call failed when the CLI did not say: it was stopped, or never started (the spawn helper) */
  reason?: string
}

export interface RunOptions {
  /** receives stderr of a call that succeeded: Docker prints warnings there (e.g. an unpinned digest) */
  onStderr?: (stderr: string) => void
  /**
   * `services`: stdout is `docker service inspect`'s JSON, of which the caller reads only what a
   * ServiceState is made of. The spawn helper sends back only that (./inspect-trim.ts), so the
   * updater parses 300 bytes per service, not 3 KB; a runner may return the whole answer.
   */
  trim?: 'services'
}

/** Runs `docker ARGS…` and resolves stdout; rejects with a CommandFailure. Swappable for tests. */
export type CommandRunner = (args: readonly string[], options?: RunOptions) => Promise<string>

export interface ExecRunnerOptions {
  bin: string
  timeoutMs: number
  dockerHost?: string | undefined
  env?: NodeJS.ProcessEnv
  /** aborting it kills every call still running (shutdown must not wait for a hung CLI) */
  signal?: AbortSignal
}

export function execFileRunner ({ bin, timeoutMs, dockerHost, env = process.env, signal }: ExecRunnerOptions): CommandRunner {
  const childEnv = dockerEnv(env, dockerHost)
  // Every call listens on the shutdown signal while it runs: many may run at once.
  if (signal !== undefined) setMaxListeners(0, signal)
  const paced = spawnPacer()
  return (args, options) => new Promise((resolve, reject) => paced(() => {
    try {
      start(resolve, reject, args, options)
    } catch (error) {
      // Thrown before any process started (an argument execFile refuses, E2BIG): this call fails, not the pacer.
      reject(failureOf({ code: (error as { code?: unknown }).code ?? 'EINVAL' }, String((error as Error).message)))
    }
  }))

  function start (resolve: (stdout: string) => void, reject: (failure: CommandFailure) => void, args: readonly string[], options: RunOptions | undefined): void {
    execFile(bin, args, {
      env: childEnv,
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      maxBuffer: CLI_MAX_OUTPUT,
      windowsHide: true,
      ...(signal !== undefined && { signal })
    }, (error, stdout, stderr) => {
      if (error === null) {
        if (options?.onStderr !== undefined && stderr !== '') options.onStderr(String(stderr))
        return resolve(stdout)
      }
      // Killed by shutdown: as at our timeout, Docker did not answer in time.
      reject((error as { name?: string }).name === 'AbortError' ? stopped(undefined, String(stderr)) : failureOf(error, String(stderr)))
    })
  }
}

/**
 * Starting a child process is synchronous and, on a busy machine, takes tens of milliseconds of
 * the event loop (measured in docs/BENCHMARKS.md). Twenty updates finishing together must not
 * start twenty processes in one tick: starts are queued and one runs per turn of the event loop,
 * so requests (and /healthz) are served between them.
 */
function spawnPacer (): (start: () => void) => void {
  const queue: Array<() => void> = []
  let draining = false
  const drain = (): void => {
    const start = queue.shift()
    if (start === undefined) {
      draining = false
      return
    }
    start()
    setImmediate(drain)
  }
  return (start) => {
    queue.push(start)
    if (!draining) {
      draining = true
      setImmediate(drain)
    }
  }
}

/** Most a Docker CLI call may print (stdout or stderr) before it is killed. */
export const CLI_MAX_OUTPUT = 32 * 1024 * 1024

/** A call killed at its timeout or by shutdown (or, in the spawn helper, with it): Docker did not answer in time. */
export const stopped = (reason?: string, stderr = ''): CommandFailure => ({ timedOut: true, exitCode: null, stderr, ...(reason !== undefined && { reason }) })

/** The CommandFailure of a call execFile reported failed (in this process or in the spawn helper). */
export function failureOf (error: { code?: unknown, killed?: boolean, signal?: string | null }, stderr: string): CommandFailure {
  const failure: CommandFailure = {
    // Killed at our timeout: Docker did not answer in time.
    timedOut: error.killed === true && error.signal === 'SIGKILL',
    exitCode: typeof error.code === 'number' ? error.code : null,
    stderr
  }
  if (typeof error.code === 'string') failure.spawnCode = error.code
  return failure
}

export function isCommandFailure (value: unknown): value is CommandFailure {
  return typeof value === 'object' && value !== null && 'timedOut' in value && 'stderr' in value
}

/** First meaningful line of Docker's stderr, without the `Error response from daemon:` noise. */
export function dockerReason (stderr: string): string {
  const line = stderr.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? 'no error output'
  return line.replace(/^Error( response from daemon)?:\s*/i, '').slice(0, 500)
}

/** The Unix socket the CLI talks to, for permission hints. */
export function socketPath (dockerHost?: string): string | undefined {
  if (dockerHost === undefined || dockerHost === '') return '/var/run/docker.sock'
  return dockerHost.startsWith('unix://') ? dockerHost.slice('unix://'.length) : undefined
}

/** Tells an operator which group the socket needs, e.g. `--group-add 998`. */
export function socketPermissionHint (dockerHost?: string): string {
  const path = socketPath(dockerHost)
  if (path === undefined) return `check the credentials for ${dockerHost}`
  let gid: number | undefined
  try { gid = statSync(path).gid } catch { /* socket not visible: say what we know */ }
  const who = typeof process.getuid === 'function' ? `uid ${process.getuid()}` : 'this user'
  return gid === undefined
    ? `${who} cannot open ${path}`
    : `${who} cannot open ${path}, which belongs to group ${gid}: run the updater with --group-add ${gid}`
}

/** Maps a failed Docker CLI call to a domain error. */
export function classifyFailure (failure: unknown, { bin, dockerHost }: { bin: string, dockerHost?: string | undefined }): Error {
  if (!isCommandFailure(failure)) return failure instanceof Error ? failure : new DockerFailed(String(failure))
  if (failure.reason !== undefined) return failure.timedOut ? new DockerTimeout(failure.reason) : new DockerUnavailable(failure.reason)
  if (failure.spawnCode === 'ENOENT') return new DockerUnavailable(`the Docker CLI (${bin}) is not installed or not on PATH`)
  if (failure.spawnCode !== undefined) return new DockerUnavailable(`cannot run the Docker CLI (${failure.spawnCode})`)
  if (failure.timedOut) return new DockerTimeout('the Docker CLI was stopped after its timeout')
  const { stderr } = failure
  if (/permission denied while trying to connect/i.test(stderr)) {
    return new DockerPermissionDenied(socketPermissionHint(dockerHost))
  }
  if (/cannot connect to the docker daemon|error during connect|is the docker daemon running/i.test(stderr)) {
    return new DockerUnavailable(`cannot connect to the Docker daemon at ${dockerHost ?? 'the default socket'}`)
  }
  if (/not a swarm manager|swarm is not active|not part of a swarm/i.test(stderr)) return new NotSwarmManager()
  if (/update out of sequence/i.test(stderr)) return new OutOfSequence(dockerReason(stderr))
  // `inspect` of a removed service says "no such service"; `update` of one says "service X not
  // found"; a short ID prefix matching two services says "service X is ambiguous" (DESIGN §1).
  if (/no such service|service .* not found|is ambiguous/i.test(stderr)) return new ServiceNotFound(dockerReason(stderr).replace(/^no such service:\s*/i, ''))
  return new DockerFailed(dockerReason(stderr))
}
