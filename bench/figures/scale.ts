import { fmt, median, quick, record, section, waitedUpdate } from '../lib.ts'
import { benchImage, createServices, describeCalls, quiet, removeServices, serviceCount, type DockerCalls } from '../swarm.ts'
import { triggerLatencies } from './trigger.ts'

export const EXTRA = quick ? 30 : 300
const [SMALL, LARGE] = quick ? [3, 10] : [10, 50]

/**
 * The `appName` trigger with a few services in the swarm and with EXTRA more (replicas 0: only
 * their number matters), then `image` updates of SMALL and LARGE services (replicas 1, so that
 * Swarm really rolls each one and sets its UpdateStatus) with the extra services still there.
 */
export async function scale (url: string, calls: DockerCalls, image: string): Promise<void> {
  section(`3b. scale: appName trigger with ${EXTRA} extra services; image updates of ${SMALL} and ${LARGE} services`)
  // Everything the figure needs is created up front, side by side.
  const [smallImage, largeImage] = await Promise.all([benchImage('cu-bench-img'), benchImage('cu-bench-img')])
  const [[target], smallServices, largeServices] = await Promise.all([
    createServices(1, { image, prefix: 'cu-bench-scale' }),
    createServices(SMALL, { image: smallImage, prefix: 'cu-bench-img' }),
    createServices(LARGE, { image: largeImage, prefix: 'cu-bench-img' })
  ])
  const fewCount = await serviceCount()
  const fewBefore = await triggerLatencies(url, target!)
  // A waited update joins the ones the triggers queued: once it is answered, they are all done.
  await waitedUpdate(url, { appName: target })

  const t0 = performance.now()
  const extras = await createServices(EXTRA, { image, replicas: 0, prefix: 'cu-bench-extra' }, 20)
  const createdIn = (performance.now() - t0) / 1000
  const manyCount = await serviceCount()
  const many = median(await triggerLatencies(url, target!))
  await waitedUpdate(url, { appName: target })

  // The image updates run with the extra services still there (`service ls` lists them all).
  const small = await imageUpdate(url, calls, smallImage, smallServices.length)
  const large = await imageUpdate(url, calls, largeImage, largeServices.length)

  // The trigger baseline again without the extra services: the machine drifts in a figure this long.
  await removeServices(extras)
  const fewAfter = await triggerLatencies(url, target!)
  await waitedUpdate(url, { appName: target })
  const few = median([...fewBefore, ...fewAfter])
  record({
    name: 'appName trigger median, many services',
    value: many,
    baseline: few,
    unit: 'ms',
    baselineLabel: `same with ${fewCount} services in the swarm`,
    target: '≤ 1.2×',
    met: many / few <= 1.2,
    note: `${manyCount} services in the swarm (${EXTRA} extra, created in ${createdIn.toFixed(0)} s); baseline before and after them: medians ${median(fewBefore).toFixed(1)} / ${median(fewAfter).toFixed(1)} ms`
  })

  const perSmall = small.calls.length / SMALL
  const perLarge = large.calls.length / LARGE
  record({ name: `image update of ${LARGE} services, total time`, value: large.ms, baseline: small.ms, unit: 'ms', baselineLabel: `${SMALL} services`, target: '(reported)', met: true, note: `replicas 1, MAX_CONCURRENT_UPDATES=10, ${manyCount} services in the swarm` })
  record({
    name: `image update of ${LARGE} services, Docker calls per service`,
    value: perLarge,
    baseline: perSmall,
    unit: 'calls',
    baselineLabel: `${SMALL} services`,
    // Each update costs at most one read before it, one read per UpdateStatus event (updating,
    // completed) and the update itself; the target lists the services once (`service ls` + one
    // inspect of them all). Reads that coincide are batched, so fewer is usual.
    target: 'linear: ≤ 4 per service + 2',
    met: large.calls.length <= 4 * LARGE + 2 && small.calls.length <= 4 * SMALL + 2,
    note: `${LARGE}: ${large.calls.length} calls (${describeCalls(large.calls)}; ${fmt(servicesRead(large.calls) / LARGE)} services read per service, the listing of all included); ` +
      `${SMALL}: ${small.calls.length} calls (${describeCalls(small.calls)}; ${fmt(servicesRead(small.calls) / SMALL)} read per service)`
  })
}

/** Services named in `service inspect` calls: the reads' real work, however they were batched. */
function servicesRead (calls: string[]): number {
  return calls.filter((c) => c.startsWith('service inspect')).reduce((n, c) => n + (c.split(' -- ')[1] ?? '').split(' ').filter(Boolean).length, 0)
}

async function imageUpdate (url: string, calls: DockerCalls, image: string, expected: number): Promise<{ ms: number, calls: string[] }> {
  const mark = calls.mark()
  const answer = await waitedUpdate(url, { image })
  const batch = answer.body as { status: string, updates: unknown[] }
  if (batch.status !== 'completed' || batch.updates.length !== expected) {
    throw new Error(`image update of ${image}: ${batch.status}, ${batch.updates.length} updates (expected ${expected})`)
  }
  // Calls made after the answer (none expected) belong to the update too.
  await quiet(calls)
  return { ms: answer.ms, calls: calls.since(mark) }
}
