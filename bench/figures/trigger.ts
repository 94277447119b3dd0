import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { median, percentile, post, quick, record, section } from '../lib.ts'
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
