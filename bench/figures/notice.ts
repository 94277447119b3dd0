import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { fmt, percentile, quick, record, section, waitedUpdate, withUpdater } from '../lib.ts'
import { completedAt, createServices, describeCalls, type DockerCalls } from '../swarm.ts'

const streamOff = { EVENTS_STREAM: 'false', POLL_INTERVAL_MS: '500' }

/**
 * Where a notice's time goes, outside the updater: when Docker's `completed` event reaches a client
 * of its own (this one), and how long one `docker service inspect` takes (the read that confirms
 * the final state) in the same minutes.
 */
interface Shares { eventDelays: number[], inspectMs: number[] }

/** `docker events` of our own: the arrival time of each service's `updatestate.new=completed` events. */
function watchCompletions (): { arrivals: Map<string, number[]>, stop: () => void } {
  const arrivals = new Map<string, number[]>()
  const child = spawn('docker', ['events', '--format', '{{json .}}', '--filter', 'type=service', '--filter', 'event=update'], { stdio: ['ignore', 'pipe', 'ignore'] })
  createInterface({ input: child.stdout }).on('line', (line) => {
    const at = Date.now()
    const event = JSON.parse(line) as { Actor?: { Attributes?: Record<string, string> } }
    const attributes = event.Actor?.Attributes ?? {}
    if (attributes['updatestate.new'] !== 'completed' || attributes.name === undefined) return
    arrivals.set(attributes.name, [...(arrivals.get(attributes.name) ?? []), at])
  })
  return { arrivals, stop: () => child.kill() }
}

/** Notice latency of every waited update: answer arrived − Swarm's UpdateStatus.CompletedAt. */
async function latencies (url: string, names: string[], rounds: number, shares?: Shares): Promise<number[]> {
  const out: number[] = []
  const watch = shares !== undefined ? watchCompletions() : undefined
  try {
    for (let round = 0; round < rounds; round++) {
      // The services update side by side, so their ends (and the reads that notice them) overlap.
      out.push(...await Promise.all(names.map(async (name) => {
        const sent = Date.now()
        const answer = await waitedUpdate(url, { appName: name })
        const t0 = performance.now()
        const completed = await completedAt(name)
        shares?.inspectMs.push(performance.now() - t0)
        if (watch !== undefined) {
          // Our own client may see the event a little after the updater's answer.
          for (let i = 0; i < 20 && !(watch.arrivals.get(name) ?? []).some((at) => at >= sent); i++) await sleep(50)
          const arrived = (watch.arrivals.get(name) ?? []).find((at) => at >= sent)
          if (arrived !== undefined) shares?.eventDelays.push(arrived - completed)
        }
        return answer.at - completed
      })))
    }
  } finally {
    watch?.stop()
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
  const shares: Shares = { eventDelays: [], inspectMs: [] }
  const [evented, evIdle] = await withUpdater(env, async (url) => [await latencies(url, fast, rounds, shares), await idleSpawns(url, calls, slow, windowMs)] as const)
  const [polled, pollIdle] = await withUpdater({ ...env, ...streamOff }, async (url) => [await latencies(url, fast, rounds), await idleSpawns(url, calls, slow, windowMs)] as const)
  const n = `${evented.length} updates each; events: ${evented.map((ms) => fmt(ms)).join(' ')}`
  const p50 = percentile(evented, 0.5)
  const p99 = percentile(evented, 0.99)
  record({ name: 'notice latency p50', value: p50, baseline: percentile(polled, 0.5), unit: 'ms', baselineLabel: 'EVENTS_STREAM=false, POLL_INTERVAL_MS=500', target: '≤ 50 ms', met: p50 <= 50, note: n })
  record({ name: 'notice latency p99', value: p99, baseline: percentile(polled, 0.99), unit: 'ms', baselineLabel: 'EVENTS_STREAM=false, POLL_INTERVAL_MS=500', target: '≤ 150 ms', met: p99 <= 150 })
  const eventP50 = percentile(shares.eventDelays, 0.5)
  record({ name: 'notice: Docker\'s `completed` event at a client, p50', value: eventP50, baseline: percentile(shares.eventDelays, 0.99), unit: 'ms after CompletedAt', baselineLabel: 'its p99', target: '(reported: Docker\'s share)', met: true, ratio: NaN, note: `${shares.eventDelays.length} events` })
  record({ name: 'notice: one `docker service inspect`, median', value: percentile(shares.inspectMs, 0.5), baseline: percentile(shares.inspectMs, 0.99), unit: 'ms', baselineLabel: 'its p99', target: '(reported: the confirming read)', met: true, ratio: NaN })
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
