import { setTimeout as sleep } from 'node:timers/promises'
import { SECONDS, badRequest, cannon, record, section, waitedUpdate } from '../lib.ts'
import { createServices } from '../swarm.ts'

/** /healthz p99 while 20 updates are in flight and bad tokens flood, against idle. */
export async function liveness (url: string, image: string): Promise<void> {
  section('5c. /healthz p99 while 20 updates are in flight and bad tokens flood, vs idle')
  const idle = await cannon(url + '/healthz', { connections: 1, duration: SECONDS })
  const names = await createServices(20, { image, prefix: 'cu-bench-live' })
  const updates = Promise.all(names.map(async (name) => waitedUpdate(url, { appName: name })))
  await sleep(300)
  const [busy] = await Promise.all([
    cannon(url + '/healthz', { connections: 1, duration: SECONDS }),
    cannon(url + '/update', { ...badRequest, connections: 10, duration: SECONDS })
  ])
  await updates
  // autocannon counts whole milliseconds: an idle p99 of 0 means under 1 ms (the ratio is then n/a).
  record({ name: '/healthz p99, 20 updates in flight + bad-token flood', value: busy.latency.p99, baseline: idle.latency.p99, unit: 'ms', baselineLabel: 'idle', target: '< 10 ms', met: busy.latency.p99 < 10 })
}
