import { setTimeout as sleep } from 'node:timers/promises'
import { SECONDS, badRequest, cannon, percentile, record, sampleHealthz, section, waitedUpdate } from '../lib.ts'
import { createServices } from '../swarm.ts'

/**
 * /healthz p99 while 20 updates are in flight and bad tokens flood, against idle. /healthz is
 * sampled by a process of its own (bench/healthz-sampler.mjs): sampled from this process, whose
 * event loop runs the flood, the figure would time the load generator as much as the server.
 */
export async function liveness (url: string, image: string): Promise<void> {
  section('5c. /healthz p99 while 20 updates are in flight and bad tokens flood, vs idle')
  const stopIdle = sampleHealthz(url)
  await sleep(SECONDS * 1000)
  const idle = percentile(await stopIdle(), 0.99)
  const names = await createServices(20, { image, prefix: 'cu-bench-live' })
  const updates = Promise.all(names.map(async (name) => waitedUpdate(url, { appName: name })))
  await sleep(300)
  await loopLag(url) // prom-client resets its event-loop histogram on every scrape: the window starts here
  const stopBusy = sampleHealthz(url)
  const flood = await cannon(url + '/update', { ...badRequest, connections: 10, duration: SECONDS })
  const busy = percentile(await stopBusy(), 0.99)
  const lag = await loopLag(url)
  await updates
  record({
    name: '/healthz p99, 20 updates in flight + bad-token flood',
    value: busy,
    baseline: idle,
    unit: 'ms',
    baselineLabel: 'idle',
    target: '< 10 ms',
    met: busy < 10,
    // The updater's own event-loop delay in the same window (its /metrics): what of the figure is
    // the server's loop, and what is the machine (dockerd, the flood and the sampler share 2 cores).
    note: `flood: ${Math.round(flood.requests.total / flood.duration)} refused requests/s; the updater's event-loop delay meanwhile: p99 ${lag.p99} ms, max ${lag.max} ms`
  })
}

/** nodejs_eventloop_lag_{p99,max}_seconds from the updater's /metrics, in ms, since the last scrape. */
async function loopLag (url: string): Promise<{ p99: number, max: number }> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const read = (name: string): number => Math.round(Number(new RegExp(`^${name} ([0-9.e+-]+)`, 'm').exec(text)?.[1]) * 1e4) / 10
  return { p99: read('nodejs_eventloop_lag_p99_seconds'), max: read('nodejs_eventloop_lag_max_seconds') }
}
