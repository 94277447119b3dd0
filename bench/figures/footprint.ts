import { ROUNDS, badRequest, cannon, helperMemoryMb, median, quick, record, rssMb, section, startBare, startUpdater, stop } from '../lib.ts'

/** 100k as the target says; --quick only proves the figure works. */
const LOAD = quick ? 20_000 : 100_000

/** Start to ready, and RSS after LOAD refused requests, against bare Fastify after the same load. */
export async function footprint (): Promise<void> {
  section(`6. footprint: RSS after ${LOAD / 1000}k requests; start to /readyz 200`)
  const starts: number[] = []
  const bareStarts: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const u = await startUpdater()
    starts.push(u.startedToReadyMs)
    await stop(u)
    const b = await startBare()
    bareStarts.push(b.startedToReadyMs)
    await stop(b)
  }
  record({ name: 'start to ready', value: median(starts), baseline: median(bareStarts), unit: 'ms', baselineLabel: 'bare Fastify to /healthz', target: '(reported)', met: true })
  const ours: number[] = []
  const helpers: Array<{ rss: number, private: number }> = []
  const bare: number[] = []
  const oursAtRest: number[] = []
  const bareAtRest: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const updater = await startUpdater()
    const baseline = await startBare()
    oursAtRest.push(rssMb(updater))
    bareAtRest.push(rssMb(baseline))
    await cannon(updater.url + '/update', { ...badRequest, amount: LOAD })
    await cannon(baseline.url + '/update', { ...badRequest, amount: LOAD })
    ours.push(rssMb(updater))
    helpers.push(helperMemoryMb(updater))
    bare.push(rssMb(baseline))
    await stop(updater)
    await stop(baseline)
  }
  const value = median(ours)
  const baseline = median(bare)
  record({ name: `RSS after ${LOAD / 1000}k requests`, value, baseline, unit: 'MB', baselineLabel: 'bare Fastify, same load', target: '≤ 1.35×', met: value / baseline <= 1.35, note: `rounds: ours ${ours.map((m) => m.toFixed(1)).join('/')}, bare ${bare.map((m) => m.toFixed(1)).join('/')}` })
  // What the load added, apart from what the process holds once ready (code, schemas, SQLite):
  // growth under load is where a leak or an unbounded cache would show.
  const grown = median(ours.map((m, i) => m - oursAtRest[i]!))
  const bareGrown = median(bare.map((m, i) => m - bareAtRest[i]!))
  record({ name: 'RSS at rest (ready, before the load)', value: median(oursAtRest), baseline: median(bareAtRest), unit: 'MB', baselineLabel: 'bare Fastify', target: '(reported)', met: true })
  record({ name: `RSS added by ${LOAD / 1000}k requests`, value: grown, baseline: bareGrown, unit: 'MB', baselineLabel: 'bare Fastify, same load', target: '(reported)', met: true, note: `rounds: ours ${ours.map((m, i) => (m - oursAtRest[i]!).toFixed(1)).join('/')}, bare ${bare.map((m, i) => (m - bareAtRest[i]!).toFixed(1)).join('/')}` })
  // The spawn helper is a second process (it started with the updater's first Docker call, at /readyz):
  // not in the figure above, but in what the container uses.
  const helper = median(helpers.map((h) => h.private))
  record({
    name: 'memory the spawn helper adds (a second process, private memory)',
    value: helper,
    baseline: value,
    unit: 'MB',
    baselineLabel: 'the updater\'s RSS, same load',
    target: '(reported; NaN: no helper found)',
    met: Number.isFinite(helper),
    note: `its RSS ${median(helpers.map((h) => h.rss)).toFixed(1)} MB, most of it the node binary's pages shared with the updater; updater RSS + helper private ${(value + helper).toFixed(1)} MB, ${((value + helper) / baseline).toFixed(2)}× bare Fastify`
  })
}
