import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { buildApp } from '../../src/app.ts'
import { FakeDocker } from '../fake-docker.ts'
import { b64url, bearer, testConfig, token } from '../helper.ts'
import { githubClaims, oidcEnv, startProvider } from '../oidc-provider.ts'

/**
 * Refusals of bad tokens are Fastify's (the auth plugin's synchronous onRequest hook sends a
 * pre-serialised body): over real HTTP they must be the answers app.inject shows, every global hook
 * added later sees them, nothing past the refusal runs (no body parsing, validation or handler),
 * and the limiter, counters and metrics are one.
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

/**
 * The app listening on loopback, with two counts: the requests a global onRequest hook added after
 * the app was built saw (every one: no answer bypasses Fastify's hooks), and those that got past
 * authentication (a preValidation hook: a refused request never gets there).
 */
async function listening (t: TestContext, env: Record<string, string> = {}, app?: FastifyInstance): Promise<{ app: FastifyInstance, url: string, seen: () => number, reached: () => number }> {
  const server = app ?? await buildApp(testConfig(env), { runner: new FakeDocker().runner })
  let seen = 0
  let reached = 0
  server.addHook('onRequest', async () => { seen++ })
  server.addHook('preValidation', async () => { reached++ })
  t.after(() => server.close())
  const url = await server.listen({ port: 0, host: '127.0.0.1' })
  return { app: server, url, seen: () => seen, reached: () => reached }
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
  // Node sends both lines for an array (OutgoingHttpHeaders types authorization as one string).
  'two Authorization headers': { authorization: [`Bearer ${token()}`, `Bearer ${token()}`] } as unknown as OutgoingHttpHeaders
}

test('refusals: every refusal over HTTP is the one inject shows, seen by global hooks, refused before validation', async (t) => {
  const { app, url, seen, reached } = await listening(t, { AUTH_FAILURE_LIMIT: '1000' })
  for (const [name, headers] of Object.entries(refusals)) {
    const real = await send(url, 'POST', '/update', { ...headers, 'x-request-id': `gate-${name.length}` }, '{"appName":"web"}')
    const hook = await app.inject({ method: 'POST', url: '/update', headers: { 'content-type': 'application/json', ...headers as Record<string, string> }, payload: '{"appName":"web"}' })
    assert.equal(real.status, 401, name)
    assert.equal(real.status, hook.statusCode, name)
    assert.deepEqual(JSON.parse(real.body), hook.json(), name)
    assert.equal(real.headers['content-type'], hook.headers['content-type'], name)
    assert.equal(real.headers['x-request-id'], `gate-${name.length}`, name)
  }
  // Every request, over HTTP and injected, passed the global hook; none got past the refusal (a
  // second Authorization header is counted in raw headers: Node keeps only the first in `headers`).
  assert.equal(seen(), 2 * Object.keys(refusals).length, 'every refusal passed the global onRequest hook')
  assert.equal(reached(), 0, 'no refused request reached validation')
  // Another route with a token, and a query string: refused the same way.
  const listing = await send(url, 'GET', '/updates?limit=5', {})
  assert.equal(listing.status, 401)
  assert.match(listing.headers['x-request-id'] as string, /^[0-9a-f-]{36}$/)
  assert.equal(seen(), 2 * Object.keys(refusals).length + 1)
  assert.equal(reached(), 0)
})

test('refusals: other paths and methods get their own answers; a good token goes on to validation', async (t) => {
  const { app, url, seen, reached } = await listening(t)
  assert.equal((await send(url, 'POST', '/update/', {}, '{}')).status, 404)
  assert.equal((await send(url, 'PUT', '/update', {}, '{}')).status, 404)
  assert.equal((await send(url, 'GET', '/updates/some-id', {})).status, 401)
  assert.equal((await send(url, 'GET', '/healthz', {})).status, 200)
  assert.equal(seen(), 4)
  // The 404s and /healthz need no token and are validated; the parametric route was refused first.
  assert.equal(reached(), 3)
  // A good token is checked once and goes on (a 400 for the body).
  const good = await send(url, 'POST', '/update', bearer(), '{}')
  assert.equal(good.status, 400, good.body)
  assert.equal(seen(), 5)
  assert.equal(reached(), 4)
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  assert.match(metrics, /container_updater_auth_failures_total\{reason="missing"\} 1\n/, 'one refusal, counted once')
})

