import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bearer } from '../helper.ts'
import { buildOnce, startServer } from '../server-process.ts'
import { createService, freePort, pushImage, swarmSkip, uniqueName, until } from '../swarm-fixtures.ts'
import { watchLabels, type WatchEntry } from '../watch-fixtures.ts'

/**
 * The watcher across `kill -9` (DESIGN §7): the server as it ships (dist/server.js) on a DATA_DIR,
 * killed while a cycle runs, started again on the same DATA_DIR. The restarted process checks
 * nothing until each service is due by its stored last check (the registry's own access log counts
 * every request), and keeps the quarantine and the first-seen time that min-age counts from.
 */
interface Server { url: string, kill: () => Promise<void> }

async function startWatcher (t: { after: (fn: () => unknown) => void }, env: Record<string, string>): Promise<Server> {
  const server = await startServer(t, env)
  return { url: server.url, kill: async () => { server.child.kill('SIGKILL'); await server.exited } }
}

async function watched (server: Server): Promise<Map<string, WatchEntry>> {
  const res = await fetch(`${server.url}/watch`, { headers: bearer() })
  assert.equal(res.status, 200)
  return new Map((await res.json() as { services: WatchEntry[] }).services.map((s) => [s.service, s]))
}

async function checkNow (server: Server, body: object = {}): Promise<void> {
  const res = await fetch(`${server.url}/watch/check`, { method: 'POST', headers: { ...bearer(), 'content-type': 'application/json' }, body: JSON.stringify(body) })
  assert.equal(res.status, 202)
}

test('swarm: kill -9 mid-cycle and restart on the same DATA_DIR: no burst of checks, quarantine and first-seen kept', { skip: swarmSkip }, async (t) => {
  await buildOnce()
  // A registry of our own whose access log (stdout) counts the watcher's requests.
  const dir = await mkdtemp(join(tmpdir(), 'cu-watch-restart-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const addr = `127.0.0.1:${await freePort()}`
  await writeFile(join(dir, 'config.yml'), JSON.stringify({ version: 0.1, log: { level: 'warn' }, storage: { filesystem: { rootdirectory: join(dir, 'data') } }, http: { addr } }))
  const registry = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.after(async () => { if (registry.exitCode === null) { registry.kill('SIGTERM'); await once(registry, 'exit') } })
  const access: string[] = []
  for (const stream of [registry.stdout, registry.stderr]) {
    stream.setEncoding('utf8').on('data', (chunk: string) => { for (const line of chunk.split('\n')) if (/"(HEAD|GET) \/v2\/.+\/(manifests|tags)\//.test(line)) access.push(line) })
  }
  await until('the registry', async () => (await fetch(`http://${addr}/v2/`).then((r) => r.ok, () => false)) ? true : undefined, 30_000)

  const repo = uniqueName('cu-wr')
  const image = (tag: string): string => `${addr}/${repo}:${tag}`
  for (const tag of ['1.2.3', '1.3.0', 'stable', 'n1', 'n2', 'n3']) await pushImage(repo, tag, 'good', addr)
  const names = { minAge: uniqueName('cu-wr-minage'), quarantined: uniqueName('cu-wr-q'), n1: uniqueName('cu-wr-n1'), n2: uniqueName('cu-wr-n2'), n3: uniqueName('cu-wr-n3') }
  await Promise.all([
    createService(t, names.minAge, image('1.2.3'), [...watchLabels('true', 'semver:minor'), '--label', 'container-updater.min-age=1d']),
    createService(t, names.quarantined, image('stable'), watchLabels('true')),
    createService(t, names.n1, image('n1'), watchLabels('true')),
    createService(t, names.n2, image('n2'), watchLabels('true')),
    createService(t, names.n3, image('n3'), watchLabels('true'))
  ])
  const crash = (await pushImage(repo, 'stable', 'crash', addr)).digest

  const data = join(dir, 'state')
  const env = { DATA_DIR: data, WATCH: 'true', WATCH_INTERVAL: '1h', UPDATE_TIMEOUT: '180' }
  const first = await startWatcher(t, env)
  await checkNow(first)
  const settled = await until('the quarantine and min-age', async () => {
    const all = await watched(first)
    return all.get(names.quarantined)?.state === 'quarantined' && all.get(names.minAge)?.state === 'waiting_min_age' ? all : undefined
  }, 240_000, 500)
  const quarantine = settled.get(names.quarantined)!.quarantined!
  assert.equal(quarantine.digest, crash)
  const firstSeenAt = settled.get(names.minAge)!.available!.firstSeenAt
  // Killed while a cycle of every service runs.
  await checkNow(first)
  await first.kill()

  const killedAt = Date.now()
  const before = access.length
  const second = await startWatcher(t, env)
  const after = await until('every watched service listed', async () => {
    const all = await watched(second)
    return Object.values(names).every((n) => all.has(n)) ? all : undefined
  }, 60_000, 250)
  // One check asked for: once it is done, the scheduler's earlier ticks are done too.
  await checkNow(second, { service: names.n1 })
  await until('the check of n1', async () => {
    const at = (await watched(second)).get(names.n1)?.lastCheckedAt
    return at !== null && at !== undefined && Date.parse(at) >= killedAt ? true : undefined
  }, 60_000, 250)
  const since = access.slice(before)
  assert.ok(since.length >= 1, 'the asked-for check reached the registry')
  assert.deepEqual(since.filter((line) => !line.includes(`/v2/${repo}/manifests/n1`)), [], 'no other check after the restart: every service waits for its stored schedule')

  assert.deepEqual(after.get(names.quarantined)?.quarantined, quarantine, 'the quarantine survived kill -9')
  assert.equal(after.get(names.minAge)?.state, 'waiting_min_age')
  const final = await watched(second)
  for (const name of [names.minAge, names.quarantined, names.n2, names.n3]) {
    const view = final.get(name)!
    assert.ok(view.lastCheckedAt !== null && Date.parse(view.lastCheckedAt) < killedAt, `${name} was last checked by the first process`)
    assert.equal(Date.parse(view.nextCheckAt!), Date.parse(view.lastCheckedAt!) + 3_600_000, `${name}: next check an interval after the stored one`)
  }

  // Checked again, the min-age service still counts from the first process's first sight.
  await checkNow(second, { service: names.minAge })
  const minAge = await until('the check of the min-age service', async () => {
    const view = (await watched(second)).get(names.minAge)
    return view?.lastCheckedAt !== null && view?.lastCheckedAt !== undefined && Date.parse(view.lastCheckedAt) >= killedAt ? view : undefined
  }, 60_000, 250)
  assert.equal(minAge.state, 'waiting_min_age')
  assert.equal(minAge.available?.firstSeenAt, firstSeenAt, 'first-seen survived kill -9')
  assert.equal(minAge.available?.tag, '1.3.0')
  const records = await fetch(`${second.url}/updates?service=${names.quarantined}`, { headers: bearer() })
  assert.equal((await records.json() as { updates: unknown[] }).updates.length, 1, 'the quarantined digest was rolled out once, in the first process only')
})
