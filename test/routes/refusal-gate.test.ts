import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { buildApp } from '../../src/app.ts'
import { clientAddressOf, trustProxyOption } from '../../src/auth/trust-proxy.ts'
import { FakeDocker } from '../fake-docker.ts'
import { b64url, bearer, testConfig, token } from '../helper.ts'
import { githubClaims, oidcEnv, startProvider } from '../oidc-provider.ts'

/**
 * The refusal gate (src/auth/refusal-gate.ts) answers bad tokens on the socket, before Fastify:
 * over real HTTP its answers must be the ones the auth hook gives (app.inject never passes the
 * gate, so it shows the hook's), and it must share the hook's limiter, counters and metrics.
 */

interface Answer { status: number, headers: Record<string, string | string[] | undefined>, body: string }

function send (url: string, method: string, path: string, headers: OutgoingHttpHeaders, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { method, headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...headers } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** The app listening on loopback, with a count of the requests that reached Fastify's hooks. */
async function listening (t: TestContext, env: Record<string, string> = {}, app?: FastifyInstance): Promise<{ app: FastifyInstance, url: string, reached: () => number }> {
  const server = app ?? await buildApp(testConfig(env), { runner: new FakeDocker().runner })
  let reached = 0
  server.addHook('onRequest', async () => { reached++ })
  t.after(() => server.close())
  const url = await server.listen({ port: 0, host: '127.0.0.1' })
  return { app: server, url, reached: () => reached }
}

const forged = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: 'x', exp: 9999999999 })}.${'A'.repeat(43)}`
const refusals: Record<string, OutgoingHttpHeaders> = {
  'no Authorization header': {},
  'an empty one': { authorization: '' },
  'another scheme': { authorization: 'Basic dXNlcjpwYXNz' },
  'a forged signature': { authorization: `Bearer ${forged}` },
  'a token signed with another secret': bearer(token({}, { secret: 'another-secret-that-is-32-bytes-or-more' })),
  'an expired token': bearer(token({}, { expiresIn: -1000 })),
  'a token too large': { authorization: `Bearer ${'a'.repeat(9000)}.b.c` },
  'two Authorization headers': { authorization: [`Bearer ${token()}`, `Bearer ${token()}`] }
}

test('gate: every refusal over HTTP is the auth hook\'s answer, and never reaches Fastify', async (t) => {
  const { app, url, reached } = await listening(t, { AUTH_FAILURE_LIMIT: '1000' })
  for (const [name, headers] of Object.entries(refusals)) {
    const real = await send(url, 'POST', '/update', { ...headers, 'x-request-id': `gate-${name.length}` }, '{"appName":"web"}')
    const hook = await app.inject({ method: 'POST', url: '/update', headers: { 'content-type': 'application/json', ...headers as Record<string, string> }, payload: '{"appName":"web"}' })
    assert.equal(real.status, 401, name)
    assert.equal(real.status, hook.statusCode, name)
    assert.deepEqual(JSON.parse(real.body), hook.json(), name)
    assert.equal(real.headers['content-type'], hook.headers['content-type'], name)
    assert.equal(real.headers['x-request-id'], `gate-${name.length}`, name)
  }
  // Both on the hook's path: inject, and a second Authorization header (Node merges it away from
  // `headers`, the gate counts raw headers, so it refused it itself too).
  assert.equal(reached(), Object.keys(refusals).length, 'only the injected requests reached Fastify')
  // Another route with a token, and a query string: refused by the gate as well.
  const listing = await send(url, 'GET', '/updates?limit=5', {})
  assert.equal(listing.status, 401)
  assert.match(listing.headers['x-request-id'] as string, /^[0-9a-f-]{36}$/)
  assert.equal(reached(), Object.keys(refusals).length)
})

test('gate: what is not exactly a token route goes to Fastify unchanged', async (t) => {
  const { url, reached } = await listening(t)
  assert.equal((await send(url, 'POST', '/update/', {}, '{}')).status, 404)
  assert.equal((await send(url, 'PUT', '/update', {}, '{}')).status, 404)
  assert.equal((await send(url, 'GET', '/updates/some-id', {})).status, 401)
  assert.equal((await send(url, 'GET', '/healthz', {})).status, 200)
  assert.equal(reached(), 4)
  // A good token passes the gate once: the hook takes the gate's decision (a 400 for the body).
  const good = await send(url, 'POST', '/update', bearer(), '{}')
  assert.equal(good.status, 400, good.body)
  assert.equal(reached(), 5)
})

test('gate: one limiter and one set of counters with the hook; the 429 carries Retry-After', async (t) => {
  const { app, url, reached } = await listening(t, { AUTH_FAILURE_LIMIT: '3' })
  for (let i = 0; i < 2; i++) assert.equal((await send(url, 'POST', '/update', {}, '{}')).status, 401)
  assert.equal(reached(), 0, 'refused by the gate')
  // The third failure comes through the hook (inject, from the same loopback address): the limit.
  assert.equal((await app.inject({ method: 'POST', url: '/update', remoteAddress: '127.0.0.1', payload: {} })).statusCode, 401)
  const limited = await send(url, 'POST', '/update', bearer(), '{}')
  assert.equal(limited.status, 429)
  assert.equal(JSON.parse(limited.body).code, 'CU_TOO_MANY_AUTH_FAILURES')
  assert.ok(Number(limited.headers['retry-after']) > 0, JSON.stringify(limited.headers))
  assert.equal(reached(), 1, 'only the injected request reached Fastify')
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  assert.match(metrics, /container_updater_auth_failures_total\{reason="missing"\} 3\n/)
  assert.match(metrics, /container_updater_auth_failures_total\{reason="rate_limited"\} 1\n/)
  assert.match(metrics, /http_requests_total\{method="POST",route="\/update",status_code="401"\} 3\n/)
  assert.match(metrics, /http_requests_total\{method="POST",route="\/update",status_code="429"\} 1\n/)
  assert.match(metrics, /http_request_duration_seconds_count\{method="POST",route="\/update",status_code="429"\} 1\n/)
})

test('gate: behind a trusted proxy the limit applies per forwarded client, as request.ip says', async (t) => {
  const { url, reached } = await listening(t, { AUTH_FAILURE_LIMIT: '2', TRUST_PROXY: '127.0.0.1' })
  const from = (client: string) => ({ 'x-forwarded-for': `203.0.113.9, ${client}` })
  for (let i = 0; i < 2; i++) assert.equal((await send(url, 'POST', '/update', from('198.51.100.1'), '{}')).status, 401)
  assert.equal((await send(url, 'POST', '/update', from('198.51.100.1'), '{}')).status, 429)
  assert.equal((await send(url, 'POST', '/update', from('198.51.100.2'), '{}')).status, 401)
  assert.equal(reached(), 0, 'all answered by the gate')
})

test('the gate\'s client address is Fastify\'s request.ip for every TRUST_PROXY form', async (t) => {
  for (const setting of ['false', 'true', '1', '2', '127.0.0.1', '10.0.0.0/8', 'loopback, 10.0.0.0/8']) {
    const app = await buildApp(testConfig({ TRUST_PROXY: setting }), { runner: new FakeDocker().runner })
    t.after(() => app.close())
    const ours = clientAddressOf(trustProxyOption(testConfig({ TRUST_PROXY: setting }).TRUST_PROXY))
    app.get('/ip-check', async (request) => ({ fastify: request.ip, ours: ours(request.raw) }))
    for (const forwarded of [undefined, '203.0.113.7', '203.0.113.7, 10.1.2.3', '10.1.2.3, 203.0.113.7, 10.0.0.1']) {
      const res = await app.inject({ method: 'GET', url: '/ip-check', remoteAddress: '127.0.0.1', headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded } })
      const { fastify, ours: gate } = res.json() as { fastify: string, ours: string }
      assert.equal(gate, fastify, `TRUST_PROXY=${setting}, X-Forwarded-For: ${forwarded ?? '(none)'}`)
    }
  }
})

test('gate: at debug level every refusal goes through Fastify and has its access line', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk: Buffer, _encoding, done) { lines.push(chunk.toString()); done() } })
  const app = await buildApp(testConfig({ LOG_LEVEL: 'debug' }), { runner: new FakeDocker().runner, loggerInstance: pino({ level: 'debug' }, stream) })
  const { url, reached } = await listening(t, {}, app)
  assert.equal((await send(url, 'POST', '/update', { authorization: `Bearer ${forged}` }, '{}')).status, 401)
  assert.equal(reached(), 1)
  const access = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.msg === 'request completed')
  assert.equal(access?.authFailure, 'signature', lines.join(''))
  assert.ok(!lines.join('').includes(forged.slice(-20)), 'the token is never logged')
})

test('gate: an identity-provider token is checked once, its verdict handed to the hook', async (t) => {
  const provider = await startProvider()
  t.after(() => provider.close())
  const { app, url, reached } = await listening(t, oidcEnv(provider, { rules: [{ claims: { repository: 'acme/web' }, services: ['web'] }] }))
  const good = await send(url, 'GET', '/updates', bearer(provider.sign(githubClaims())))
  assert.equal(good.status, 200, good.body)
  // Signed by a key the provider never published: the key fetch happens, the answer is the hook's.
  const forged = await send(url, 'GET', '/updates', bearer(provider.sign(githubClaims(), { key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey })))
  assert.equal(forged.status, 401, forged.body)
  assert.equal(reached(), 2, 'both went on to Fastify (the gate cannot answer while a key is fetched)')
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  assert.match(metrics, /container_updater_auth_failures_total\{reason="signature"\} 1\n/, 'one refusal, counted once')
})
