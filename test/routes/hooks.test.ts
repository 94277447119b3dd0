import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { buildApp, type AppOptions } from '../../src/app.ts'
import { loggerOptions } from '../../src/server.ts'
import type { HooksOptions } from '../../src/routes/hooks.ts'
import type { PushEvent, PushOrigin } from '../../src/hooks/events.ts'
import { FakeDocker } from '../fake-docker.ts'
import { bearer, testConfig, token } from '../helper.ts'
import { blobEvent, distributionEvent, dockerhubPush, githubHeaders, githubPackage, harborPush } from '../unit/hooks-payloads.ts'

const GITHUB_SECRET = 'github-webhook-secret'
const DOCKERHUB_TOKEN = 'dh-' + 'k'.repeat(40)
const DISTRIBUTION_TYPE = 'application/vnd.docker.distribution.events.v1+json'

interface Setup { hooks?: HooksOptions, env?: Record<string, string>, app?: AppOptions, onPush?: (events: PushEvent[], origin: PushOrigin) => void }

/** The real app, with a recording onPush (the seam the update engine fills) and the hook routes. */
async function setup (t: TestContext, { hooks = { githubSecret: GITHUB_SECRET, dockerhubToken: DOCKERHUB_TOKEN }, env = {}, app: appOptions = {}, onPush }: Setup = {}) {
  const calls: Array<{ events: PushEvent[], origin: PushOrigin }> = []
  const app = await buildApp(testConfig(env), { runner: new FakeDocker().runner, ...appOptions, hooks, onPush: onPush ?? ((events: PushEvent[], origin: PushOrigin) => { calls.push({ events, origin }) }) })
  t.after(() => app.close())
  await app.ready()
  return { app, calls }
}

const postJson = (app: Awaited<ReturnType<typeof setup>>['app'], url: string, body: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...headers }, payload: typeof body === 'string' ? body : JSON.stringify(body) })

test('distribution: 202 with the counts; one PushEvent for the tagged manifest, with the token scope', async (t) => {
  const { app, calls } = await setup(t)
  const jwt = token({ sub: 'registry-a', jti: 'r-1', services: ['web*'] })
  const body = { events: [blobEvent(), blobEvent(), distributionEvent({ id: 'm-1', tag: 'v1' }), distributionEvent({ action: 'pull' })] }
  const res = await postJson(app, '/hooks/distribution', body, { ...bearer(jwt), 'content-type': DISTRIBUTION_TYPE })
  assert.equal(res.statusCode, 202, res.body)
  assert.deepEqual(res.json(), { accepted: 1, ignored: 3, ignoredReasons: [{ reason: 'not-a-push', count: 1 }, { reason: 'untagged', count: 2 }], duplicate: 0 })
  assert.equal(calls.length, 1)
  assert.deepEqual(calls[0]!.events.map((e) => [e.id, e.registry, e.repository, e.tag]), [['m-1', '127.0.0.1:5000', 'team/app', 'v1']])
  assert.deepEqual(calls[0]!.origin, { source: 'distribution', subject: 'registry-a', tokenId: 'r-1', services: ['web*'] })
})

test('distribution: a redelivery (same event id) is a duplicate and changes nothing', async (t) => {
  const { app, calls } = await setup(t)
  const body = { events: [distributionEvent({ id: 'm-1' })] }
  assert.deepEqual((await postJson(app, '/hooks/distribution', body, bearer())).json(), { accepted: 1, ignored: 0, ignoredReasons: [], duplicate: 0 })
  const again = await postJson(app, '/hooks/distribution', body, bearer())
  assert.equal(again.statusCode, 202)
  assert.deepEqual(again.json(), { accepted: 0, ignored: 0, ignoredReasons: [], duplicate: 1 })
  // The same id from another source is another event.
  assert.equal(calls.length, 1)
})

test('distribution: only blobs, pulls or by-digest pushes: 202 and nothing handed over', async (t) => {
  const { app, calls } = await setup(t)
  const body = { events: [blobEvent(), distributionEvent({ tag: null }), distributionEvent({ action: 'pull' })] }
  const res = await postJson(app, '/hooks/distribution', body, bearer())
  assert.deepEqual(res.json(), { accepted: 0, ignored: 3, ignoredReasons: [{ reason: 'not-a-push', count: 1 }, { reason: 'untagged', count: 2 }], duplicate: 0 })
  assert.equal(calls.length, 0)
})

