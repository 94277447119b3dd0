import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { runStep, startUpdater, type Reply, type Seen } from './action-harness.ts'

/**
 * The action's step, run as GitHub runs it, against a stand-in updater on loopback: it asks with
 * `wait: false`, polls statusUrl until a final state, and passes or fails the job on it.
 */
const ID = '0b7e3c6a-8f7e-4c1e-9a55-2d7c1c6c2f10'
const BATCH = '5d1f2a3b-1111-4c1e-9a55-2d7c1c6c2f10'
const FAST = { 'poll-interval': '0.02', token: 'secret-token-value' }

const record = (status: string, extra: Record<string, unknown> = {}) => ({
  updateId: ID,
  appName: 'web',
  service: 'web',
  status,
  previousImage: '127.0.0.1:5000/web:latest@sha256:' + '1'.repeat(64),
  image: status === 'completed' ? '127.0.0.1:5000/web:latest@sha256:' + '2'.repeat(64) : null,
  startedAt: '2025-01-01T00:00:00.000Z',
  finishedAt: null,
  durationMs: null,
  statusUrl: `/updates/${ID}`,
  ...extra
})

/** POST answers 202 with the record; the polls of statusUrl get `polls` in turn (the last repeats). */
function scripted (polls: Reply[], accepted: Reply = { status: 202, body: record('queued') }): (seen: Seen) => Reply {
  let i = 0
  return (seen) => {
    if (seen.method === 'POST') return accepted
    const reply = polls[Math.min(i, polls.length - 1)]!
    i++
    return reply
  }
}

test('action: 202, then updating, then completed → exit 0 with the outputs, the summary, and polls that carry the token', async (t) => {
  const updater = await startUpdater(scripted([
    { status: 200, body: record('updating') },
    { status: 200, body: record('updating') },
    { status: 200, body: record('completed') }
  ]))
  t.after(updater.close)
  const result = await runStep({ url: `${updater.url}/`, 'app-name': 'web', tag: 'v2', ...FAST })
  assert.equal(result.code, 0, result.stdout)
  assert.deepEqual(updater.seen[0], { method: 'POST', path: '/update', authorization: 'Bearer secret-token-value', body: { appName: 'web', tag: 'v2', wait: false } })
  const polls = updater.seen.slice(1)
  assert.equal(polls.length, 3)
  for (const poll of polls) assert.deepEqual(poll, { method: 'GET', path: `/updates/${ID}`, authorization: 'Bearer secret-token-value' })
  assert.equal(result.outputs.status, 'completed')
  assert.equal(result.outputs['update-id'], ID)
  assert.equal(result.outputs.image, record('completed').image)
  assert.match(result.stdout, /::add-mask::secret-token-value/)
  assert.match(result.summary, /\| web \| completed \| 127\.0\.0\.1:5000\/web:latest@sha256:2{64} \|/)
})

test('action: rolled_back → exit 1 with Docker\'s reason, and the status output', async (t) => {
  const updater = await startUpdater(scripted([
    { status: 200, body: record('updating') },
    { status: 200, body: record('rolled_back', { message: 'rollback completed: task: non-zero exit (3)' }) }
  ]))
  t.after(updater.close)
  const result = await runStep({ url: updater.url, 'app-name': 'web', ...FAST })
  assert.equal(result.code, 1, result.stdout)
  assert.match(result.stdout, /::error::web: rolled_back by Swarm: rollback completed: task: non-zero exit \(3\)/)
  assert.equal(result.outputs.status, 'rolled_back')
})

test('action: failed, superseded, cancelled and timeout end the step with an error naming them', async (t) => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [record('failed', { message: 'no such image: 127.0.0.1:5000/web:v9' }), /::error::web: failed: no such image/],
    [record('superseded', { supersededBy: BATCH }), new RegExp(`::error::web: superseded by update ${BATCH}`)],
    [record('cancelled', { message: 'the updater shut down before the update started' }), /::error::web: cancelled before it started: the updater shut down/],
    [record('timeout', { message: 'not converged after 600 s' }), new RegExp(`::error::web: not converged within the updater's UPDATE_TIMEOUT; .* see http://127\\.0\\.0\\.1:\\d+/updates/${ID}`)]
  ]
  for (const [body, expected] of cases) {
    const updater = await startUpdater(scripted([{ status: 200, body }]))
    t.after(updater.close)
    const result = await runStep({ url: updater.url, 'app-name': 'web', ...FAST })
    assert.equal(result.code, 1, result.stdout)
    assert.match(result.stdout, expected)
    assert.equal(result.outputs.status, body.status)
  }
})

