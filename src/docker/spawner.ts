import { fork, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CLI_MAX_OUTPUT, dockerEnv, failureOf, stopped, type CommandFailure, type CommandRunner, type ExecRunnerOptions } from './runner.js'
import type { HelperReady, SpawnRequest, SpawnResult } from './spawner-protocol.js'

/**
 * A CommandRunner whose Docker CLI calls are started by a helper process (./spawner-child.ts)
 * instead of the updater (DOCKER_SPAWN_HELPER, on by default). A process start holds the starting
 * event loop until the child has exec'd, and forking a 90 MB process costs the whole machine more
 * than forking a 40 MB one (docs/BENCHMARKS.md, liveness: the A/B with twenty updates in flight).
 *
 * Same contract as execFileRunner (except that it honours RunOptions.trim): argument arrays only (never a shell), the CLI's environment
 * (./cli-env.ts, an allow-list: no secrets, for the helper too), a timeout after which the call is SIGKILLed, the same CommandFailure, and
 * aborting `signal` (shutdown) ends every call still running. The helper starts on the first call
 * and again after it dies or hangs (no answer GUARD_GRACE_MS past a call's timeout: it is killed).
 * Calls it had running then end as if killed at their timeout (DockerTimeout), since a write may
 * have reached Swarm (updates/write.ts reads the service again), and its CLI processes are killed
 * with its process group; calls it never started fail as a CLI that cannot be run
 * (DockerUnavailable). It holds the event loop open only while calls run, and exits with the
 * updater (its IPC channel closes).
 */
export function spawnerRunner ({ bin, timeoutMs, dockerHost, env = process.env, signal }: ExecRunnerOptions): CommandRunner {
  const childEnv = dockerEnv(env, dockerHost)
  const pending = new Map<number, Pending>()
  let helper: Helper | undefined
  let nextId = 0

  const settle = (id: number): Pending | undefined => {
    const call = pending.get(id)
    if (call === undefined) return undefined
    pending.delete(id)
    clearTimeout(call.guard)
    if (pending.size === 0) idle(helper?.process)
    return call
  }
  // Once the helper has said it is ready, a call it had may have started a CLI (and a write may
  // have landed): a timeout. Before that, none did: the CLI could not be started.
  const lost = (of: Helper, reason: string): void => {
    killGroup(of.process)
    if (helper !== of) return
    helper = undefined
    const failure = of.ready ? stopped(reason) : notStarted(of.code)
    for (const id of [...pending.keys()]) settle(id)?.reject(failure)
  }
  const start = (): Helper | undefined => {
    let child: ChildProcess
    try {
      // Its own process group: the CLI processes of a helper that died are killed with the group.
      child = fork(childProgram, [], { env: childEnv, execArgv: helperExecArgv(), stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'json', detached: true })
    } catch (error) {
      return { process: undefined, ready: false, code: (error as { code?: string }).code }
    }
    const started: Helper = { process: child, ready: false }
    child.on('message', (message: SpawnResult | HelperReady) => {
      if ('ready' in message) {
        started.ready = true
        return
      }
      const call = settle(message.id)
      if (call === undefined) return
      if (message.error === undefined) {
        if (call.options?.onStderr !== undefined && message.stderr !== '') call.options.onStderr(message.stderr)
        call.resolve(message.stdout)
      } else call.reject(failureOf(message.error, message.stderr))
    })
    const gone = (): void => lost(started, 'the process that starts Docker CLI calls exited while the call ran')
    child.on('disconnect', gone)
    child.on('exit', gone)
    child.on('error', (error: Error & { code?: string }) => {
      started.code ??= error.code
      gone()
    })
    return started
  }
  signal?.addEventListener('abort', () => {
    const last = helper
    helper = undefined
    for (const id of [...pending.keys()]) settle(id)?.reject(stopped())
    // It kills the calls it still runs when its channel closes, then exits.
    if (last?.process?.connected === true) last.process.disconnect()
  }, { once: true })

  return (args, options) => new Promise((resolve, reject) => {
    if (signal?.aborted === true) return reject(stopped())
    helper ??= start()
    const current = helper
    if (current?.process?.connected !== true) {
      helper = undefined
      return reject(notStarted(current?.code))
    }
    const id = nextId++
    // A helper that does not answer a little after the CLI's own timeout is stuck: it is killed,
    // with what it runs, and the next call starts another.
    const guard = setTimeout(() => {
      const reason = 'the process that starts Docker CLI calls did not answer in time and was killed'
      lost(current, reason)
      settle(id)?.reject(stopped(reason))
    }, timeoutMs + GUARD_GRACE_MS)
    pending.set(id, { resolve, reject, options, guard })
    busy(current.process)
    const request: SpawnRequest = { id, bin, args, timeoutMs, maxBuffer: CLI_MAX_OUTPUT, ...(options?.trim !== undefined && { trim: options.trim }) }
    // With a callback, a failed send is reported here, not as an 'error' event.
    current.process.send(request, (error) => { if (error !== null) settle(id)?.reject(notStarted(current.code)) })
  })
}

/** How long past a call's own timeout the helper has to answer before it is taken for stuck. */
export const GUARD_GRACE_MS = 5000

interface Helper {
  process: ChildProcess | undefined
  /** it said it was ready: calls sent since may have started a CLI */
  ready: boolean
  /** the error code of a failed fork */
  code?: string | undefined
}

/** No CLI was started: DockerUnavailable, naming the helper (not the CLI) and its fork's error code. */
const notStarted = (code: string | undefined): CommandFailure => ({
  timedOut: false,
  stderr: '',
  reason: `the process that starts Docker CLI calls could not be started or reached${code === undefined ? '' : ` (${code})`}`
})

interface Pending {
  resolve: (stdout: string) => void
  reject: (failure: CommandFailure) => void
  options: Parameters<CommandRunner>[1]
  guard: NodeJS.Timeout
}

// The helper is ./spawner-child.js when built, and .ts under `node --import tsx` (tests, dev).
const childProgram = fileURLToPath(new URL(`./spawner-child${extname(fileURLToPath(import.meta.url))}`, import.meta.url))

/**
 * Node flags the helper inherits, by allow-list: module loaders (tsx in tests and dev) and heap
 * sizes. Not --env-file (it would load secrets again), -e, --inspect, --watch or profiling.
 */
export function helperExecArgv (execArgv: readonly string[] = process.execArgv): string[] {
  const out: string[] = []
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!
    if (/^(-r|--require|--import|--loader|--experimental-loader)$/.test(arg) && i + 1 < execArgv.length) out.push(arg, execArgv[++i]!)
    else if (/^--(require|import|loader|experimental-loader|max-old-space-size|max-semi-space-size)=/.test(arg)) out.push(arg)
  }
  return out
}

/** False when the helper's program is not where the build puts it: the updater then starts calls itself. */
export const spawnHelperAvailable = (): boolean => existsSync(childProgram)

function killGroup (child: ChildProcess | undefined): void {
  try {
    if (child?.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
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
