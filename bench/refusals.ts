/**
 * The refusal part of bench/run.ts alone (issue #10 item 1), without the Swarm: the built server
 * (dist/, started as `npm start` starts it) answering an invalid token, next to the bare Fastify
 * server, alternating in one run; then the 429 path with the default limiter. Prints the ratios of
 * requests/s and, on Linux, of server CPU time per request (read from /proc): on a shared, loaded
 * machine the second is far steadier, since it does not count the time the server waits for a core.
 *
 *   npm run build && node --import tsx bench/refusals.ts [--quick]
 *   BENCH_SERVER=/elsewhere/dist/server.js …   (another build, e.g. the previous commit's)
 *   --distinct: a different forged signature on every request (a real flood; no cache can help)
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon from 'autocannon'
import { SECRET } from '../test/helper.ts'

const quick = process.argv.includes('--quick')
const ROUNDS = quick ? 1 : 5
const REQUESTS = quick ? 10_000 : 30_000
const BAD = 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4IiwiZXhwIjo5OTk5OTk5OTk5fQ.' + 'A'.repeat(43)
const badRequest = { method: 'POST' as const, headers: { authorization: BAD, 'content-type': 'application/json' }, body: '{"appName":"web"}' }
let sequence = 0
const distinct = process.argv.includes('--distinct')
  ? { requests: [{ setupRequest: (request: autocannon.Request) => ({ ...request, headers: { ...request.headers, authorization: BAD.slice(0, -12) + String(sequence++).padStart(12, 'A') } }) }] }
  : {}
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]! }

async function freePort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function start (command: string[], env: Record<string, string>): Promise<{ child: ChildProcess, url: string }> {
  const port = await freePort()
  const child = spawn(process.execPath, command, { env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', ...env }, stdio: ['ignore', 'ignore', 'inherit'] })
  const url = `http://127.0.0.1:${port}`
  while (!await fetch(url + '/healthz').then((r) => r.ok, () => false)) await sleep(5)
  return { child, url }
}

async function stop ({ child }: { child: ChildProcess }): Promise<void> {
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  await exited
}

const startArgs = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } }).scripts.start.split(' ').slice(1)
const serverArgs = process.env.BENCH_SERVER !== undefined ? [...startArgs.slice(0, -1), process.env.BENCH_SERVER] : startArgs
const updaterEnv = { JWT_SECRET: SECRET, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info', POLL_INTERVAL_MS: '250' }

/** User + system CPU milliseconds of a process so far (Linux), or NaN. */
function cpuMs (pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10 // clock ticks of 10 ms (USER_HZ 100)
  } catch {
    return NaN
  }
}

interface Run { perSecond: number, cpuMicrosPerRequest: number }

async function measure (command: string[], env: Record<string, string>): Promise<Run> {
  const server = await start(command, env)
  try {
    const options = { url: server.url + '/update', connections: 50, ...badRequest, ...distinct }
    await autocannon({ ...options, amount: 3000 }) // warm-up: JIT, limiter table
    const before = cpuMs(server.child.pid)
    const result = await autocannon({ ...options, amount: REQUESTS })
    const cpu = cpuMs(server.child.pid) - before
    if (result['2xx'] > 0 || result.errors > 0) throw new Error(`unexpected answers: ${result['2xx']} 2xx, ${result.errors} errors`)
    return { perSecond: result.requests.average, cpuMicrosPerRequest: cpu * 1000 / result.requests.total }
  } finally {
    await stop(server)
  }
}

const runs: Record<'refused' | 'limited' | 'bare', Run[]> = { refused: [], limited: [], bare: [] }
for (let round = 0; round < ROUNDS; round++) {
  runs.refused.push(await measure(serverArgs, { ...updaterEnv, AUTH_FAILURE_LIMIT: '1000000000' }))
  runs.bare.push(await measure(['bench/bare-server.mjs'], {}))
  runs.limited.push(await measure(serverArgs, { ...updaterEnv, AUTH_FAILURE_LIMIT: '30' }))
  const show = (r: Run[]) => `${r.at(-1)!.perSecond.toFixed(0)} req/s ${r.at(-1)!.cpuMicrosPerRequest.toFixed(1)} µs`
  console.log(`round ${round + 1}: 401 ${show(runs.refused)} | bare ${show(runs.bare)} | 429 ${show(runs.limited)}`)
}
const rate = (r: Run[]) => median(r.map((x) => x.perSecond))
const cost = (r: Run[]) => median(r.map((x) => x.cpuMicrosPerRequest))
for (const [name, r] of [['401 (limiter off)', runs.refused], ['429 (default limiter)', runs.limited]] as const) {
  console.log(`${name}: ${rate(r).toFixed(0)} req/s vs bare ${rate(runs.bare).toFixed(0)} → ${(rate(r) / rate(runs.bare)).toFixed(2)}×; ` +
    `CPU ${cost(r).toFixed(1)} µs/request vs bare ${cost(runs.bare).toFixed(1)} → ${(cost(runs.bare) / cost(r)).toFixed(2)}× (target ≥ 0.8×)`)
}