test('distribution and harbor: 401 without a valid bearer token; nothing handed over', async (t) => {
  const { app, calls } = await setup(t)
  for (const url of ['/hooks/distribution', '/hooks/harbor']) {
    const body = url.endsWith('harbor') ? harborPush() : { events: [distributionEvent()] }
    for (const headers of [{}, { authorization: 'Bearer nope' }, bearer(token({}, { secret: 'another-secret-that-is-at-least-32-bytes' }))]) {
      const res = await postJson(app, url, body, headers)
      assert.equal(res.statusCode, 401, `${url} ${JSON.stringify(headers)}`)
      assert.equal(res.json().code, 'CU_UNAUTHORIZED')
    }
  }
  assert.equal(calls.length, 0)
})

test('content types: the registry envelope type and JSON with a charset are read; others are 415', async (t) => {
  const { app, calls } = await setup(t)
  const body = () => ({ events: [distributionEvent()] })
  // Distribution 3.x (registry:3) posts the same envelope as events.v2+json.
  for (const type of [DISTRIBUTION_TYPE, 'application/vnd.docker.distribution.events.v2+json', 'application/json', 'application/json; charset=utf-8']) {
    const res = await postJson(app, '/hooks/distribution', body(), { ...bearer(), 'content-type': type })
    assert.equal(res.statusCode, 202, type)
  }
  assert.equal(calls.length, 4)
  const res = await postJson(app, '/hooks/distribution', body(), { ...bearer(), 'content-type': 'text/plain' })
  assert.equal(res.statusCode, 415)
  // Outside the hooks, JSON is parsed as before (POST /update still validates its body).
  const update = await postJson(app, '/update', { appName: 5 }, bearer())
  assert.equal(update.statusCode, 400)
})

test('400 for a malformed body; 413 beyond the hook limit, while batches far above 4 KiB are fine', async (t) => {
  const { app, calls } = await setup(t)
  for (const payload of ['{"events": [', '', 'null', '[]', '{"events": 1}']) {
    const res = await postJson(app, '/hooks/distribution', payload, bearer())
    assert.equal(res.statusCode, 400, JSON.stringify(payload))
    assert.match(res.json().code, /^(CU_INVALID_HOOK_BODY|FST_ERR_CTP_EMPTY_JSON_BODY)$/)
  }
  const batch = { events: Array.from({ length: 80 }, () => blobEvent()).concat([distributionEvent()]) }
  assert.ok(JSON.stringify(batch).length > 40_000)
  const res = await postJson(app, '/hooks/distribution', batch, bearer())
  assert.deepEqual(res.json(), { accepted: 1, ignored: 80, ignoredReasons: [{ reason: 'untagged', count: 80 }], duplicate: 0 })
  const huge = { events: [distributionEvent()], padding: 'x'.repeat(600 * 1024) }
  assert.equal((await postJson(app, '/hooks/distribution', huge, bearer())).statusCode, 413)
  assert.equal(calls.length, 1)
})

test('github: a signed registry_package event is accepted; the same delivery again is a duplicate', async (t) => {
  const { app, calls } = await setup(t)
  const raw = JSON.stringify(githubPackage({ owner: 'Octo-Org', name: 'app', tag: 'v1' }))
  const headers = githubHeaders(raw, { secret: GITHUB_SECRET, delivery: 'guid-1' })
  const res = await postJson(app, '/hooks/github', raw, headers)
  assert.equal(res.statusCode, 202, res.body)
  assert.deepEqual(res.json(), { accepted: 1, ignored: 0, ignoredReasons: [], duplicate: 0 })
  assert.deepEqual(calls[0]!.events.map((e) => [e.registry, e.repository, e.tag]), [['ghcr.io', 'octo-org/app', 'v1']])
  assert.deepEqual(calls[0]!.origin, { source: 'github' })
  assert.deepEqual((await postJson(app, '/hooks/github', raw, headers)).json(), { accepted: 0, ignored: 0, ignoredReasons: [], duplicate: 1 })
  assert.equal(calls.length, 1)
})

