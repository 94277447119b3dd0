// The bench's watch figure's Docker CLI for the updater (bench/figures/watch.ts): `service ls` and
// `service inspect` answer BENCH_FAKE_SERVICES (a JSON file of `docker service inspect` objects,
// 500 services too many for this machine's Swarm) plus the real services named in BENCH_REAL_IDS,
// read from the real CLI. The sh wrapper that runs it for those two commands counts every call and
// execs the real CLI for all others (updates, events), so the figure counts the updater's Docker
// calls whoever answers them.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const args = process.argv.slice(2)
const real = process.env.BENCH_REAL_DOCKER
const fake = JSON.parse(readFileSync(process.env.BENCH_FAKE_SERVICES, 'utf8'))
const realIds = (process.env.BENCH_REAL_IDS ?? '').split(',').filter(Boolean)
const byId = new Map(fake.map((s) => [s.ID, s]))

if (args[0] === 'service' && args[1] === 'ls') {
  process.stdout.write([...fake.map((s) => s.ID), ...realIds].join('\n') + '\n')
} else if (args[0] === 'service' && args[1] === 'inspect' && args.includes('--')) {
  const refs = args.slice(args.indexOf('--') + 1)
  const wanted = refs.filter((r) => !byId.has(r))
  const fromDocker = wanted.length === 0 ? [] : JSON.parse(execFileSync(real, ['service', 'inspect', '--', ...wanted], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }))
  const found = new Map(fromDocker.map((s) => [s.ID, s]))
  process.stdout.write(JSON.stringify(refs.map((r) => byId.get(r) ?? found.get(r) ?? [...found.values()].find((s) => s.Spec.Name === r))) + '\n')
}
