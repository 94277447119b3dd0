import { fork, type ChildProcess } from 'node:child_process'
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { dockerEnv, failureOf, type CommandFailure, type CommandRunner, type ExecRunnerOptions } from './runner.js'
import type { SpawnRequest, SpawnResult } from './spawner-protocol.js'

/**
 * A CommandRunner whose Docker CLI calls are started by a helper process (./spawner-child.ts)
 * instead of the updater (DOCKER_SPAWN_HELPER, on by default). A process start holds the starting
 * event loop until the child has exec'd, and forking a 90 MB process costs the whole machine more
 * than forking a 40 MB one: with twenty updates in flight, the updater's event-loop delay p99 went
 * from 34–45 ms to 24 ms, and /healthz p99 from 28 to 13 ms (docs/BENCHMARKS.md, liveness).
 *
 * Same contract as execFileRunner: argument arrays only (never a shell), the CLI's environment
 * without JWT secrets, a timeout after which the call is SIGKILLed, the same CommandFailure, and
 * aborting `signal` (shutdown) ends every call still running. The helper starts on the first call
 * and again after it dies. Calls it had running end as if killed at their timeout (DockerTimeout),
 * since a write may have reached Swarm before (updates/write.ts reads the service again), and the
 * CLI processes it left are killed with its process group. It holds the event loop open only while
 * calls run, and exits with the updater (its IPC channel closes).
 */
export function spawnerRunner ({ bin, timeoutMs, dockerHost, env = process.env, signal }: ExecRunnerOptions): CommandRunner {
  const childEnv = dockerEnv(env, dockerHost)
  const pending = new Map<number, Pending>()
  let helper: ChildProcess | undefined
  let nextId = 0

  const settle = (id: number): Pending | undefined => {
    const call = pending.get(id)
    if (call === undefined) return undefined
    pending.delete(id)
    clearTimeout(call.guard)
    if (pending.size === 0) idle(helper)
    return call
  }
  const failAll = (failure: CommandFailure): void => {
    for (const id of [...pending.keys()]) settle(id)?.reject(failure)
  }
  const start = (): ChildProcess => {
    // Its own process group: the CLI processes of a helper that died are killed with the group.
    const child = fork(childProgram, [], { env: childEnv, execArgv: helperExecArgv(), stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'json', detached: true })
    child.on('message', (result: SpawnResult) => {
      const call = settle(result.id)
      if (call === undefined) return
      if (result.error === undefined) {
        if (call.options?.onStderr !== undefined && result.stderr !== '') call.options.onStderr(result.stderr)
        call.resolve(result.stdout)
      } else call.reject(failureOf(result.error, result.stderr))
    })
    const gone = (): void => {
      killGroup(child)
      if (helper !== child) return
      helper = undefined
      failAll(stopped('the process that starts Docker CLI calls exited while the call ran'))
    }
    child.once('exit', gone)
    child.once('error', gone)
    return child
  }
  signal?.addEventListener('abort', () => {
    failAll(stopped())
    // It kills the calls it still runs when its channel closes, then exits.
    if (helper?.connected === true) helper.disconnect()
    helper = undefined
  }, { once: true })

  return (args, options) => new Promise((resolve, reject) => {
    if (signal?.aborted === true) return reject(stopped())
    helper ??= start()
    const id = nextId++
    // Should the helper itself hang, the call still ends, a little after the CLI's own timeout.
    const guard = setTimeout(() => settle(id)?.reject(stopped()), timeoutMs + 5000)
    pending.set(id, { resolve, reject, options, guard })
    busy(helper)
    const request: SpawnRequest = { id, bin, args, timeoutMs, maxBuffer: 32 * 1024 * 1024 }
    try {
      helper.send(request)
    } catch {
      settle(id)?.reject(stopped('the process that starts Docker CLI calls is gone'))
    }
  })
}

/** A call killed at its timeout, by shutdown, or with the helper: Docker did not answer in time. */
const stopped = (reason?: string): CommandFailure => ({ timedOut: true, exitCode: null, stderr: '', ...(reason !== undefined && { reason }) })

interface Pending {
  resolve: (stdout: string) => void
  reject: (failure: CommandFailure) => void
  options: Parameters<CommandRunner>[1]
  guard: NodeJS.Timeout
}

// The helper is ./spawner-child.js when built, and .ts under `node --import tsx` (tests, dev).
const childProgram = fileURLToPath(new URL(`./spawner-child${extname(fileURLToPath(import.meta.url))}`, import.meta.url))

/** Node flags the helper inherits: loaders (tsx) and memory settings, not --watch, --inspect or profiling. */
function helperExecArgv (): string[] {
  return process.execArgv.filter((arg) => !/^--(watch|inspect|cpu-prof|heap-prof|test)/.test(arg))
}

function killGroup (child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
  } catch { /* ESRCH: nothing left in the group */ }
}

function busy (child: ChildProcess | undefined): void {
  child?.ref()
  child?.channel?.ref()
}

function idle (child: ChildProcess | undefined): void {
  child?.unref()
  child?.channel?.unref()
}