test('github: wrong, missing or stale signatures are 401 and hand nothing over', async (t) => {
  const { app, calls } = await setup(t)
  const raw = JSON.stringify(githubPackage())
  const wrongSecret = await postJson(app, '/hooks/github', raw, githubHeaders(raw, { secret: 'not-the-secret' }))
  assert.equal(wrongSecret.statusCode, 401)
  assert.equal(wrongSecret.json().code, 'CU_UNAUTHORIZED')
  // Signed, then altered (here: re-serialised with other whitespace): the bytes are what counts.
  const altered = await postJson(app, '/hooks/github', JSON.stringify(JSON.parse(raw), null, 1), githubHeaders(raw, { secret: GITHUB_SECRET }))
  assert.equal(altered.statusCode, 401)
  const { 'x-hub-signature-256': _signature, ...unsigned } = githubHeaders(raw, { secret: GITHUB_SECRET })
  assert.equal((await postJson(app, '/hooks/github', raw, unsigned)).statusCode, 401)
  // A malformed body with a bad signature is refused for the signature, before it is parsed.
  assert.equal((await postJson(app, '/hooks/github', '{not json', githubHeaders(raw, { secret: GITHUB_SECRET }))).statusCode, 401)
  assert.equal(calls.length, 0)
})

test('github: ping, untagged versions and other actions are 202 and ignored', async (t) => {
  const { app, calls } = await setup(t)
  const ping = JSON.stringify({ zen: 'Design for failure.', hook_id: 1 })
  assert.deepEqual((await postJson(app, '/hooks/github', ping, githubHeaders(ping, { secret: GITHUB_SECRET, event: 'ping' }))).json(), { accepted: 0, ignored: 1, ignoredReasons: [{ reason: 'not-a-push', count: 1 }], duplicate: 0 })
  for (const [body, reason] of [[githubPackage({ tag: '' }), 'untagged'], [githubPackage({ action: 'deleted' }), 'not-a-push']] as const) {
    const raw = JSON.stringify(body)
    const res = await postJson(app, '/hooks/github', raw, githubHeaders(raw, { secret: GITHUB_SECRET }))
    assert.deepEqual(res.json(), { accepted: 0, ignored: 1, ignoredReasons: [{ reason, count: 1 }], duplicate: 0 })
  }
  const bad = '{"action":"published"}'
  assert.equal((await postJson(app, '/hooks/github', bad, githubHeaders(bad, { secret: GITHUB_SECRET }))).statusCode, 400)
  assert.equal(calls.length, 0)
})

test('harbor: PUSH_ARTIFACT with our bearer token in its auth header; a retry is a duplicate', async (t) => {
  const { app, calls } = await setup(t)
  const jwt = token({ sub: 'harbor', services: ['web'] })
  const res = await postJson(app, '/hooks/harbor', harborPush({ host: 'harbor.example.com', repo: 'library/web', tag: 'v3' }), bearer(jwt))
  assert.equal(res.statusCode, 202, res.body)
  assert.deepEqual(res.json(), { accepted: 1, ignored: 0, ignoredReasons: [], duplicate: 0 })
  assert.deepEqual(calls[0]!.events.map((e) => `${e.registry}/${e.repository}:${e.tag}`), ['harbor.example.com/library/web:v3'])
  assert.deepEqual(calls[0]!.origin, { source: 'harbor', subject: 'harbor', services: ['web'] })
  const retry = await postJson(app, '/hooks/harbor', harborPush({ host: 'harbor.example.com', repo: 'library/web', tag: 'v3' }), bearer(jwt))
  assert.deepEqual(retry.json(), { accepted: 0, ignored: 0, ignoredReasons: [], duplicate: 1 })
  assert.deepEqual((await postJson(app, '/hooks/harbor', harborPush({ type: 'PULL_ARTIFACT' }), bearer(jwt))).json(), { accepted: 0, ignored: 1, ignoredReasons: [{ reason: 'not-a-push', count: 1 }], duplicate: 0 })
  assert.equal(calls.length, 1)
})

test('dockerhub: the URL token is the credential', async (t) => {
  const { app, calls } = await setup(t)
  const res = await postJson(app, `/hooks/dockerhub/${DOCKERHUB_TOKEN}`, dockerhubPush({ repo: 'acme/web', tag: 'v1' }))
  assert.equal(res.statusCode, 202, res.body)
  assert.deepEqual(calls[0]!.events.map((e) => `${e.registry}/${e.repository}:${e.tag}`), ['docker.io/acme/web:v1'])
  assert.deepEqual(calls[0]!.origin, { source: 'dockerhub' })
  assert.deepEqual((await postJson(app, `/hooks/dockerhub/${DOCKERHUB_TOKEN}`, dockerhubPush({ repo: 'acme/web', tag: 'v1' }))).json(), { accepted: 0, ignored: 0, ignoredReasons: [], duplicate: 1 })
  for (const wrong of [DOCKERHUB_TOKEN.slice(0, -1), DOCKERHUB_TOKEN + 'x', 'x'.repeat(DOCKERHUB_TOKEN.length), 'short']) {
    const refused = await postJson(app, `/hooks/dockerhub/${wrong}`, dockerhubPush({ tag: 'v2' }))
    assert.equal(refused.statusCode, 401, wrong)
  }
  assert.equal((await postJson(app, '/hooks/dockerhub/', dockerhubPush({ tag: 'v2' }))).statusCode, 401)
  assert.equal(calls.length, 1)
})

