import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { median, percentile, post, quick, record, section, withUpdater } from '../lib.ts'
import { createService } from '../swarm.ts'

const exec = promisify(execFile)
export const TRIGGERS = quick ? 5 : 20

/** Latencies of `count` sequential `wait:false` triggers of one service (each answered 202). */
export async function triggerLatencies (url: string, name: string, count = TRIGGERS): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < count; i++) {
    const res = await post(url, { appName: name, wait: false })
    if (res.status !== 202) throw new Error(`trigger answered ${res.status}: ${JSON.stringify(res.body)}`)
    out.push(res.ms)
  }
  return out
}

/** The trigger against the two Docker CLI calls it cannot do without, run directly. */
export async function trigger (url: string, image: string): Promise<void> {
  section('3a. authenticated trigger (wait:false) vs the Docker CLI calls it needs, latency ms')
  const [viaUpdater, direct] = await Promise.all([createService({ image }), createService({ image })])
  const ours: number[] = []
  const cli: number[] = []
  for (let i = 0; i < TRIGGERS; i++) {
    ours.push(...await triggerLatencies(url, viaUpdater, 1))
    const t0 = performance.now()
    await exec('docker', ['service', 'inspect', '--', direct])
    await exec('docker', ['service', 'update', '--detach', '--force', '--image', image, '--', direct])
    cli.push(performance.now() - t0)
  }
  const baselineLabel = '`docker service inspect` + `update --detach`'
  record({ name: 'trigger median latency', value: median(ours), baseline: median(cli), unit: 'ms', baselineLabel, target: '≤ 1.3×', met: median(ours) / median(cli) <= 1.3 })
  record({ name: 'trigger p99 latency', value: percentile(ours, 0.99), baseline: percentile(cli, 0.99), unit: 'ms', baselineLabel, target: '(reported)', met: true })
}

/**
 * The cost of durable records on the trigger path: the same trigger against an updater writing to
 * SQLite (the default) and one keeping its records in memory (`DATA_DIR=:memory:`), interleaved.
 */
export async function storeCost (image: string): Promise<void> {
  section('3b. trigger (wait:false) with the SQLite record store vs records in memory, latency ms')
  const [withDb, inMemory] = await Promise.all([createService({ image }), createService({ image })])
  await withUpdater({}, async (dbUrl) => withUpdater({ DATA_DIR: ':memory:' }, async (memoryUrl) => {
    const db: number[] = []
    const memory: number[] = []
    for (let i = 0; i < TRIGGERS; i++) {
      db.push(...await triggerLatencies(dbUrl, withDb, 1))
      memory.push(...await triggerLatencies(memoryUrl, inMemory, 1))
    }
    record({ name: 'trigger median latency with SQLite records', value: median(db), baseline: median(memory), unit: 'ms', baselineLabel: 'records in memory', target: '≤ 1.1×', met: median(db) / median(memory) <= 1.1 })
  }))
}