test('action: a 502, a 503 and a dropped connection while polling are ridden out', async (t) => {
  const updater = await startUpdater(scripted([
    { status: 502, body: { message: 'Bad Gateway' } },
    'drop',
    { status: 503, body: { statusCode: 503, error: 'Service Unavailable', message: 'shutting down' } },
    { status: 200, body: record('completed') }
  ]))
  t.after(updater.close)
  const result = await runStep({ url: updater.url, 'app-name': 'web', ...FAST })
  assert.equal(result.code, 0, result.stdout)
  assert.equal(updater.seen.filter((s) => s.method === 'GET').length, 4)
  assert.match(result.stdout, /poll: 502 .*trying again/)
  assert.equal(result.outputs.status, 'completed')
})

test('action: a 404 while polling (the updater forgot the update) fails the step at once', async (t) => {
  const updater = await startUpdater(scripted([{ status: 404, body: { statusCode: 404, error: 'Not Found', message: `no update ${ID}` } }]))
  t.after(updater.close)
  const result = await runStep({ url: updater.url, 'app-name': 'web', ...FAST })
  assert.equal(result.code, 1)
  assert.match(result.stdout, /::error::404 while polling .*no update/)
  assert.equal(updater.seen.length, 2)
})

test('action: still updating when the step\'s timeout runs out → exit 1 naming the statusUrl', async (t) => {
  const updater = await startUpdater(scripted([{ status: 200, body: record('updating') }], { status: 202, body: record('updating') }))
  t.after(updater.close)
  const result = await runStep({ url: updater.url, 'app-name': 'web', ...FAST, timeout: '1' })
  assert.equal(result.code, 1, result.stdout)
  assert.match(result.stdout, /::error::web: still updating when the step's timeout ran out; .*\/updates\//)
  assert.equal(result.outputs.status, 'updating')
})

test('action: an image target is a batch; the step polls /batches/:id until every update is final', async (t) => {
  const update = (service: string, status: string, extra: Record<string, unknown> = {}) => ({ ...record(status), updateId: `${service}-id`, appName: service, service, statusUrl: `/updates/${service}-id`, batchId: BATCH, ...extra })
  const batch = (updates: unknown[]) => ({ batchId: BATCH, target: { image: 'acme/web:latest' }, status: 'updating', updates, skipped: [{ service: 'legacy', reason: 'not labelled' }], statusUrl: `/batches/${BATCH}` })
  const updater = await startUpdater(scripted([
    { status: 200, body: batch([update('web', 'completed'), update('worker', 'updating')]) },
    { status: 200, body: batch([update('web', 'completed'), update('worker', 'completed', { warning: 'image could not be pinned to a digest' })]) }
  ], { status: 202, body: batch([update('web', 'queued'), update('worker', 'queued')]) }))
  t.after(updater.close)
  const result = await runStep({ url: updater.url, image: 'acme/web:latest', ...FAST })
  assert.equal(result.code, 0, result.stdout)
  assert.deepEqual(updater.seen[0]!.body, { image: 'acme/web:latest', wait: false })
  assert.deepEqual(updater.seen.slice(1).map((s) => s.path), [`/batches/${BATCH}`, `/batches/${BATCH}`])
  assert.equal(result.outputs['batch-id'], BATCH)
  assert.equal(result.outputs.status, 'completed')
  assert.match(result.stdout, /::notice::legacy: skipped: not labelled/)
  assert.match(result.stdout, /::warning::worker: image could not be pinned to a digest/)
  assert.match(result.summary, /\| worker \| completed \|/)
  assert.match(result.summary, /\| legacy \| skipped \|/)
})

test('action: a stack batch with one rolled-back service fails, naming it', async (t) => {
  const batch = (second: string) => ({
    batchId: BATCH,
    target: { stack: 'shop' },
    status: 'updating',
    updates: [{ ...record('completed'), service: 'shop_web' }, { ...record(second), service: 'shop_worker', message: 'rollback completed: task: non-zero exit (1)' }],
    skipped: [],
    statusUrl: `/batches/${BATCH}`
  })
  const updater = await startUpdater(scripted([{ status: 200, body: batch('rolled_back') }], { status: 202, body: batch('updating') }))
  t.after(updater.close)
  const result = await runStep({ url: updater.url, stack: 'shop', ...FAST })
  assert.equal(result.code, 1, result.stdout)
  assert.deepEqual(updater.seen[0]!.body, { stack: 'shop', wait: false })
  assert.match(result.stdout, /::error::shop_worker: rolled_back by Swarm: rollback completed: task: non-zero exit \(1\)/)
  assert.equal(result.outputs.status, 'rolled_back')
})

test('action: wait "false" ends once the update is accepted, without polling', async (t) => {
  const updater = await startUpdater(scripted([{ status: 200, body: record('completed') }]))
  t.after(updater.close)
  const result = await runStep({ url: updater.url, 'app-name': 'web', wait: 'false', ...FAST })
  assert.equal(result.code, 0, result.stdout)
  assert.equal(updater.seen.length, 1)
  assert.equal(result.outputs.status, 'queued')
  assert.equal(result.outputs['update-id'], ID)
})

test('action: dry-run asks for the plan, changes nothing, and prints it', async (t) => {
  const plan = { dryRun: true, target: { image: 'acme/web' }, plan: [{ service: 'web', image: 'docker.io/acme/web:latest@sha256:' + '1'.repeat(64), targetImage: 'docker.io/acme/web:latest', upToDate: false }], skipped: [] }
  const updater = await startUpdater(() => ({ status: 200, body: plan }))
  t.after(updater.close)
  const result = await runStep({ url: updater.url, image: 'acme/web', 'dry-run': 'true', ...FAST })
  assert.equal(result.code, 0, result.stdout)
  assert.deepEqual(updater.seen.map((s) => s.body), [{ image: 'acme/web', dryRun: true }])
  assert.match(result.stdout, /web: .* → docker\.io\/acme\/web:latest: would be updated/)
  assert.equal(result.outputs.status, 'dry-run')
})

test('action: exactly one of app-name, image, stack; tag only with app-name — refused before any request', async (t) => {
  const updater = await startUpdater(() => ({ status: 500, body: {} }))
  t.after(updater.close)
  for (const [inputs, expected] of [
    [{ 'app-name': 'web', image: 'acme/web' }, /exactly one of the inputs `app-name`, `image`, `stack`/],
    [{}, /exactly one of the inputs/],
    [{ stack: 'shop', tag: 'v2' }, /`tag` goes only with `app-name`/],
    [{ 'app-name': 'web', timeout: 'soon' }, /`timeout` must be a positive number of seconds/]
  ] as const) {
    const result = await runStep({ url: updater.url, ...FAST, ...inputs })
    assert.equal(result.code, 1, result.stdout)
    assert.match(result.stdout, expected)
  }
  assert.equal(updater.seen.length, 0)
})

test('action: a refused request fails with the updater\'s status and message', async (t) => {
  const updater = await startUpdater(() => ({ status: 401, body: { statusCode: 401, error: 'Unauthorized', message: 'token expired' } }))
  t.after(updater.close)
  const result = await runStep({ url: updater.url, 'app-name': 'web', ...FAST })
  assert.equal(result.code, 1)
  assert.match(result.stdout, /::error::401 Unauthorized: token expired/)
})

test('action: with OIDC, the ID token is requested for the audience, masked, and refreshed once when a poll gets 401', async (t) => {
  let issued = 0
  const idTokens = createServer((req, res) => {
    const audience = new URL(req.url ?? '/', 'http://x').searchParams.get('audience')
    if (req.headers.authorization !== 'Bearer runner-request-token' || audience !== 'container-updater') return res.writeHead(401).end()
    issued++
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value: `id-token-${issued}` }))
  }).listen(0, '127.0.0.1')
  await once(idTokens, 'listening')
  t.after(() => new Promise((resolve) => idTokens.close(resolve)))
  const updater = await startUpdater((seen) => {
    if (seen.method === 'POST') return { status: 202, body: record('queued') }
    // The first ID token "expires" during the rollout.
    return seen.authorization === 'Bearer id-token-1' ? { status: 401, body: { statusCode: 401, error: 'Unauthorized', message: 'token expired' } } : { status: 200, body: record('completed') }
  })
  t.after(updater.close)
  const result = await runStep({ url: updater.url, 'app-name': 'web', audience: 'container-updater', 'poll-interval': '0.02' }, {
    ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${(idTokens.address() as AddressInfo).port}/token?api-version=2.0`,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'runner-request-token'
  })
  assert.equal(result.code, 0, result.stdout)
  assert.deepEqual(updater.seen.map((s) => `${s.method} ${s.authorization}`), ['POST Bearer id-token-1', 'GET Bearer id-token-1', 'GET Bearer id-token-2'])
  assert.match(result.stdout, /::add-mask::id-token-1/)
  assert.match(result.stdout, /::add-mask::id-token-2/)
})