test('github and dockerhub: refused credentials count like bad tokens (metrics, and the failed-attempt limit: 429)', async (t) => {
  const { app, calls } = await setup(t, { env: { AUTH_FAILURE_LIMIT: '3' } })
  const raw = JSON.stringify(githubPackage())
  const forged = githubHeaders(raw, { secret: 'not-the-secret' })
  const statuses: number[] = []
  statuses.push((await postJson(app, '/hooks/github', raw, forged)).statusCode)
  statuses.push((await postJson(app, `/hooks/dockerhub/${'x'.repeat(DOCKERHUB_TOKEN.length)}`, dockerhubPush({ tag: 'v2' }))).statusCode)
  statuses.push((await postJson(app, '/hooks/github', raw, forged)).statusCode)
  // The address has reached the limit: even the right credentials wait, on every route.
  const limited = await postJson(app, '/hooks/github', raw, githubHeaders(raw, { secret: GITHUB_SECRET }))
  statuses.push(limited.statusCode, (await postJson(app, `/hooks/dockerhub/${DOCKERHUB_TOKEN}`, dockerhubPush({ tag: 'v2' }))).statusCode)
  statuses.push((await app.inject({ method: 'GET', url: '/updates', headers: bearer() })).statusCode)
  assert.deepEqual(statuses, [401, 401, 401, 429, 429, 429])
  assert.equal(limited.json().code, 'CU_TOO_MANY_AUTH_FAILURES')
  assert.ok(Number(limited.headers['retry-after']) > 0)
  assert.equal(calls.length, 0)
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  assert.match(metrics, /container_updater_auth_failures_total\{reason="signature"\} 3\n/)
  assert.match(metrics, /container_updater_auth_failures_total\{reason="rate_limited"\} 3\n/)
})

test('unconfigured sources have no route; a short Docker Hub token stops the start', async (t) => {
  const { app } = await setup(t, { hooks: {} })
  const raw = JSON.stringify(githubPackage())
  assert.equal((await postJson(app, '/hooks/github', raw, githubHeaders(raw))).statusCode, 404)
  assert.equal((await postJson(app, `/hooks/dockerhub/${DOCKERHUB_TOKEN}`, dockerhubPush())).statusCode, 404)
  assert.equal((await postJson(app, '/hooks/distribution', { events: [] }, bearer())).statusCode, 202)
  await assert.rejects(setup(t, { hooks: { dockerhubToken: 'x'.repeat(31) } }), /at least 32 characters/)
})

test('onPush failing: 500, and the registry retry is accepted (the ids were not kept)', async (t) => {
  let fail = true
  const calls: PushEvent[][] = []
  const { app } = await setup(t, { onPush: (events) => { if (fail) throw new Error('engine down'); calls.push(events) } })
  const body = { events: [distributionEvent({ id: 'm-9' })] }
  const res = await postJson(app, '/hooks/distribution', body, bearer())
  assert.equal(res.statusCode, 500)
  assert.ok(!res.body.includes('engine down'), 'internal reasons are not told')
  fail = false
  assert.deepEqual((await postJson(app, '/hooks/distribution', body, bearer())).json(), { accepted: 1, ignored: 0, ignoredReasons: [], duplicate: 0 })
  assert.equal(calls.length, 1)
})

test('the Docker Hub token never reaches a log line written by Fastify or by the hooks', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(String(chunk)); done() } })
  const config = testConfig({ LOG_LEVEL: 'trace' })
  const { app } = await setup(t, { env: { LOG_LEVEL: 'trace' }, app: { logger: { ...loggerOptions(config, false) as object, level: 'trace', stream } as never } })
  const url = `/hooks/dockerhub/${DOCKERHUB_TOKEN}`
  await postJson(app, url, dockerhubPush())
  await postJson(app, url, '{broken')
  await postJson(app, url, dockerhubPush(), { 'content-type': 'text/xml' })
  await postJson(app, url, { ...dockerhubPush(), padding: 'x'.repeat(300 * 1024) })
  await postJson(app, `${url}x`, dockerhubPush())
  await postJson(app, `${url}?q=1`, dockerhubPush())
  await app.inject({ method: 'GET', url })
  const ours = lines.filter((line) => !line.includes('"msg":"request completed"'))
  assert.ok(ours.some((line) => line.includes('registry push received')), 'the delivery itself is logged')
  for (const line of ours) assert.ok(!line.includes(DOCKERHUB_TOKEN.slice(3)), line)
})

