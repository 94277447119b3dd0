import { ROUNDS, badRequest, cannon, median, record, section, startBare, startUpdater, stop } from '../lib.ts'

/**
 * Refused requests (one invalid token, 50 connections) against bare Fastify answering 401 on the
 * same route, in interleaved rounds (the shared machine drifts; the median of the rounds is kept).
 */
export async function rejected (): Promise<void> {
  section('1. rejected requests (invalid token), requests/s')
  const ours: number[] = []
  const limited: number[] = []
  const bare: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const updater = await startUpdater()
    ours.push((await cannon(updater.url + '/update', badRequest)).requests.average)
    await stop(updater)
    // With the default failed-authentication limit, a flooding address gets 429 after 30
    // failures: the path an actual flood takes.
    const limiting = await startUpdater({ AUTH_FAILURE_LIMIT: '30' })
    limited.push((await cannon(limiting.url + '/update', badRequest)).requests.average)
    await stop(limiting)
    const baseline = await startBare()
    bare.push((await cannon(baseline.url + '/update', badRequest)).requests.average)
    await stop(baseline)
  }
  const baseline = median(bare)
  const note = `rounds: ours ${ours.map(Math.round).join('/')}, 429 ${limited.map(Math.round).join('/')}, bare ${bare.map(Math.round).join('/')}`
  record({ name: 'refused requests/s (401 path, limiter off)', value: median(ours), baseline, unit: 'req/s', baselineLabel: 'bare Fastify 401', target: '≥ 0.8×', met: median(ours) / baseline >= 0.8, note })
  record({ name: 'refused requests/s (429 path, default limiter)', value: median(limited), baseline, unit: 'req/s', baselineLabel: 'bare Fastify 401', target: '≥ 0.9×', met: median(limited) / baseline >= 0.9 })
}
