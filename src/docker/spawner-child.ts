import { execFile, type ChildProcess } from 'node:child_process'
import type { SpawnRequest, SpawnResult } from './spawner-protocol.js'

/**
 * The spawn helper: a small process of its own that starts the updater's Docker CLI calls
 * (./spawner.ts says why). It runs `execFile` with the argument array it is given (no shell), kills
 * a call at its timeout, and reports the raw outcome; the updater classifies it. Its environment is
 * the CLI's (no JWT secrets). When the updater goes away (the IPC channel closes), every call still
 * running is killed and the helper exits.
 */

const running = new Map<number, ChildProcess>()

function start ({ id, bin, args, timeoutMs, maxBuffer }: SpawnRequest): void {
  const child = execFile(bin, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer, windowsHide: true }, (error, stdout, stderr) => {
    running.delete(id)
    const result: SpawnResult = { id, stdout: String(stdout), stderr: String(stderr) }
    if (error !== null) {
      result.error = {
        code: (error as { code?: unknown }).code as string | number | null ?? null,
        killed: error.killed === true,
        signal: error.signal ?? null
      }
    }
    send(result)
  })
  running.set(id, child)
}

function send (result: SpawnResult): void {
  if (process.connected) process.send?.(result)
}

function killAll (): void {
  for (const child of running.values()) child.kill('SIGKILL')
}

process.on('message', (message: SpawnRequest | { kill: 'all' }) => {
  if ('kill' in message) killAll()
  else start(message)
})
process.on('disconnect', () => {
  killAll()
  process.exit(0)
})
