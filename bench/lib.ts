/**
 * What every figure of the bench shares: the run's mode, the table of figures, statistics, starting
 * and stopping the servers under test, and the load generators. See bench/run.ts.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon from 'autocannon'
import { SECRET, token } from '../test/helper.ts'

export const quick = process.argv.includes('--quick')
export const ROUNDS = quick ? 1 : 3
/** The refusal figures are short and the noisiest: more rounds for their medians. */
export const THROUGHPUT_ROUNDS = quick ? 1 : 5
export const SECONDS = quick ? 2 : 5
/** Well formed, signed with another key: refused by signature, the path a guessing client takes. */
export const BAD = 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4IiwiZXhwIjo5OTk5OTk5OTk5fQ.' + 'A'.repeat(43)
export const badRequest = { method: 'POST' as const, headers: { authorization: BAD, 'content-type': 'application/json' }, body: '{"appName":"web"}' }
/** The same request with another forged signature each time: a flood no memo of refusals can help. */
let forgery = 0
export const distinctBadRequests = {
  ...badRequest,
  requests: [{ setupRequest: (request: autocannon.Request) => ({ ...request, headers: { ...request.headers, authorization: BAD.slice(0, -12) + String(forgery++ % 1e12).padStart(12, 'A') } }) }]
}
/** Requests per second over the whole run (autocannon's average is of whole-second samples). */
export const rate = (result: autocannon.Result): number => result.requests.total / result.duration

export interface Row { section: string, name: string, value: number, baseline: number, ratio: number, unit: string, baselineLabel: string, target: string, met: boolean, note?: string }
export const rows: Row[] = []

export function record (row: Omit<Row, 'ratio' | 'section'> & { ratio?: number }): void {
  const full: Row = { section: currentSection, ...row, ratio: row.ratio ?? (row.baseline === 0 ? NaN : row.value / row.baseline) }
  rows.push(full)
  console.log(`  ${row.name}: ${fmt(row.value)} ${row.unit} vs ${fmt(row.baseline)} (${row.baselineLabel}) → ${fmt(full.ratio)}× ` +
    `(target ${row.target}: ${row.met ? 'met' : 'MISSED'})${row.note !== undefined ? ` — ${row.note}` : ''}`)
}

let currentSection = ''
export function section (title: string): void {
  currentSection = title
  console.log(`\n${title}`)
}

export const fmt = (n: number): string => !Number.isFinite(n) ? 'n/a' : Number.isInteger(n) ? String(n) : n.toFixed(n < 10 ? 2 : 1)
export const median = (xs: number[]): number => percentile(xs, 0.5)
export function percentile (xs: number[], p: number): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.max(0, Math.min(s.length - 1, Math.ceil(p * s.length) - 1))]!
}

export async function freePort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function waitForStatus (url: string, child: ChildProcess, status = 200): Promise<void> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before ${url} answered ${status}`)
    const ok = await fetch(url).then((r) => r.status === status, () => false)
    if (ok) return
    await sleep(5)
  }
}

export interface Proc { child: ChildProcess, url: string, startedToReadyMs: number, dataDir?: string }

/**
 * Throughput figures pin the load generator (this process) to the first core and the server under
 * test to the last, when there are two or more and taskset exists: otherwise autocannon and the
 * server take turns on the same cores, and the ratio measures the scheduler as much as the server.
 * Ours and the baseline are pinned alike. Returns a function that undoes the pinning.
 */
let serverCpu: string | undefined
export function pinForThroughput (): () => void {
  const last = availableParallelism() - 1
  try {
    if (last < 1) return () => {}
    execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' })
    serverCpu = String(last)
    return () => {
      serverCpu = undefined
      execFileSync('taskset', ['-a', '-p', '-c', `0-${last}`, String(process.pid)], { stdio: 'ignore' })
    }
  } catch {
    return () => {}
  }
}

async function start (command: string[], env: Record<string, string>, readyPath: string): Promise<Proc> {
  const port = await freePort()
  const started = performance.now()
  const [file, args] = serverCpu === undefined ? [process.execPath, command] : ['taskset', ['-c', serverCpu, process.execPath, ...command]]
  const child = spawn(file, args, { env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', ...env }, stdio: ['ignore', process.env.BENCH_UPDATER_STDOUT !== undefined ? openSync(process.env.BENCH_UPDATER_STDOUT, 'a') : 'ignore', 'inherit'] })
  const url = `http://127.0.0.1:${port}`
  await waitForStatus(url + readyPath, child)
  return { child, url, startedToReadyMs: performance.now() - started }
}

export async function stop ({ child, dataDir }: Proc): Promise<void> {
  if (child.exitCode === null) {
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    await exited
  }
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true })
}

