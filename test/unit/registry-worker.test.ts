import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { threadId } from 'node:worker_threads'
import { RESTART_PAUSE_MS, RegistryWorker } from '../../src/docker/registry-worker.ts'
import { loopbackRegistry } from '../loopback-registry.ts'
import { waitFor } from '../wait.ts'

/**
 * The watcher's registry client in a worker thread (issue #19): answers as checkTagDigest and
 * listTags answer, with its own token cache; a thread that stops or hangs answers what was asked of
 * it `unavailable` and is replaced; close() answers at once; an idle thread holds nothing open.
 */
const digest = 'sha256:' + 'e'.repeat(64)
let seen: string[] = []

const served = loopbackRegistry((req, res) => {
  const url = new URL(req.url!, 'http://x')
  seen.push(`${req.method!} ${url.pathname}`)
  if (url.pathname === '/token') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'tok', expires_in: 300 }))
  if (req.headers.authorization !== 'Bearer tok') {
    return res.writeHead(401, { 'www-authenticate': `Bearer realm="${served.origin}/token",service="test",scope="repository:team/app:pull"` }).end()
  }
  if (url.pathname === '/v2/team/app/manifests/hang') return // never answers
  if (url.pathname === '/v2/team/app/manifests/1.2.3') return res.writeHead(200, { 'docker-content-digest': digest }).end()
  if (url.pathname === '/v2/team/app/tags/list') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name: 'team/app', tags: ['1.2.3', '1.3.0'] }))
  res.writeHead(404).end()
})

const image = (tag: string): string => `${served.origin.replace('http://', '')}/team/app:${tag}`
const faulty = join(import.meta.dirname, '../registry-thread-fault.ts')

test('checks and tag listings are answered by a thread of their own, which keeps its tokens', async (t) => {
  const registry = new RegistryWorker({ dockerConfigPath: served.config, timeoutMs: 5000 })
  t.after(async () => { await registry.close() })
  assert.equal(registry.threadId, undefined, 'no thread before the first request')
  seen = []
  const first = await registry.checkDigest(image('1.2.3'))
  assert.deepEqual(first, { digest, budget: {}, responses: [{ method: 'HEAD', status: 401 }, { method: 'HEAD', status: 200 }] })
  const thread = registry.threadId
  assert.equal(typeof thread, 'number')
  assert.notEqual(thread, threadId, 'not the event loop that answers HTTP')
  assert.deepEqual(await registry.checkDigest(image('1.2.3')), { digest, budget: {}, responses: [{ method: 'HEAD', status: 200 }] })
  const listed = await registry.listTags(image('1.2.3'))
  assert.ok('tags' in listed)
  assert.deepEqual(listed.tags, ['1.2.3', '1.3.0'])
  assert.deepEqual(seen.filter((s) => s.endsWith('/token')), ['GET /token'], 'one token for every request of the thread')
  assert.equal(registry.threadId, thread, 'one thread for them all')
  const missing = await registry.checkDigest(image('9.9.9'))
  assert.equal('unavailable' in missing && missing.unavailable, 'the tag does not exist in the registry (404)')
})

test('close() answers a request hung on a registry at once, and every request after it', async () => {
  const registry = new RegistryWorker({ dockerConfigPath: served.config, timeoutMs: 60_000 })
  const hung = registry.checkDigest(image('hang'))
  await waitFor('the hung HEAD', () => seen.includes('HEAD /v2/team/app/manifests/hang'), 30, 10)
  await registry.close()
  assert.deepEqual(await hung, { unavailable: 'the updater is shutting down', backoff: false, budget: {}, responses: [] })
  assert.equal(registry.threadId, undefined)
  assert.deepEqual(await registry.listTags(image('1.2.3')), { unavailable: 'the updater is shutting down', backoff: false, budget: {}, requests: 0, responses: [] })
})

test('a thread that crashes: what was asked of it is answered unavailable, and a new thread serves the next request', async (t) => {
  const registry = new RegistryWorker({ dockerConfigPath: served.config, timeoutMs: 5000, program: faulty })
  t.after(async () => { await registry.close() })
  assert.equal('digest' in await registry.checkDigest(image('ok')), true)
  const first = registry.threadId
  const [crashed, beside] = await Promise.all([registry.checkDigest(image('crash')), registry.listTags(image('silent'))])
  assert.deepEqual(crashed, { unavailable: 'the registry client stopped: the thread crashed', backoff: false, budget: {}, responses: [] })
  assert.deepEqual(beside, { unavailable: 'the registry client stopped: the thread crashed', backoff: false, budget: {}, requests: 0, responses: [] })
  assert.deepEqual(await registry.checkDigest(image('ok')), { digest: 'sha256:' + 'd'.repeat(64), budget: {}, responses: [] })
  assert.notEqual(registry.threadId, first, 'a new thread')
})

test('a thread that does not answer within its bound (+2 s) is replaced; the request is answered unavailable', async (t) => {
  const registry = new RegistryWorker({ dockerConfigPath: served.config, timeoutMs: 50, program: faulty })
  t.after(async () => { await registry.close() })
  const silent = await registry.checkDigest(image('silent'))
  assert.deepEqual(silent, { unavailable: 'the registry client did not answer within 2050 ms', backoff: false, budget: {}, responses: [] })
  assert.equal(registry.threadId, undefined)
  assert.equal('digest' in await registry.checkDigest(image('ok')), true)
})

test('a thread that cannot load is reported and not started again for a minute: requests are answered at once, with its reason', async (t) => {
  let now = Date.parse('2026-12-07T12:00:00Z')
  const errors: string[] = []
  const registry = new RegistryWorker({ dockerConfigPath: served.config, timeoutMs: 5000, program: join(import.meta.dirname, 'missing-thread.js'), now: () => now, onThreadError: (error) => errors.push(error.message) })
  t.after(async () => { await registry.close() })
  const first = await registry.checkDigest(image('1.2.3'))
  assert.ok('unavailable' in first && first.unavailable.startsWith('the registry client stopped: Cannot find module'), JSON.stringify(first))
  assert.equal(errors.length, 1)
  const paused = await registry.listTags(image('1.2.3'))
  assert.ok('unavailable' in paused && paused.unavailable.endsWith('; next try at 2026-12-07T12:01:00.000Z'), JSON.stringify(paused))
  assert.equal(registry.threadId, undefined, 'no thread started meanwhile')
  assert.equal(errors.length, 1)
  now += RESTART_PAUSE_MS
  const again = await registry.checkDigest(image('1.2.3'))
  assert.ok('unavailable' in again && again.unavailable.startsWith('the registry client stopped:'))
  assert.equal(errors.length, 2, 'tried again after the pause')
})

test('an idle thread does not hold the process open', async () => {
  // A process that asks once and never calls close(): it must exit on its own.
  const script = `import { RegistryWorker } from ${JSON.stringify(join(import.meta.dirname, '../../src/docker/registry-worker.ts'))}
const r = new RegistryWorker({ dockerConfigPath: ${JSON.stringify(served.config)}, timeoutMs: 5000 })
const check = await r.checkDigest(${JSON.stringify(image('1.2.3'))})
console.log(check.digest)`
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 30_000 })
  assert.equal(stdout.trim(), digest)
})
