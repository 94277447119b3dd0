import { setTimeout as sleep } from 'node:timers/promises'
import { authorized, cannon, median, percentile, quick, record, sampleHealthz, section, waitedUpdate } from '../lib.ts'
import { byCommand, createService, describeCalls, type DockerCalls } from '../swarm.ts'
import { triggerLatencies } from './trigger.ts'

const REQUESTS = quick ? 500 : 2000

/**
 * REQUESTS `wait:false` triggers of one service, 50 at a time: the Docker calls they cost (reads of
 * one service are shared while one is in flight), their latency, and /healthz meanwhile.
 */
export async function burst (url: string, calls: DockerCalls, image: string): Promise<void> {
  section(`4. burst: ${REQUESTS} wait:false requests for one service, 50 concurrent`)
  const name = await createService({ image, prefix: 'cu-bench-burst' })
  const single = median(await triggerLatencies(url, name, 10))
  await waitedUpdate(url, { appName: name })

  const stopIdle = sampleHealthz(url)
  await sleep(quick ? 1000 : 2000)
  const idle = await stopIdle()

  const stopBusy = sampleHealthz(url)
  const mark = calls.mark()
  const result = await cannon(url + '/update', { method: 'POST', headers: authorized(), body: JSON.stringify({ appName: name, wait: false }), amount: REQUESTS })
  const during = calls.since(mark)
  const busy = await stopBusy()
  // The updates the burst queued (coalesced into few): one waited update joins the last of them.
  await waitedUpdate(url, { appName: name })
  const total = calls.since(mark)
  const accepted = result['2xx']
  if (accepted !== REQUESTS) throw new Error(`burst: ${accepted} of ${REQUESTS} answered 2xx (${result.non2xx} others, ${result.errors} errors)`)

  const inspects = byCommand(during)['service inspect'] ?? 0
  record({
    name: `Docker calls during the burst of ${REQUESTS}`,
    value: during.length,
    baseline: REQUESTS,
    unit: 'calls',
    baselineLabel: 'one inspect per request',
    target: 'inspects ≪ requests',
    met: inspects <= REQUESTS / 10,
    note: `${describeCalls(during)}; with the updates it caused, until the last answered: ${describeCalls(total)}`
  })
  record({ name: 'burst 202 median', value: result.latency.p50, baseline: single, unit: 'ms', baselineLabel: 'one trigger at a time', target: '(reported)', met: true })
  record({ name: 'burst 202 p99', value: result.latency.p99, baseline: single, unit: 'ms', baselineLabel: 'one trigger at a time (median)', target: '(reported)', met: true, note: `${Math.round(result.requests.average)} req/s` })
  const p99 = percentile(busy, 0.99)
  record({ name: '/healthz p99 during the burst', value: p99, baseline: percentile(idle, 0.99), unit: 'ms', baselineLabel: 'idle, same sampler', target: '< 50 ms', met: p99 < 50, note: `${busy.length} samples every 10 ms from another process` })
}