test('refusals: one limiter and one set of counters for HTTP and inject; the 429 carries Retry-After', async (t) => {
  const { app, url, reached } = await listening(t, { AUTH_FAILURE_LIMIT: '3' })
  for (let i = 0; i < 2; i++) assert.equal((await send(url, 'POST', '/update', {}, '{}')).status, 401)
  assert.equal(reached(), 0, 'refused before validation')
  // The third failure comes through inject, from the same loopback address: the limit.
  assert.equal((await app.inject({ method: 'POST', url: '/update', remoteAddress: '127.0.0.1', payload: {} })).statusCode, 401)
  const limited = await send(url, 'POST', '/update', bearer(), '{}')
  assert.equal(limited.status, 429)
  assert.equal(JSON.parse(limited.body).code, 'CU_TOO_MANY_AUTH_FAILURES')
  assert.ok(Number(limited.headers['retry-after']) > 0, JSON.stringify(limited.headers))
  assert.equal(reached(), 0, 'the 429 is sent before validation too')
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  assert.match(metrics, /container_updater_auth_failures_total\{reason="missing"\} 3\n/)
  assert.match(metrics, /container_updater_auth_failures_total\{reason="rate_limited"\} 1\n/)
  assert.match(metrics, /http_requests_total\{method="POST",route="\/update",status_code="401"\} 3\n/)
  assert.match(metrics, /http_requests_total\{method="POST",route="\/update",status_code="429"\} 1\n/)
  assert.match(metrics, /http_request_duration_seconds_count\{method="POST",route="\/update",status_code="429"\} 1\n/)
})

test('refusals: behind a trusted proxy the limit applies per forwarded client, as request.ip says', async (t) => {
  const { url, reached } = await listening(t, { AUTH_FAILURE_LIMIT: '2', TRUST_PROXY: '127.0.0.1' })
  const from = (client: string) => ({ 'x-forwarded-for': `203.0.113.9, ${client}` })
  for (let i = 0; i < 2; i++) assert.equal((await send(url, 'POST', '/update', from('198.51.100.1'), '{}')).status, 401)
  assert.equal((await send(url, 'POST', '/update', from('198.51.100.1'), '{}')).status, 429)
  assert.equal((await send(url, 'POST', '/update', from('198.51.100.2'), '{}')).status, 401)
  assert.equal(reached(), 0, 'all refused before validation')
})

test('the limiter counts failures by Fastify\'s request.ip for every TRUST_PROXY form', async (t) => {
  for (const setting of ['false', 'true', '1', '2', '127.0.0.1', '10.0.0.0/8', 'loopback, 10.0.0.0/8']) {
    const app = await buildApp(testConfig({ TRUST_PROXY: setting, AUTH_FAILURE_LIMIT: '1' }), { runner: new FakeDocker().runner })
    t.after(() => app.close())
    app.get('/ip-check', async (request) => ({ ip: request.ip }))
    const limited = new Set<string>()
    for (const forwarded of [undefined, '203.0.113.7', '203.0.113.7, 10.1.2.3', '10.1.2.3, 203.0.113.7, 10.0.0.1']) {
      const headers = forwarded === undefined ? {} : { 'x-forwarded-for': forwarded }
      const { ip } = (await app.inject({ method: 'GET', url: '/ip-check', remoteAddress: '127.0.0.1', headers })).json() as { ip: string }
      const refused = await app.inject({ method: 'POST', url: '/update', remoteAddress: '127.0.0.1', headers, payload: {} })
      // With a limit of 1, the first failure of an address limits it: its next request is a 429.
      assert.equal(refused.statusCode, limited.has(ip) ? 429 : 401, `TRUST_PROXY=${setting}, X-Forwarded-For: ${forwarded ?? '(none)'}, request.ip ${ip}`)
      limited.add(ip)
    }
  }
})

test('refusals: at debug level every refusal has its access line, and the token is not in it', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk: Buffer, _encoding, done) { lines.push(chunk.toString()); done() } })
  const app = await buildApp(testConfig({ LOG_LEVEL: 'debug' }), { runner: new FakeDocker().runner, loggerInstance: pino({ level: 'debug' }, stream) })
  const { url, seen, reached } = await listening(t, {}, app)
  assert.equal((await send(url, 'POST', '/update', { authorization: `Bearer ${forged}` }, '{}')).status, 401)
  assert.equal(seen(), 1)
  assert.equal(reached(), 0)
  const access = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.msg === 'request completed')
  assert.equal(access?.authFailure, 'signature', lines.join(''))
  assert.equal(typeof access?.reqId, 'string', 'the lazy child logger carries the request id')
  assert.ok(!lines.join('').includes(forged.slice(-20)), 'the token is never logged')
})

test('refusals: an identity-provider token is checked once, also while its key is fetched', async (t) => {
  const provider = await startProvider()
  t.after(() => provider.close())
  const { app, url, reached } = await listening(t, oidcEnv(provider, { rules: [{ claims: { repository: 'acme/web' }, services: ['web'] }] }))
  const good = await send(url, 'GET', '/updates', bearer(provider.sign(githubClaims())))
  assert.equal(good.status, 200, good.body)
  // Signed by a key the provider never published: the key fetch happens, the answer is the hook's.
  const forged = await send(url, 'GET', '/updates', bearer(provider.sign(githubClaims(), { key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey })))
  assert.equal(forged.status, 401, forged.body)
  assert.equal(reached(), 1, 'the good one went on to validation, the forged one was refused after the key fetch')
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  assert.match(metrics, /container_updater_auth_failures_total\{reason="signature"\} 1\n/, 'one refusal, counted once')
})