/** Node flags of `npm start`, so the updater runs exactly as it does in production. */
const startArgs = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } }).scripts.start.split(' ').slice(1)
/** BENCH_CPU_PROF=dir: every updater writes a V8 CPU profile there when it exits (bench/profile-top.ts reads them). */
/** BENCH_SERVER=path: another build of the server (say, the previous commit's dist/server.js), for an A/B. */
const serverPath = process.env.BENCH_SERVER ?? startArgs.at(-1)!
/** BENCH_CPU_PROF_INTERVAL=µs: the profile's sampling interval (default 1000). BENCH_NODE_FLAGS: more flags of the updater's node (say --trace-gc, with BENCH_UPDATER_STDOUT=file). */
const profileArgs = [
  ...process.env.BENCH_CPU_PROF !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`, `--cpu-prof-interval=${process.env.BENCH_CPU_PROF_INTERVAL ?? 1000}`] : [],
  ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean)
]
const updaterEnv = { JWT_SECRET: SECRET, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info', AUTH_FAILURE_LIMIT: '1000000000' }

/** Each updater keeps its update records in a fresh DATA_DIR, removed when it stops. */
export async function startUpdater (env: Record<string, string> = {}): Promise<Proc> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cu-bench-data-'))
  try {
    const proc = await start([...startArgs.slice(0, -1), ...profileArgs, serverPath], { ...updaterEnv, DATA_DIR: dataDir, ...env }, '/readyz')
    return { ...proc, dataDir }
  } catch (error) {
    rmSync(dataDir, { recursive: true, force: true })
    throw error
  }
}
export const startBare = async (): Promise<Proc> => start(['bench/bare-server.mjs'], {}, '/healthz')

/** Runs `fn` against a fresh updater and stops it afterwards, whatever happens. */
export async function withUpdater<T> (env: Record<string, string>, fn: (url: string) => Promise<T>): Promise<T> {
  const updater = await startUpdater(env)
  try {
    return await fn(updater.url)
  } finally {
    await stop(updater)
  }
}

/** User + system CPU milliseconds the process has used so far (Linux /proc; USER_HZ 100), or NaN. */
export function cpuMs (p: Proc): number {
  try {
    const fields = readFileSync(`/proc/${p.child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return NaN
  }
}

const pidRssMb = (pid: number | undefined): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024
export const rssMb = (p: Proc): number => pidRssMb(p.child.pid)

/**
 * The updater's spawn helper (DOCKER_SPAWN_HELPER), a process of its own: its RSS, and its private
 * memory (USS: what it adds; the rest of its RSS is the node binary's pages, shared with the updater).
 * NaN when the updater runs none (DOCKER_SPAWN_HELPER=false, or an older BENCH_SERVER).
 */
export function helperMemoryMb (p: Proc): { rss: number, private: number } {
  const pid = p.child.pid
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number)
  const helper = children.find((child) => readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('spawner-child'))
  if (helper === undefined) return { rss: NaN, private: NaN }
  const rollup = readFileSync(`/proc/${helper}/smaps_rollup`, 'utf8')
  const kB = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? NaN)
  return { rss: pidRssMb(helper), private: (kB('Private_Clean') + kB('Private_Dirty')) / 1024 }
}

export async function cannon (url: string, opts: Partial<autocannon.Options> = {}): Promise<autocannon.Result> {
  return autocannon({ url, connections: 50, ...(opts.amount === undefined && { duration: SECONDS }), ...opts })
}

export const authorized = (): Record<string, string> => ({ authorization: `Bearer ${token()}`, 'content-type': 'application/json' })

export interface Posted { status: number, ms: number, at: number, body: unknown }

/** POST /update; `at` is the wall-clock time the whole answer had arrived. */
export async function post (url: string, body: unknown): Promise<Posted> {
  const t0 = performance.now()
  const res = await fetch(`${url}/update`, { method: 'POST', headers: authorized(), body: JSON.stringify(body) })
  const text = await res.text()
  const at = Date.now()
  return { status: res.status, ms: performance.now() - t0, at, body: text === '' ? undefined : JSON.parse(text) }
}

export async function waitedUpdate (url: string, body: Record<string, unknown>, expected = 200): Promise<Posted> {
  const res = await post(url, body)
  if (res.status !== expected) throw new Error(`update ${JSON.stringify(body)} answered ${res.status}: ${JSON.stringify(res.body)}`)
  return res
}

/**
 * /healthz latencies sampled every `intervalMs` by another process (bench/healthz-sampler.mjs):
 * a sampler in this process would measure this process's own event loop, busy with autocannon.
 * Call the returned function to stop sampling and get the latencies in ms.
 */
export function sampleHealthz (url: string, intervalMs = 10): () => Promise<number[]> {
  const child = spawn(process.execPath, ['bench/healthz-sampler.mjs', `${url}/healthz`, String(intervalMs)], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { out += chunk })
  const exited = once(child, 'exit')
  return async () => {
    child.kill('SIGTERM')
    await exited
    return JSON.parse(out) as number[]
  }
}
