import { execFile, type ChildProcess } from 'node:child_process'
import { allowedInDockerEnv } from './cli-env.js'
import { trimServices } from './inspect-trim.js'
import type { HelperReady, SpawnRequest, SpawnResult } from './spawner-protocol.js'

/**
 * The spawn helper: a small process of its own that starts the updater's Docker CLI calls
 * (./spawner.ts says why). It runs `execFile` with the argument array it is given (no shell), kills
 * a call at its timeout, and reports the raw outcome (a listing's stdout trimmed to the fields
 * read when asked: ./inspect-trim.ts); the updater classifies it. Its environment is
 * the CLI's (./cli-env.ts: an allow-list, no secrets). When the updater goes away (the IPC channel closes), every call still
 * running is killed and the helper exits.
 */

// Defence in depth: the updater forks this process with the CLI's environment already (the
// allow-list of ./cli-env.ts), but a Node flag such as --env-file could load secrets again.
for (const key of Object.keys(process.env)) if (!allowedInDockerEnv(key)) delete process.env[key]

const running = new Map<number, ChildProcess>()

function start ({ id, bin, args, timeoutMs, maxBuffer, trim }: SpawnRequest): void {
  let child: ChildProcess
  try {
    child = execFile(bin, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer, windowsHide: true }, (error, stdout, stderr) => {
      running.delete(id)
      const result: SpawnResult = { id, stdout: error === null && trim === 'services' ? trimServices(String(stdout)) : String(stdout), stderr: String(stderr) }
      if (error !== null) {
        result.error = {
          code: (error as { code?: unknown }).code as string | number | null ?? null,
          killed: error.killed === true,
          signal: error.signal ?? null
        }
      }
      send(result)
    })
  } catch (error) {
    // Thrown before any process started (an argument execFile refuses, E2BIG): this call fails, not the helper.
    send({ id, stdout: '', stderr: String((error as Error).message), error: { code: String((error as { code?: unknown }).code ?? 'EINVAL'), killed: false, signal: null } })
    return
  }
  running.set(id, child)
}

function send (message: SpawnResult | HelperReady): void {
  if (process.connected) process.send?.(message, () => { /* a failed send means the updater is gone: 'disconnect' follows */ })
}

process.on('message', (message: SpawnRequest) => start(message))
process.on('disconnect', () => {
  for (const child of running.values()) child.kill('SIGKILL')
  process.exit(0)
})
send({ ready: true })
