import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { bearer } from '../helper.ts'
import { buildOnce, startServer } from '../server-process.ts'
import { REGISTRY, swarmSkip, uniqueName, until } from '../swarm-fixtures.ts'
import { tempDir } from '../unit/store-fixtures.ts'

/** A gauge of the server's own /metrics (prom-client's default process metrics). */
async function gauge (url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
  assert.ok(line !== undefined, `${name} in /metrics`)
  return Number(line.split(' ').at(-1))
}

async function rssOf (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024
}

const MB = 1024 * 1024

/**
 * Issue #24 item 3: 400 deliveries with an event id of 450 kB each, over HTTP, to the server as it
 * ships with a 128 MB heap. The ids were kept whole in the de-duplication log (180 MB) and the
 * process died; now they are kept as their hash, so it stays up and its memory comes back.
 */
test('faults: 400 deliveries with 450 kB event ids to a server with a 128 MB heap: it stays up, its memory returns near its level', { skip: swarmSkip }, async (t) => {
  await buildOnce()
  const server = await startServer(t, { DATA_DIR: join(tempDir(t), 'data'), WATCH: 'false', EVENTS_STREAM: 'false' }, ['--max-old-space-size=128'])
  const { url, child, exited, output } = server

  const repo = uniqueName('cu-bigid')
  const delivery = (n: number): string => JSON.stringify({
    events: [{ id: `${n}-${'i'.repeat(450 * 1024)}`, action: 'push', target: { repository: repo, tag: 'v1', digest: 'sha256:' + 'c'.repeat(64) }, request: { host: REGISTRY } }]
  })
  const headers = { ...bearer(), 'content-type': 'application/json' }
  const post = async (n: number): Promise<number> => (await fetch(`${url}/hooks/distribution`, { method: 'POST', headers, body: delivery(n) })).status
  // A few first, so the baseline is the level of a server that has handled deliveries.
  for (let n = 0; n < 4; n++) assert.equal(await post(n), 202)
  const baseline = { heap: await gauge(url, 'nodejs_heap_size_used_bytes'), rss: await rssOf(child.pid!) }

  const statuses: number[] = []
  let next = 4
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < 404) statuses.push(await post(next++))
  }))
  assert.equal(child.exitCode, null, `the server is up: ${output().slice(-2000)}`)
  assert.equal(statuses.length, 400)
  assert.ok(statuses.every((s) => s === 202), `every delivery answered 202: ${[...new Set(statuses)].join(',')}`)
  // Repeated, a long id is a duplicate: it was remembered (as its hash).
  const again = await fetch(`${url}/hooks/distribution`, { method: 'POST', headers, body: delivery(7) })
  assert.deepEqual(await again.json(), { accepted: 0, ignored: 0, ignoredReasons: [], duplicate: 1 })

  // Memory comes back: the heap near its level (a GC may take a few requests), RSS loosely bounded.
  const heap = await until('the heap to return near its level', async () => {
    const now = await gauge(url, 'nodejs_heap_size_used_bytes')
    return now < baseline.heap + 24 * MB ? now : undefined
  }, 60_000, 250).catch(async (error: Error) => {
    throw new Error(`${error.message}: ${Math.round((await gauge(url, 'nodejs_heap_size_used_bytes')) / MB)} MB against ${Math.round(baseline.heap / MB)} MB`)
  })
  const rss = await rssOf(child.pid!)
  assert.ok(rss < baseline.rss + 128 * MB, `RSS ${Math.round(rss / MB)} MB against ${Math.round(baseline.rss / MB)} MB before the deliveries`)
  assert.equal((await fetch(`${url}/healthz`)).status, 200)
  t.diagnostic(`heap ${Math.round(baseline.heap / MB)} → ${Math.round(heap / MB)} MB, RSS ${Math.round(baseline.rss / MB)} → ${Math.round(rss / MB)} MB`)
  child.kill('SIGTERM')
  await exited
})
