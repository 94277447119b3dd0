import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { SECRET } from './helper.ts'
import { until } from './swarm-fixtures.ts'

// The server as it ships, in a child process, for the tests of the process around the engine
// (test/faults/process.test.ts, gates-restart, check-restart, hooks-memory; test/swarm/watch-restart.test.ts).
const root = new URL('../', import.meta.url).pathname

/** The newest modification time of any file under `dir`. */
async function newest (dir: string): Promise<number> {
  let latest = 0
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) latest = Math.max(latest, (await stat(join(entry.parentPath, entry.name))).mtimeMs)
  }
  return latest
}

/** The server as it ships (`npm run build`, then `node dist/server.js`), built again only when src/ changed. */
export async function buildOnce (): Promise<void> {
  const built = await stat(join(root, 'dist', 'server.js')).then((s) => s.mtimeMs, () => 0)
  if (built > await newest(join(root, 'src'))) return
  await promisify(execFile)('npm', ['run', 'build'], { cwd: root, timeout: 300_000 })
}

export interface Server {
  url: string
  child: ReturnType<typeof spawn>
  exited: Promise<unknown[]>
  output: () => string
}

/**
 * `node [nodeArgs] dist/server.js` on a free loopback port; killed (SIGKILL) when the test ends if
 * still running.
 */
export async function startServer (t: { after: (fn: () => unknown) => void }, env: Record<string, string>, nodeArgs: string[] = []): Promise<Server> {
  const child = spawn(process.execPath, [...nodeArgs, join(root, 'dist', 'server.js')], {
    env: { ...process.env, JWT_SECRET: SECRET, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', POLL_INTERVAL_MS: '200', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const exited = once(child, 'exit')
  t.after(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  const url = await until('the server to listen', () => /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1], 30_000)
    .catch((error: Error) => { throw new Error(`${error.message}: ${output}`) })
  return { url, child, exited, output: () => output }
}
