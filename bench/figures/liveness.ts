import { setTimeout as sleep } from 'node:timers/promises'
import { SECONDS, badRequest, cannon, percentile, record, sampleHealthz, section, startBare, stop, waitedUpdate } from '../lib.ts'
import { createServices } from '../swarm.ts'

/**
 * /healthz p99 while 20 updates are in flight, then the same with bad tokens flooding, each against
 * bare Fastify sampled in the same window on the same machine. /healthz is sampled by processes of
 * their own (bench/healthz-sampler.mjs): sampled from this process, whose event loop runs the
 * flood, the figure would time the load generator as much as the server.
 */
export async function liveness (url: string, image: string): Promise<void> {
  section('5c. /healthz p99 while 20 updates are in flight (then also bad tokens flood), vs bare Fastify in the same window')
  const bare = await startBare()
  try {
    const idle = await window(url, bare.url, async () => { await sleep(SECONDS * 1000) })
    const names = await createServices(40, { image, prefix: 'cu-bench-live' })
    const updateAll = async (some: string[]): Promise<unknown> => Promise.all(some.map(async (name) => waitedUpdate(url, { appName: name })))

    // The figure: the updates alone, sampled for as long as they run.
    let updates = updateAll(names.slice(0, 20))
    await sleep(300)
    const started = Date.now()
    const quiet = await window(url, bare.url, async () => { await updates })
    record({
      name: '/healthz p99, 20 updates in flight',
      value: quiet.ours,
      baseline: quiet.bare,
      unit: 'ms',
      baselineLabel: 'bare Fastify, same window',
      target: '< 10 ms',
      met: quiet.ours < 10,
      // The same window's bare Fastify says whether a miss is our event loop or the machine.
      note: `sampled for ${((Date.now() - started) / 1000).toFixed(1)} s; idle: ours ${idle.ours} ms, bare ${idle.bare} ms; event-loop delay meanwhile (p99/max): ours ${quiet.lag.p99}/${quiet.lag.max} ms, bare ${quiet.bareLag.p99}/${quiet.bareLag.max} ms`
    })

    // The same with a flood of bad tokens on top. The machine's two cores are shared by the flood,
    // dockerd, the samplers and both servers: the bare server tells what of the figure is the machine.
    updates = updateAll(names.slice(20))
    await sleep(300)
    let flood: Awaited<ReturnType<typeof cannon>> | undefined
    const busy = await window(url, bare.url, async () => { flood = await cannon(url + '/update', { ...badRequest, connections: 10, duration: SECONDS }) })
    await updates
    record({
      name: '/healthz p99, 20 updates in flight + bad-token flood',
      value: busy.ours,
      baseline: busy.bare,
      unit: 'ms',
      baselineLabel: 'bare Fastify, same window',
      target: '≤ 1.2× bare Fastify',
      met: busy.ours <= 1.2 * busy.bare,
      note: `flood: ${Math.round(flood!.requests.total / flood!.duration)} refused requests/s; event-loop delay meanwhile (p99/max): ours ${busy.lag.p99}/${busy.lag.max} ms, bare ${busy.bareLag.p99}/${busy.bareLag.max} ms`
    })
  } finally {
    await stop(bare)
  }
}

/** /healthz p99 of the updater and of bare Fastify, sampled together while `during` runs, and each one's event-loop delay. */
async function window (url: string, bareUrl: string, during: () => Promise<void>): Promise<{ ours: number, bare: number, lag: Lag, bareLag: Lag }> {
  // Both delay histograms reset on every read: the window starts here.
  await Promise.all([loopLag(url), bareLoopLag(bareUrl)])
  const stopOurs = sampleHealthz(url)
  const stopBare = sampleHealthz(bareUrl)
  await during()
  const [ours, bare] = await Promise.all([stopOurs(), stopBare()])
  const round = (ms: number): number => Math.round(ms * 10) / 10
  const [lag, bareLag] = await Promise.all([loopLag(url), bareLoopLag(bareUrl)])
  return { ours: round(percentile(ours, 0.99)), bare: round(percentile(bare, 0.99)), lag, bareLag }
}

interface Lag { p99: number, max: number }

/** bench/bare-server.mjs's own event-loop delay since the last read, in ms. */
async function bareLoopLag (bareUrl: string): Promise<Lag> {
  const { p99, max } = await (await fetch(`${bareUrl}/loop`)).json() as Lag
  return { p99: Math.round(p99 * 10) / 10, max: Math.round(max * 10) / 10 }
}

/** nodejs_eventloop_lag_{p99,max}_seconds from the updater's /metrics, in ms, since the last scrape. */
async function loopLag (url: string): Promise<Lag> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const read = (name: string): number => Math.round(Number(new RegExp(`^${name} ([0-9.e+-]+)`, 'm').exec(text)?.[1]) * 1e4) / 10
  return { p99: read('nodejs_eventloop_lag_p99_seconds'), max: read('nodejs_eventloop_lag_max_seconds') }
}
