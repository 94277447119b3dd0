import type autocannon from 'autocannon'
import { THROUGHPUT_ROUNDS, badRequest, cannon, cpuMs, distinctBadRequests, median, pinForThroughput, rate, record, section, startBare, startUpdater, stop, type Proc } from '../lib.ts'

interface Run { perSecond: number, cpuMicros: number }

/** One load against one server: requests/s, and the server's CPU µs per request (steadier on a shared machine). */
async function load (server: Proc, request: Partial<autocannon.Options>): Promise<Run> {
  const before = cpuMs(server)
  const result = await cannon(server.url + '/update', request)
  if (result['2xx'] > 0 || result.errors > 0) throw new Error(`refusals: ${result['2xx']} 2xx, ${result.errors} errors`)
  return { perSecond: rate(result), cpuMicros: (cpuMs(server) - before) * 1000 / result.requests.total }
}

/**
 * Refused requests (50 connections) against bare Fastify answering 401 on the same route, in
 * interleaved rounds (the shared machine drifts; the median of the rounds is kept): one forged
 * token replayed (issue #10's measurement), a different forgery on every request, and the 429
 * path of the default limiter. Requests/s is the target's figure; where the load generator is what
 * limits both servers it flatters the slower one, so the server's CPU per request is given too.
 */
export async function rejected (): Promise<void> {
  section('1. rejected requests (invalid token), requests/s')
  const unpin = pinForThroughput()
  const runs: Record<'ours' | 'distinct' | 'limited' | 'bare', Run[]> = { ours: [], distinct: [], limited: [], bare: [] }
  try {
    for (let round = 0; round < THROUGHPUT_ROUNDS; round++) {
      const updater = await startUpdater()
      runs.ours.push(await load(updater, badRequest))
      runs.distinct.push(await load(updater, distinctBadRequests))
      await stop(updater)
      // With the default failed-authentication limit, a flooding address gets 429 after 30
      // failures: the path an actual flood takes.
      const limiting = await startUpdater({ AUTH_FAILURE_LIMIT: '30' })
      runs.limited.push(await load(limiting, badRequest))
      await stop(limiting)
      const baseline = await startBare()
      runs.bare.push(await load(baseline, badRequest))
      await stop(baseline)
    }
  } finally {
    unpin()
  }
  const perSecond = (r: Run[]): number => median(r.map((x) => x.perSecond))
  const cpu = (r: Run[]): number => median(r.map((x) => x.cpuMicros))
  const rounds = (r: Run[]): string => r.map((x) => `${Math.round(x.perSecond)}/${x.cpuMicros.toFixed(0)}µs`).join(' ')
  const note = `rounds (req/s / CPU per request): ours ${rounds(runs.ours)}; distinct ${rounds(runs.distinct)}; 429 ${rounds(runs.limited)}; bare ${rounds(runs.bare)}`
  const cases = [
    // Issue #18's targets for refusals answered inside Fastify (no gate in front of it).
    ['401 path, limiter off, one forged token', runs.ours, 0.7],
    ['401 path, limiter off, a new forgery each request', runs.distinct, 0.7],
    ['429 path, default limiter', runs.limited, 0.8]
  ] as const
  for (const [name, r, target] of cases) {
    record({ name: `refused requests/s (${name})`, value: perSecond(r), baseline: perSecond(runs.bare), unit: 'req/s', baselineLabel: 'bare Fastify 401', target: `≥ ${target}×`, met: perSecond(r) / perSecond(runs.bare) >= target, ...(r === runs.ours && { note }) })
    // Shown as bare ÷ ours, so that it reads like the throughput ratio (higher is better).
    record({ name: `server CPU per refused request (${name})`, value: cpu(r), baseline: cpu(runs.bare), ratio: cpu(runs.bare) / cpu(r), unit: 'µs', baselineLabel: 'bare Fastify 401', target: `≥ ${target}× (bare ÷ ours)`, met: cpu(runs.bare) / cpu(r) >= target })
  }
}
