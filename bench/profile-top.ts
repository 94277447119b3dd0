/**
 * The functions with the most self time in V8 CPU profiles (`node --cpu-prof`, or BENCH_CPU_PROF=dir
 * for the bench's updaters):  node --import tsx bench/profile-top.ts FILE.cpuprofile… [--top=25] [--by=package]
 * --by=package adds the self time up per npm package (dist/ files, node: internals and V8's
 * pseudo-frames count as their own), which says which layer the time goes to.
 */
import { readFileSync } from 'node:fs'

interface ProfileNode { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, hitCount?: number }
interface Profile { nodes: ProfileNode[], samples: number[], timeDeltas: number[] }

const top = Number(process.argv.find((a) => a.startsWith('--top='))?.slice(6) ?? 25)
const byPackage = process.argv.includes('--by=package')
const files = process.argv.slice(2).filter((a) => !a.startsWith('--'))
const selfUs = new Map<string, number>()
let totalUs = 0
for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)!.callFrame
    const where = frame.url === '' ? '' : ` ${frame.url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/')}:${frame.lineNumber + 1}`
    const key = byPackage ? layer(frame.url, frame.functionName) : `${frame.functionName || '(anonymous)'}${where}`
    const dt = profile.timeDeltas[i] ?? 0
    selfUs.set(key, (selfUs.get(key) ?? 0) + dt)
    totalUs += dt
  })
}
function layer (url: string, name: string): string {
  if (url === '') return name.startsWith('(') ? name : `native ${name}`
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1]
  if (pkg !== undefined) return pkg
  if (url.startsWith('node:')) return 'node internals'
  return url.replace(/^.*\/dist\//, 'dist/')
}

console.log(`${files.length} profile(s), ${(totalUs / 1000).toFixed(0)} ms sampled`)
for (const [key, us] of [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${(100 * us / totalUs).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}`)
}