test('the access line logs the URL through redactRequestUrl', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(String(chunk)); done() } })
  // Refused requests are logged at debug (a flood of them must not flood the log).
  const config = testConfig({ LOG_LEVEL: 'debug' })
  const { app } = await setup(t, { app: { logger: { ...loggerOptions(config, false) as object, stream } as never } })
  await postJson(app, `/hooks/dockerhub/${DOCKERHUB_TOKEN}`, dockerhubPush())
  await postJson(app, `/hooks/dockerhub/${DOCKERHUB_TOKEN}x`, dockerhubPush())
  const access = lines.filter((line) => line.includes('"msg":"request completed"'))
  assert.equal(access.length, 2)
  for (const line of access) {
    assert.ok(!line.includes(DOCKERHUB_TOKEN.slice(3)), line)
    assert.ok(line.includes('/hooks/dockerhub/[redacted]'), line)
  }
})

test('OpenAPI: every hook path with its summary, body and 202 receipt', async (t) => {
  const { app } = await setup(t)
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
  for (const path of ['/hooks/distribution', '/hooks/github', '/hooks/harbor', '/hooks/dockerhub/{token}']) {
    const post = doc.paths[path]?.post
    assert.ok(post, path)
    assert.ok(post.summary.length > 0 && post.description.length > 0, path)
    assert.deepEqual(Object.keys(post.responses['202'].content['application/json'].schema.properties).sort(), ['accepted', 'duplicate', 'ignored', 'ignoredReasons'])
    assert.ok(post.requestBody.content['application/json'], path)
  }
  assert.ok(doc.paths['/hooks/distribution'].post.requestBody.content[DISTRIBUTION_TYPE])
})

test('github: a captured delivery replayed under a new X-GitHub-Delivery, and the package twin of a registry_package delivery, are duplicates', async (t) => {
  const { app, calls } = await setup(t)
  const registryPackage = JSON.stringify(githubPackage({ kind: 'registry_package', tag: 'v7' }))
  const packageTwin = JSON.stringify(githubPackage({ kind: 'package', tag: 'v7' }))
  const first = await postJson(app, '/hooks/github', registryPackage, githubHeaders(registryPackage, { secret: GITHUB_SECRET, delivery: 'guid-a' }))
  assert.deepEqual(first.json(), { accepted: 1, ignored: 0, ignoredReasons: [], duplicate: 0 })
  // The GUID is not signed: a replay under a new one is still the same signed content.
  const replay = await postJson(app, '/hooks/github', registryPackage, githubHeaders(registryPackage, { secret: GITHUB_SECRET, delivery: 'guid-b' }))
  assert.deepEqual(replay.json(), { accepted: 0, ignored: 0, ignoredReasons: [], duplicate: 1 })
  const twin = await postJson(app, '/hooks/github', packageTwin, githubHeaders(packageTwin, { secret: GITHUB_SECRET, event: 'package', delivery: 'guid-c' }))
  assert.deepEqual(twin.json(), { accepted: 0, ignored: 0, ignoredReasons: [], duplicate: 1 })
  assert.equal(calls.length, 1)
})

test('distribution and harbor under JWT_REQUIRE_SCOPE=true: a token without services is 403 over HTTP, as on POST /update; a scoped one is accepted', async (t) => {
  const { app, calls } = await setup(t, { env: { JWT_REQUIRE_SCOPE: 'true' } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  const post = async (path: string, body: unknown, jwt: string) => fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(jwt) }, body: JSON.stringify(body) })
  const unscoped = token({ sub: 'registry-any' })
  for (const [path, body] of [['/hooks/distribution', { events: [distributionEvent()] }], ['/hooks/harbor', harborPush()]] as const) {
    const res = await post(path, body, unscoped)
    assert.equal(res.status, 403, path)
    assert.equal((await res.json() as { code: string }).code, 'CU_FORBIDDEN')
  }
  assert.equal((await post('/update', { appName: 'web' }, unscoped)).status, 403)
  assert.equal(calls.length, 0)
  const scoped = await post('/hooks/distribution', { events: [distributionEvent()] }, token({ sub: 'registry-web', services: ['web'] }))
  assert.equal(scoped.status, 202)
  assert.equal(calls.length, 1)
})
