import { spawn } from 'node:child_process'
import { once } from 'node:events'

/**
 * Debian's `docker-registry` serving `configFile` (test/registry-fixture.ts, test/token-registry.ts):
 * the last 4000 characters of what it says on stderr, for a failure's message, and a stop that waits
 * for it to exit. `onStdout` gets its standard output (the access log), else it is dropped.
 */
export function serveRegistry (configFile: string, onStdout?: (chunk: string) => void): { stderr: () => string, stop: () => Promise<void> } {
  const child = spawn('docker-registry', ['serve', configFile], { stdio: ['ignore', onStdout === undefined ? 'ignore' : 'pipe', 'pipe'] })
  if (onStdout !== undefined) child.stdout!.on('data', (chunk: Buffer) => { onStdout(String(chunk)) })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => { stderr = (stderr + String(chunk)).slice(-4000) })
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      await once(child, 'exit')
    }
  }
  return { stderr: () => stderr, stop }
}
