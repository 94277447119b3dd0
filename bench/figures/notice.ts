import { setTimeout as sleep } from 'node:timers/promises'
import { fmt, percentile, quick, record, section, waitedUpdate, withUpdater } from '../lib.ts'
import { completedAt, createServices, describeCalls, type DockerCalls } from '../swarm.ts'

const streamOff = { EVENTS_STREAM: 'false', POLL_INTERVAL_MS: '500' }

/** Notice latency of every waited update: answer arrived − Swarm's UpdateStatus.CompletedAt. */
async function latencies (url: string, names: string[], rounds: number): Promise<number[]> {
  const out: number[] = []
  for (let round = 0; round < rounds; round++) {
    // The services update side by side, so their ends (and the reads that notice them) overlap.
    out.push(...await Promise.all(names.map(async (name) => {
      const answer = await waitedUpdate(url, { appName: name })
      return answer.at - await completedAt(name)
    })))
  }
  return out
}

/**
 * Docker spawns while updates are being watched and nothing happens: the services' update monitor
 * (12 s) keeps their UpdateStatus at `updating` long after their new tasks run.
 */
async function idleSpawns (url: string, calls: DockerCalls, names: string[], windowMs: number): Promise<{ perSecond: number, what: string }> {
  const updates = Promise.all(names.map(async (name) => waitedUpdate(url, { appName: name })))
  await sleep(3000)
  const mark = calls.mark()
  await sleep(windowMs)
  const seen = calls.since(mark)
  await updates
  return { perSecond: seen.length / (windowMs / 1000), what: describeCalls(seen) }
}

export async function notice (image: string, calls: DockerCalls): Promise<void> {
  section('2. notice latency: waited answer − Swarm UpdateStatus.CompletedAt, events stream vs polling every 500 ms')
  const [fast, slow] = await Promise.all([
    createServices(quick ? 2 : 4, { image, prefix: 'cu-bench-notice' }),
    createServices(3, { image, prefix: 'cu-bench-idle', extra: ['--update-monitor', '12s'] })
  ])
  const rounds = quick ? 2 : 5
  const windowMs = quick ? 3000 : 6000
  const env = { ...calls.env, UPDATE_TIMEOUT: '120' }
  const [evented, evIdle] = await withUpdater(env, async (url) => [await latencies(url, fast, rounds), await idleSpawns(url, calls, slow, windowMs)] as const)
  const [polled, pollIdle] = await withUpdater({ ...env, ...streamOff }, async (url) => [await latencies(url, fast, rounds), await idleSpawns(url, calls, slow, windowMs)] as const)
  const n = `${evented.length} updates each; events: ${evented.map((ms) => fmt(ms)).join(' ')}`
  const p50 = percentile(evented, 0.5)
  const p99 = percentile(evented, 0.99)
  record({ name: 'notice latency p50', value: p50, baseline: percentile(polled, 0.5), unit: 'ms', baselineLabel: 'EVENTS_STREAM=false, POLL_INTERVAL_MS=500', target: '≤ 50 ms', met: p50 <= 50, note: n })
  record({ name: 'notice latency p99', value: p99, baseline: percentile(polled, 0.99), unit: 'ms', baselineLabel: 'EVENTS_STREAM=false, POLL_INTERVAL_MS=500', target: '≤ 150 ms', met: p99 <= 150 })
  record({
    name: 'Docker spawns/s while 3 updates are watched and idle',
    value: evIdle.perSecond,
    baseline: pollIdle.perSecond,
    unit: 'spawns/s',
    baselineLabel: 'polling',
    target: '0 (no periodic spawns)',
    met: evIdle.perSecond === 0,
    note: `${windowMs / 1000} s window; events: ${evIdle.what}; polling: ${pollIdle.what}`
  })
}
