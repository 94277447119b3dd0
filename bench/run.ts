/**
 * npm run bench: the updater's request paths, each next to a baseline measured the same way in the
 * same run (the machines are shared and noisy, so only ratios mean something). Uses the built
 * server (dist/) and the real test Swarm. Prints a table and writes bench/results.json.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { readFileSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { promisify } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon from 'autocannon'
import { SECRET, token } from '../test/helper.ts'
import { REGISTRY, docker, fastUpdates, inspect, pushImage, swarmSkip, uniqueName } from '../test/swarm-fixtures.ts'

const exec = promisify(execFile)
const quick = process.argv.includes('--quick')
const ROUNDS = quick ? 1 : 3
const SECONDS = quick ? 2 : 5
const BAD = 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4IiwiZXhwIjo5OTk5OTk5OTk5fQ.' + 'A'.repeat(43)

interface Row { name: string, value: number, baseline: number, ratio: number, unit: string, target: string, met: boolean, note?: string }
const rows: Row[] = []
const services: string[] = []

function record (row: Omit<Row, 'ratio'>): void {
  const full = { ...row, ratio: row.baseline === 0 ? NaN : row.value / row.baseline }
  rows.push(full)
  console.log(`  ${row.name}: ${fmt(row.value)} ${row.unit} vs ${fmt(row.baseline)} → ${fmt(full.ratio)}× (target ${row.target}: ${row.met ? 'met' : 'MISSED'})`)
}
const fmt = (n: number): string => !Number.isFinite(n) ? 'n/a' : Number.isInteger(n) ? String(n) : n.toFixed(n < 10 ? 2 : 1)
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]! }
const percentile = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]! }

async function freePort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function waitForStatus (url: string, status = 200): Promise<void> {
  for (;;) {
    const ok = await fetch(url).then((r) => r.status === status, () => false)
    if (ok) return
    await sleep(5)
  }
}

interface Proc { child: ChildProcess, url: string, startedToReadyMs: number }

async function start (command: string[], env: Record<string, string>, readyPath: string): Promise<Proc> {
  const port = await freePort()
  const started = performance.now()
  const child = spawn(process.execPath, command, { env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', ...env }, stdio: ['ignore', 'ignore', 'inherit'] })
  const url = `http://127.0.0.1:${port}`
  await waitForStatus(url + readyPath)
  return { child, url, startedToReadyMs: performance.now() - started }
}

async function stop ({ child }: Proc): Promise<void> {
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  await exited
}

const updaterEnv = { JWT_SECRET: SECRET, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info', AUTH_FAILURE_LIMIT: '1000000000', POLL_INTERVAL_MS: '250' }
// Started exactly as `npm start` starts it (node flags included).
const startArgs = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } }).scripts.start.split(' ').slice(1)
const startUpdater = async (env: Record<string, string> = {}) => start(startArgs, { ...updaterEnv, ...env }, '/readyz')
const startBare = async () => start(['bench/bare-server.mjs'], {}, '/healthz')

async function cannon (url: string, opts: Partial<autocannon.Options> = {}): Promise<autocannon.Result> {
  return autocannon({ url, connections: 50, ...(opts.amount === undefined && { duration: SECONDS }), ...opts })
}
const badRequest = { method: 'POST' as const, headers: { authorization: BAD, 'content-type': 'application/json' }, body: '{"appName":"web"}' }

async function service (): Promise<string> {
  const name = uniqueName('cu-bench')
  await pushImage(name, 'latest')
  await docker('service', 'create', '--quiet', '--detach=false', '--name', name, '--label', 'container-updater.test=1', ...fastUpdates, `${REGISTRY}/${name}:latest`)
  services.push(name)
  return name
}

async function post (url: string, body: unknown): Promise<{ status: number, ms: number }> {
  const t0 = performance.now()
  const res = await fetch(`${url}/update`, { method: 'POST', headers: { authorization: `Bearer ${token()}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  await res.arrayBuffer()
  return { status: res.status, ms: performance.now() - t0 }
}

async function rejected (): Promise<void> {
  console.log('1. rejected requests (invalid token), requests/s')
  const ours: number[] = []
  const bare: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const updater = await startUpdater()
    ours.push((await cannon(updater.url + '/update', badRequest)).requests.average)
    await stop(updater)
    const baseline = await startBare()
    bare.push((await cannon(baseline.url + '/update', badRequest)).requests.average)
    await stop(baseline)
  }
  const value = median(ours)
  const baseline = median(bare)
  record({ name: 'rejected requests/s (401 path, limiter off)', value, baseline, unit: 'req/s', target: '≥ 0.8×', met: value / baseline >= 0.8 })

  // With the default failed-authentication limit, a flooding address gets 429 after 30 failures:
  // the path an actual flood takes.
  const limited: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const updater = await startUpdater({ AUTH_FAILURE_LIMIT: '30' })
    limited.push((await cannon(updater.url + '/update', badRequest)).requests.average)
    await stop(updater)
  }
  record({ name: 'rejected requests/s (429 path, default limiter)', value: median(limited), baseline, unit: 'req/s', target: '≥ 0.8×', met: median(limited) / baseline >= 0.8 })
}

async function trigger (url: string): Promise<void> {
  console.log('2. authenticated trigger (wait:false) vs the Docker CLI calls it needs, latency ms')
  const [viaUpdater, direct] = [await service(), await service()]
  const ours: number[] = []
  const cli: number[] = []
  for (let i = 0; i < (quick ? 5 : 20); i++) {
    const res = await post(url, { appName: viaUpdater, wait: false })
    if (res.status !== 202) throw new Error(`trigger answered ${res.status}`)
    ours.push(res.ms)
    const t0 = performance.now()
    await exec('docker', ['service', 'inspect', '--', direct])
    await exec('docker', ['service', 'update', '--detach', '--force', '--image', `${REGISTRY}/${direct}:latest`, '--', direct])
    cli.push(performance.now() - t0)
  }
  record({ name: 'trigger median latency', value: median(ours), baseline: median(cli), unit: 'ms', target: '≤ 1.3×', met: median(ours) / median(cli) <= 1.3 })
  record({ name: 'trigger p99 latency', value: percentile(ours, 0.99), baseline: percentile(cli, 0.99), unit: 'ms', target: '(reported)', met: true })
}

async function waitedUpdate (url: string, name: string): Promise<number> {
  const res = await post(url, { appName: name })
  if (res.status !== 200) throw new Error(`update of ${name} answered ${res.status}`)
  return res.ms
}

async function coalescing (url: string): Promise<void> {
  console.log('3. coalescing: 100 concurrent waited requests for one service vs one waited update')
  const name = await service()
  const single = await waitedUpdate(url, name)
  const before = (await inspect(name)).Spec.TaskTemplate.ForceUpdate ?? 0
  const t0 = performance.now()
  const results = await Promise.all(Array.from({ length: 100 }, async () => post(url, { appName: name })))
  const total = performance.now() - t0
  const updates = ((await inspect(name)).Spec.TaskTemplate.ForceUpdate ?? 0) - before
  const allOk = results.every((r) => r.status === 200)
  record({ name: '100 requests, total time', value: total, baseline: single, unit: 'ms', target: '≤ 2.2×', met: total / single <= 2.2 && allOk, note: `${updates} Docker updates (target ≤ 2); all 200: ${allOk}` })
  rows.push({ name: '100 requests, Docker updates', value: updates, baseline: 1, ratio: updates, unit: 'updates', target: '≤ 2', met: updates <= 2 })
}

async function fanOut (url: string): Promise<void> {
  console.log('4. fan-out: 10 services at once vs one')
  const names = await Promise.all(Array.from({ length: 10 }, async () => service()))
  const one = await waitedUpdate(url, names[0]!)
  const t0 = performance.now()
  await Promise.all(names.map(async (name) => waitedUpdate(url, name)))
  const ten = performance.now() - t0
  record({ name: '10 services, total time', value: ten, baseline: one, unit: 'ms', target: '≪ 10× (parallel)', met: ten / one < 5 })
}

async function liveness (url: string): Promise<void> {
  console.log('5. /healthz p99 while 20 updates are in flight and bad tokens flood, vs idle')
  const idle = await cannon(url + '/healthz', { connections: 1, duration: SECONDS })
  const names = await Promise.all(Array.from({ length: 20 }, async () => service()))
  const updates = Promise.all(names.map(async (name) => waitedUpdate(url, name)))
  await sleep(300)
  const [busy] = await Promise.all([
    cannon(url + '/healthz', { connections: 1, duration: SECONDS }),
    cannon(url + '/update', { ...badRequest, connections: 10, duration: SECONDS })
  ])
  await updates
  // autocannon counts whole milliseconds: an idle p99 of 0 means under 1 ms (the ratio is then n/a).
  record({ name: '/healthz p99 under load', value: busy.latency.p99, baseline: idle.latency.p99, unit: 'ms', target: '< 10 ms', met: busy.latency.p99 < 10 })
}

async function footprint (): Promise<void> {
  console.log('6. footprint: RSS after 100k requests; start to /readyz 200')
  const starts: number[] = []
  const bareStarts: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const u = await startUpdater()
    starts.push(u.startedToReadyMs)
    await stop(u)
    const b = await startBare()
    bareStarts.push(b.startedToReadyMs)
    await stop(b)
  }
  record({ name: 'start to ready', value: median(starts), baseline: median(bareStarts), unit: 'ms', target: '(reported; baseline: bare Fastify to /healthz)', met: true })
  const updater = await startUpdater()
  const bare = await startBare()
  const rss = (p: Proc): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.child.pid}/status`, 'utf8'))?.[1]) / 1024
  await cannon(updater.url + '/update', { ...badRequest, amount: 100_000 })
  await cannon(bare.url + '/update', { ...badRequest, amount: 100_000 })
  const mb = rss(updater)
  record({ name: 'RSS after 100k requests', value: mb, baseline: rss(bare), unit: 'MB', target: '≤ 80 MB', met: mb <= 80 })
  await stop(updater)
  await stop(bare)
}

async function machine (): Promise<Record<string, string>> {
  return {
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    docker: await docker('version', '--format', 'engine {{.Server.Version}}, CLI {{.Client.Version}}'),
    date: new Date().toISOString()
  }
}

const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length)

async function main (): Promise<void> {
  if (only === 'rejected') {
    await rejected()
    return
  }
  if (only === 'liveness') {
    const updater = await startUpdater({ UPDATE_TIMEOUT: '120', MAX_CONCURRENT_UPDATES: '10' })
    try { await liveness(updater.url) } finally {
      await stop(updater)
      await Promise.all(services.map(async (name) => docker('service', 'rm', name).catch(() => '')))
    }
    return
  }
  if (swarmSkip !== false) throw new Error(swarmSkip)
  const env = await machine()
  console.log(`bench on ${env.cpu}, ${env.memory}, Node ${env.node}, Docker ${env.docker}${quick ? ' (quick)' : ''}`)
  try {
    await rejected()
    const updater = await startUpdater({ UPDATE_TIMEOUT: '120', MAX_CONCURRENT_UPDATES: '10' })
    try {
      await trigger(updater.url)
      await coalescing(updater.url)
      await fanOut(updater.url)
      await liveness(updater.url)
    } finally {
      await stop(updater)
    }
    await footprint()
  } finally {
    await Promise.all(services.map(async (name) => docker('service', 'rm', name).catch(() => '')))
  }
  console.log('\n| figure | ours | baseline | ratio | target | met |\n|---|---|---|---|---|---|')
  for (const r of rows) console.log(`| ${r.name} | ${fmt(r.value)} ${r.unit} | ${fmt(r.baseline)} ${r.unit} | ${fmt(r.ratio)}× | ${r.target} | ${r.met ? 'yes' : '**no**'}${r.note !== undefined ? ` (${r.note})` : ''} |`)
  writeFileSync('bench/results.json', JSON.stringify({ machine: env, quick, rows }, null, 2) + '\n')
  console.log('\nwritten: bench/results.json')
}

await main()
