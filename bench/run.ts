/**
 * npm run bench: the updater's request paths, each next to a baseline measured the same way in the
 * same run (the machines are shared and noisy, so only ratios mean something). Uses the built
 * server (dist/) and the real test Swarm. Prints a table and writes bench/results.json.
 *
 *   node --import tsx bench/run.ts [--quick] [--only=rejected,notice,storecost,trigger,burst,coalescing,scale,liveness,footprint,watch]
 *
 * BENCH_CPU_PROF=dir writes a CPU profile of every updater started (bench/profile-top.ts reads it).
 */
import { writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { docker, swarmSkip } from '../test/swarm-fixtures.ts'
import { fmt, quick, rows, withUpdater } from './lib.ts'
import { DockerCalls, benchImage, removeBenchServices } from './swarm.ts'
import { rejected } from './figures/rejected.ts'
import { notice } from './figures/notice.ts'
import { storeCost, trigger } from './figures/trigger.ts'
import { burst } from './figures/burst.ts'
import { scale } from './figures/scale.ts'
import { coalescing, fanOut } from './figures/coalescing.ts'
import { liveness } from './figures/liveness.ts'
import { footprint } from './figures/footprint.ts'
import { watch } from './figures/watch.ts'

const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',')
const runs = (figure: string): boolean => only === undefined || only.includes(figure)

async function machine (): Promise<Record<string, string>> {
  return {
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    docker: await docker('version', '--format', 'engine {{.Server.Version}}, CLI {{.Client.Version}}').catch(() => 'no engine answered'),
    date: new Date().toISOString()
  }
}

function table (): string {
  const lines = ['| figure | ours | baseline | ratio | target | met |', '|---|---|---|---|---|---|']
  for (const r of rows) {
    lines.push(`| ${r.name} | ${fmt(r.value)} ${r.unit} | ${fmt(r.baseline)} ${r.unit} (${r.baselineLabel}) | ${fmt(r.ratio)}× | ${r.target} | ` +
      `${r.met ? 'yes' : '**no**'}${r.note !== undefined ? ` (${r.note})` : ''} |`)
  }
  return lines.join('\n')
}

async function main (): Promise<void> {
  const onSwarm = ['notice', 'storecost', 'trigger', 'burst', 'coalescing', 'liveness', 'scale'].filter(runs)
  // The refusal and footprint figures need no Swarm (nor a Docker engine).
  if ((onSwarm.length > 0 || runs('watch')) && swarmSkip !== false) throw new Error(swarmSkip)
  const env = await machine()
  console.log(`bench on ${env.cpu}, ${env.memory}, Node ${env.node}, Docker ${env.docker}${quick ? ' (quick)' : ''}`)
  const calls = await DockerCalls.create()
  // Services are removed at the end, also when a figure fails or the run is interrupted.
  const interrupted = (): void => { removeBenchServices().finally(() => process.exit(130)) }
  process.once('SIGINT', interrupted)
  process.once('SIGTERM', interrupted)
  try {
    if (runs('rejected')) await rejected()
    const image = onSwarm.length > 0 ? await benchImage() : ''
    if (runs('notice')) await notice(image, calls)
    if (runs('storecost')) await storeCost(image)
    // One updater for the figures that run against the same process, as in production.
    const settings = { ...calls.env, UPDATE_TIMEOUT: '300', MAX_CONCURRENT_UPDATES: '10' }
    if (onSwarm.some((figure) => figure !== 'notice' && figure !== 'storecost')) {
      await withUpdater(settings, async (url) => {
        if (runs('trigger')) await trigger(url, image)
        if (runs('burst')) await burst(url, calls, image)
        if (runs('coalescing')) {
          await coalescing(url, image)
          await fanOut(url, image)
        }
        if (runs('liveness')) await liveness(url, image)
        if (runs('scale')) await scale(url, calls, image)
      })
    }
    if (runs('footprint')) await footprint()
    // Its own updater (a fake Swarm listing of 500 services) and its own registry.
    if (runs('watch')) await watch()
  } finally {
    if (onSwarm.length > 0) console.log(`\nremoved ${await removeBenchServices()} bench services`)
    calls.close()
  }
  console.log('\n' + table())
  writeFileSync('bench/results.json', JSON.stringify({ machine: env, quick, rows }, null, 2) + '\n')
  console.log('\nwritten: bench/results.json')
}

await main()
