import { setTimeout as sleep } from 'node:timers/promises'
import { until } from '../../test/swarm-fixtures.ts'
import { authorized, percentile, quick, record, sampleHealthz, startBare, stop } from '../lib.ts'

/**
 * Rounds of the /healthz figure: its p99 is the 4th-worst of about 350 samples after 3 rounds,
 * which one stall of the shared machine moves by a millisecond; 8 rounds give about 950 each.
 */
const HEALTHZ_ROUNDS = quick ? 1 : 8

/**
 * /healthz p99 during a watch cycle (issue #19): sampled every 10 ms from another process during a
 * window holding one cycle (`POST /watch/check`), against an idle window of the same length just
 * before. Each round then does the same for a bare Fastify server on the same machine, during the
 * updater's next cycle: what a cycle costs the machine (the registry, the Docker CLI, the updater's
 * registry thread), which any server there would feel, apart from what it costs the updater's own
 * event loop.
 */
export async function healthzDuringCycles (url: string, cycleMs: number, cycles: () => Promise<number>): Promise<void> {
  const windowMs = Math.max(1000, cycleMs)
  const ours = { idle: [] as number[], busy: [] as number[] }
  const bare = { idle: [] as number[], busy: [] as number[] }
  const busyLagMax: number[] = []
  const idleLagMax: number[] = []
  // nodejs_eventloop_lag_max_seconds since the previous scrape (prom-client resets it on read).
  const lagMaxMs = async (): Promise<number> => Math.round(Number(/^nodejs_eventloop_lag_max_seconds ([0-9.e+-]+)/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1]) * 1e4) / 10
  /**
   * One idle window and one holding a cycle, both sampling `sampled`. Inside the busy window nothing
   * but the sampler runs: the cycle is asked for, then the window waited out; /metrics read after
   * it must count the cycle, or the window did not hold it all (undefined: the round is run again).
   */
  const round = async (sampled: string): Promise<{ idle: number[], busy: number[], idleLag: number, lag: number } | undefined> => {
    const done = await cycles()
    await lagMaxMs()
    let stopSampling = sampleHealthz(sampled)
    await sleep(200 + windowMs)
    const idle = await stopSampling()
    const idleLag = await lagMaxMs()
    stopSampling = sampleHealthz(sampled)
    await sleep(200)
    await lagMaxMs()
    const res = await fetch(`${url}/watch/check`, { method: 'POST', headers: authorized(), body: '{}' })
    if (res.status !== 202) throw new Error(`POST /watch/check answered ${res.status}`)
    await sleep(windowMs)
    const busy = await stopSampling()
    const lag = await lagMaxMs()
    if (await cycles() > done) return { idle, busy, idleLag, lag }
    await until('the watch cycle', async () => (await cycles()) > done ? true : undefined, 120_000, 50)
    return undefined
  }

  const server = await startBare()
  try {
    let rounds = 0
    while (busyLagMax.length < HEALTHZ_ROUNDS) {
      if (++rounds > 2 * HEALTHZ_ROUNDS) throw new Error('the watch cycles did not end within their /healthz windows')
      const updater = await round(url)
      const machine = await round(server.url)
      if (updater === undefined || machine === undefined) continue
      ours.idle.push(...updater.idle)
      ours.busy.push(...updater.busy)
      busyLagMax.push(updater.lag)
      idleLagMax.push(updater.idleLag)
      bare.idle.push(...machine.idle)
      bare.busy.push(...machine.busy)
    }
  } finally {
    await stop(server)
  }
  const p99 = (xs: number[]): number => percentile(xs, 0.99)
  const bareRatio = p99(bare.busy) / p99(bare.idle)
  record({ name: 'watch: /healthz p99 during a cycle', value: p99(ours.busy), baseline: p99(ours.idle), unit: 'ms', baselineLabel: 'idle, same length', target: '≤ 1.2×', met: p99(ours.busy) <= 1.2 * p99(ours.idle), note: `${ours.busy.length} and ${ours.idle.length} samples; p50 ${percentile(ours.busy, 0.5).toFixed(2)} vs ${percentile(ours.idle, 0.5).toFixed(2)} ms, p90 ${percentile(ours.busy, 0.9).toFixed(2)} vs ${percentile(ours.idle, 0.9).toFixed(2)} ms; a bare Fastify server sampled during the next cycle of each round: ${bareRatio.toFixed(2)}×; the updater's event-loop delay max (prom-client's, its 10 ms timer included) during the cycles ${busyLagMax.join(', ')} ms, idle ${idleLagMax.join(', ')} ms` })
  record({ name: 'watch: a bare Fastify server\'s /healthz p99 during the updater\'s cycles (the machine\'s share)', value: p99(bare.busy), baseline: p99(bare.idle), unit: 'ms', baselineLabel: 'its idle, same length', target: '(reported)', met: true, note: `${bare.busy.length} and ${bare.idle.length} samples; p50 ${percentile(bare.busy, 0.5).toFixed(2)} vs ${percentile(bare.idle, 0.5).toFixed(2)} ms, p90 ${percentile(bare.busy, 0.9).toFixed(2)} vs ${percentile(bare.idle, 0.9).toFixed(2)} ms` })
}
