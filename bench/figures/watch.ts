import { execFile } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { TEST_LABEL, fastUpdates, uniqueName, until } from '../../test/swarm-fixtures.ts'
import { startTokenRegistry, type AccessEntry } from '../../test/token-registry.ts'
import { ROUNDS, authorized, cpuMs, median, quick, record, section, startUpdater, stop, type Proc } from '../lib.ts'
import { healthzDuringCycles } from './watch-healthz.ts'

const exec = promisify(execFile)
const SERVICES = 500
const REPOS = 50
const LATENCY_ROUNDS = quick ? 3 : 5

/**
 * The watch figure (issue #19): 500 watched services over 50 distinct repo:tag, one full cycle at a
 * time (POST /watch/check). The registry is real: Debian's docker-registry behind a token realm
 * (test/token-registry.ts), its access log telling what the updater asked. The Swarm listing is
 * not: 500 services are too heavy for this 2-core machine, so `service ls`/`service inspect`
 * answer 500 fabricated services (bench/fake-listing.mjs) plus one real service, and every other
 * Docker command is the real CLI's. The Docker calls are counted by the wrapper whoever answers.
 */
export async function watch (): Promise<void> {
  section('8. watch: 500 services over 50 repo:tag on a real registry behind a token realm (fake Swarm listing), one cycle at a time')
  const cleanups: Array<() => Promise<unknown>> = []
  const dir = mkdtempSync(join(tmpdir(), 'cu-bench-watch-'))
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }))
  let updater: Proc | undefined
  try {
    const registry = await startTokenRegistry({ after: (fn) => cleanups.push(fn) })
    const env = { ...process.env, DOCKER_CONFIG: registry.dockerConfig }

    // 50 repositories holding the same small image (one import, 50 pushes that mount its layers).
    const repos = Array.from({ length: REPOS }, (_, i) => uniqueName(`cu-bench-w${i}`))
    const first = await registry.push(repos[0]!, 'latest')
    const digests = [first.digest]
    const source = `${registry.address}/${repos[0]}:latest`
    await exec('docker', ['pull', '-q', source], { env })
    for (const repo of repos.slice(1)) {
      const ref = `${registry.address}/${repo}:latest`
      await exec('docker', ['tag', source, ref])
      const { stdout } = await exec('docker', ['push', ref], { env })
      digests.push(/digest: (sha256:[0-9a-f]{64})/.exec(stdout)![1]!)
      await exec('docker', ['image', 'rm', ref]).catch(() => {})
    }
    await exec('docker', ['image', 'rm', source]).catch(() => {})

    // The fabricated services: pinned to the digest pushed, as Swarm pins them.
    const fake = Array.from({ length: SERVICES }, (_, i) => ({
      ID: `benchwatch${String(i).padStart(15, '0')}`,
      Version: { Index: 10 },
      Spec: {
        Name: `cu-bench-watch-${i}`,
        Labels: { 'container-updater.watch': 'true' },
        Mode: { Replicated: { Replicas: 1 } },
        TaskTemplate: { ForceUpdate: 0, ContainerSpec: { Image: `${registry.address}/${repos[i % REPOS]}:latest@${digests[i % REPOS]}` } }
      }
    }))
    writeFileSync(join(dir, 'services.json'), JSON.stringify(fake))

    // One real service, on a repository of its own, for the detection latency.
    const liveRepo = uniqueName('cu-bench-wlive')
    await registry.push(liveRepo, 'latest')
    const live = uniqueName('cu-bench-wlive')
    cleanups.push(() => exec('docker', ['service', 'rm', live]).catch(() => ''))
    const liveId = (await exec('docker', ['service', 'create', '--quiet', '--detach=false', '--with-registry-auth', '--name', live, '--label', TEST_LABEL,
      '--label', 'container-updater.watch=true', ...fastUpdates, `${registry.address}/${liveRepo}:latest`], { env, timeout: 180_000 })).stdout.trim()

    const { stdout: realDocker } = await exec('sh', ['-c', 'command -v docker'])
    const log = join(dir, 'calls.log')
    writeFileSync(log, '')
    const bin = join(dir, 'docker')
    // The updater passes the CLI only the environment it needs (src/docker/cli-env.ts): the listing's
    // settings are written into the wrapper.
    const listing = `BENCH_REAL_DOCKER='${realDocker.trim()}' BENCH_FAKE_SERVICES='${join(dir, 'services.json')}' BENCH_REAL_IDS='${liveId}'`
    // The watcher's listing itself (`service ls`, then `service inspect` of exactly those 501 IDs) is
    // answered from files and the real CLI, as cheaply as the real CLI answers it: a Node process per
    // call (bench/fake-listing.mjs, kept for every other shape of call) cost the 2-core machine two
    // Node start-ups per cycle, which the sampler's process then waited behind.
    writeFileSync(join(dir, 'ids.txt'), [...fake.map((s) => s.ID), liveId].join('\n') + '\n')
    writeFileSync(join(dir, 'fake-body.json'), JSON.stringify(fake).slice(1, -1))
    const real = realDocker.trim()
    writeFileSync(bin, `#!/bin/sh
printf '%s\\n' "$*" >> '${log}'
case "$1 $2" in
  "service ls") exec cat '${join(dir, 'ids.txt')}' ;;
  "service inspect")
    if [ "$3" = "--" ] && [ "$4" = "${fake[0]!.ID}" ] && [ "$#" -eq ${SERVICES + 4} ]; then
      printf '['; cat '${join(dir, 'fake-body.json')}'; printf ','; '${real}' service inspect -- '${liveId}' | sed '1d;$d'; printf ']\\n'; exit 0
    fi
    ${listing} exec '${process.execPath}' '${join(process.cwd(), 'bench/fake-listing.mjs')}' "$@" ;;
esac
exec '${real}' "$@"
`)
    chmodSync(bin, 0o755)
    const calls = (): string[] => readFileSync(log, 'utf8').split('\n').filter(Boolean)

    // WATCH_INTERVAL 7d: the jittered first checks fall outside the bench; each cycle is asked for.
    updater = await startUpdater({ DOCKER_BIN: bin, DOCKER_CONFIG: registry.dockerConfig, WATCH: 'true', WATCH_INTERVAL: '7d', UPDATE_TIMEOUT: '120' })
    const url = updater.url
    const cycles = async (): Promise<number> => Number(/^container_updater_watch_cycle_duration_seconds_count (\d+)/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? 0)
    const fromUpdater = (e: AccessEntry): boolean => !e.agent.startsWith('docker/')
    const distinct = REPOS + 1 // the 50 repo:tag of the listing, and the real service's
    // A cycle is over when /metrics counts it. Inside the measured windows the updater is not
    // polled (a scrape costs it CPU): the end is told from the registry's log (every HEAD served),
    // and /metrics read once after the window to confirm it.
    const runCycle = async (watchRegistry = false): Promise<void> => {
      const before = await cycles()
      const logBefore = watchRegistry ? (await registry.accessLog()).length : 0
      const res = await fetch(`${url}/watch/check`, { method: 'POST', headers: authorized(), body: '{}' })
      if (res.status !== 202) throw new Error(`POST /watch/check answered ${res.status}`)
      if (watchRegistry) {
        await until('the cycle\'s HEADs', async () => (await registry.accessLog()).slice(logBefore).filter((e) => fromUpdater(e) && e.method === 'HEAD' && e.status === 200).length >= distinct ? true : undefined, 120_000, 50)
        return
      }
      await until('the watch cycle', async () => (await cycles()) > before ? true : undefined, 120_000, 50)
    }

    // Cycles: the first (tokens asked), then warm ones; each with its requests, Docker calls and CPU.
    const perCycle: Array<{ heads: number, gets: number, manifestGets: number, tokens: number, docker: number, cpu: number, ms: number }> = []
    for (let i = 0; i < 1 + ROUNDS; i++) {
      const logBefore = (await registry.accessLog()).length
      const tokensBefore = registry.tokenRequests.length
      const callsBefore = calls().length
      const cpuBefore = cpuMs(updater)
      const t0 = performance.now()
      await runCycle()
      const ms = performance.now() - t0
      const cpu = cpuMs(updater) - cpuBefore
      const entries = (await registry.accessLog()).slice(logBefore).filter(fromUpdater)
      perCycle.push({
        heads: entries.filter((e) => e.method === 'HEAD' && e.status === 200).length,
        gets: entries.filter((e) => e.method === 'GET').length,
        manifestGets: entries.filter((e) => e.method === 'GET' && e.path.includes('/manifests/')).length,
        tokens: registry.tokenRequests.length - tokensBefore,
        docker: calls().length - callsBefore,
        cpu,
        ms
      })
    }
    const warm = perCycle.slice(1)
    const cold = perCycle[0]!
    const note = `first cycle: ${cold.heads} HEAD, ${cold.tokens} token requests; warm cycles: ${warm.map((c) => `${c.heads} HEAD/${c.tokens} tokens`).join(', ')}`
    record({ name: 'watch: registry HEADs per cycle (500 services over 50 repo:tag, + 1 real service)', value: median(warm.map((c) => c.heads)), baseline: distinct, unit: 'requests', baselineLabel: 'distinct repo:tag', target: '= 51 (+ tokens)', met: perCycle.every((c) => c.heads === distinct), note })
    record({ name: 'watch: manifest GETs per cycle, nothing changed', value: Math.max(...perCycle.map((c) => c.manifestGets)), baseline: 0, unit: 'requests', baselineLabel: 'none', target: '0', met: perCycle.every((c) => c.manifestGets === 0), ratio: NaN })
    record({ name: 'watch: Docker CLI calls per cycle', value: Math.max(...perCycle.map((c) => c.docker)), baseline: 2, unit: 'calls', baselineLabel: 'one listing: ls + inspect', target: '≤ 2', met: perCycle.every((c) => c.docker <= 2) })

    // CPU: a window with one cycle against an idle window of the same length, nothing else asking
    // the updater anything (no /healthz sampler, no /metrics scrape inside either window).
    const cycleMs = median(warm.map((c) => c.ms))
    const cpuWindowMs = Math.max(5000, 2 * cycleMs)
    const idleCpu: number[] = []
    const busyCpu: number[] = []
    for (let i = 0; i < ROUNDS; i++) {
      let before = cpuMs(updater)
      await sleep(cpuWindowMs)
      idleCpu.push(cpuMs(updater) - before)
      const done = await cycles()
      await sleep(200)
      before = cpuMs(updater)
      const t0 = performance.now()
      await runCycle(true)
      await sleep(Math.max(0, cpuWindowMs - (performance.now() - t0)))
      busyCpu.push(cpuMs(updater) - before)
      await until('the watch cycle', async () => (await cycles()) > done ? true : undefined, 120_000, 50)
    }
    const cpuCycle = median(busyCpu) - median(idleCpu)
    record({ name: 'watch: updater CPU in a window holding one cycle', value: median(busyCpu), baseline: median(idleCpu), unit: 'ms CPU', baselineLabel: `idle, same ${Math.round(cpuWindowMs)} ms window`, target: '(reported)', met: true, note: `a cycle: ${Math.round(cycleMs)} ms wall, about ${cpuCycle} ms CPU above idle (USER_HZ: 10 ms steps); windows ${busyCpu.join('/')} vs ${idleCpu.join('/')} ms` })
    const idlePerHour = median(idleCpu) / cpuWindowMs * 3_600_000
    record({ name: 'watch: updater CPU over WATCH_INTERVAL (1 h) with one cycle', value: idlePerHour + cpuCycle, baseline: idlePerHour, unit: 'ms CPU', baselineLabel: 'idle for 1 h (extrapolated from the idle windows)', target: '≤ 1.2×', met: (idlePerHour + cpuCycle) / idlePerHour <= 1.2 })

    await healthzDuringCycles(url, cycleMs, cycles)

    // Detection: push a new digest, ask for a check, and read when the update started (its record).
    const latencies: number[] = []
    for (let i = 0; i < LATENCY_ROUNDS; i++) {
      await registry.push(liveRepo, 'latest')
      const pushedAt = Date.now()
      const known = new Set<string>()
      const page = async (): Promise<Array<{ updateId: string, startedAt: string, status: string }>> =>
        ((await (await fetch(`${url}/updates?service=${live}`, { headers: authorized() })).json()) as { updates: Array<{ updateId: string, startedAt: string, status: string }> }).updates
      for (const u of await page()) known.add(u.updateId)
      await fetch(`${url}/watch/check`, { method: 'POST', headers: authorized(), body: JSON.stringify({ service: live }) })
      const started = await until('the watch update', async () => (await page()).find((u) => !known.has(u.updateId)), 120_000, 50)
      latencies.push(Date.parse(started.startedAt) - pushedAt)
      await until('the update to end', async () => (await page()).find((u) => u.updateId === started.updateId && !['queued', 'updating', 'verifying', 'pending_approval', 'held'].includes(u.status)), 180_000, 250)
    }
    record({ name: 'watch: detection latency, push → update started (POST /watch/check)', value: median(latencies), baseline: 1000, unit: 'ms', baselineLabel: 'the target', target: 'p50 ≤ 1 s', met: median(latencies) <= 1000, note: `${latencies.length} pushes: ${latencies.join(', ')} ms` })
  } finally {
    if (updater !== undefined) await stop(updater)
    for (const fn of cleanups.reverse()) await fn().catch(() => {})
  }
}
