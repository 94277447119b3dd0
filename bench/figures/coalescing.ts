import { post, record, section, waitedUpdate } from '../lib.ts'
import { createService, createServices } from '../swarm.ts'
import { inspect } from '../../test/swarm-fixtures.ts'

/** 100 concurrent waited requests for one service against one waited update of it. */
export async function coalescing (url: string, image: string): Promise<void> {
  section('5a. coalescing: 100 concurrent waited requests for one service vs one waited update')
  const name = await createService({ image, prefix: 'cu-bench-coalesce' })
  const single = (await waitedUpdate(url, { appName: name })).ms
  const before = (await inspect(name)).Spec.TaskTemplate.ForceUpdate ?? 0
  const t0 = performance.now()
  const results = await Promise.all(Array.from({ length: 100 }, async () => post(url, { appName: name })))
  const total = performance.now() - t0
  const updates = ((await inspect(name)).Spec.TaskTemplate.ForceUpdate ?? 0) - before
  const allOk = results.every((r) => r.status === 200)
  record({ name: '100 requests, total time', value: total, baseline: single, unit: 'ms', baselineLabel: 'one waited update', target: '≤ 2.2×', met: total / single <= 2.2 && allOk, note: `all 200: ${allOk}` })
  record({ name: '100 requests, Docker updates', value: updates, baseline: 1, unit: 'updates', baselineLabel: 'one', target: '≤ 2', met: updates <= 2 })
}

/** Ten services updated at once against one. */
export async function fanOut (url: string, image: string): Promise<void> {
  section('5b. fan-out: 10 services at once vs one')
  const names = await createServices(10, { image, prefix: 'cu-bench-fan' })
  const one = (await waitedUpdate(url, { appName: names[0]! })).ms
  const t0 = performance.now()
  await Promise.all(names.map(async (name) => waitedUpdate(url, { appName: name })))
  const ten = performance.now() - t0
  record({ name: '10 services at once, total time', value: ten, baseline: one, unit: 'ms', baselineLabel: 'one service', target: '≪ 10× (parallel)', met: ten / one < 5 })
}
