import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { FakeDocker } from '../fake-docker.ts'
import { SECRET, bearer, build, nowSeconds, postUpdate, token } from '../helper.ts'

const IMAGE = '127.0.0.1:5000/web:latest@sha256:' + 'a'.repeat(64)
const PREVIOUS = 'the-previous-secret-still-accepted-during-rotation'

async function setup (t: Parameters<typeof build>[0], env: Record<string, string> = {}) {
  const docker = new FakeDocker()
  docker.addService('web', IMAGE)
  const app = await build(t, { AUTH_FAILURE_LIMIT: '1000', JWT_SECRET_PREVIOUS: PREVIOUS, ...env }, { runner: docker.runner })
  return { app, docker }
}

/** HS256 over exactly these bytes: JSON.stringify can write neither 1e309 nor invalid UTF-8. */
function rawToken (header: string | Buffer, payload: string | Buffer, key = SECRET): string {
  const input = `${Buffer.from(header).toString('base64url')}.${Buffer.from(payload).toString('base64url')}`
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`
}

const HEADER = '{"alg":"HS256","typ":"JWT"}'

test('time claims that are not finite numbers are refused, with either secret', async (t) => {
  const { app, docker } = await setup(t)
  const exp = nowSeconds() + 600
  const payloads: Record<string, string> = {
    'exp 1e309 (Infinity)': '{"sub":"ci","exp":1e309}',
    'nbf -1e309': `{"sub":"ci","exp":${exp},"nbf":-1e309}`,
    'iat -1e309': `{"sub":"ci","exp":${exp},"iat":-1e309}`
  }
  for (const key of [SECRET, PREVIOUS]) {
    for (const [name, payload] of Object.entries(payloads)) {
      const res = await postUpdate(app, { appName: 'web' }, bearer(rawToken(HEADER, payload, key)))
      assert.equal(res.statusCode, 401, `${name}: ${res.body}`)
      assert.equal(res.json().code, 'CU_UNAUTHORIZED')
    }
  }
  assert.deepEqual(docker.calls, [])
  // The same claims as finite numbers are fine.
  assert.equal((await postUpdate(app, { appName: 'web' }, bearer(rawToken(HEADER, `{"sub":"ci","exp":${exp},"nbf":0,"iat":${nowSeconds()}}`)))).statusCode, 200)
})

test('a correctly signed header or payload that is not UTF-8 is refused', async (t) => {
  const { app, docker } = await setup(t)
  const exp = nowSeconds() + 600
  const bad = Buffer.from([0xff, 0xfe])
  const payload = Buffer.concat([Buffer.from('{"sub":"'), bad, Buffer.from(`","exp":${exp}}`)])
  const header = Buffer.concat([Buffer.from('{"alg":"HS256","x":"'), bad, Buffer.from('"}')])
  // An encoded surrogate (ED A0 80) is not UTF-8 either, though lenient decoders let it through.
  const surrogate = Buffer.concat([Buffer.from('{"sub":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from(`","exp":${exp}}`)])
  for (const key of [SECRET, PREVIOUS]) {
    for (const [name, jwt] of Object.entries({ payload: rawToken(HEADER, payload, key), header: rawToken(header, `{"sub":"ci","exp":${exp}}`, key), surrogate: rawToken(HEADER, surrogate, key) })) {
      const res = await postUpdate(app, { appName: 'web' }, bearer(jwt))
      assert.equal(res.statusCode, 401, `${name}: ${res.body}`)
      assert.match(res.json().message, /UTF-8/, name)
    }
  }
  assert.deepEqual(docker.calls, [])
  assert.equal((await postUpdate(app, { appName: 'web' }, bearer(rawToken(HEADER, `{"sub":"wéb ✓","exp":${exp}}`)))).statusCode, 200, 'real UTF-8 is fine')
})

const refused = (app: Awaited<ReturnType<typeof setup>>['app'], remoteAddress: string, forwardedFor?: string) => app.inject({
  method: 'POST',
  url: '/update',
  remoteAddress,
  headers: { 'content-type': 'application/json', authorization: 'Bearer x.y.z', ...(forwardedFor !== undefined && { 'x-forwarded-for': forwardedFor }) },
  payload: '{"appName":"web"}'
})

test('TRUST_PROXY as a hop count: a forged leftmost X-Forwarded-For cannot pick the rate-limit key', async (t) => {
  const { app } = await setup(t, { TRUST_PROXY: '1', AUTH_FAILURE_LIMIT: '3' })
  // The proxy (127.0.0.1) appends the address it saw; whatever the client wrote comes before it.
  for (let i = 0; i < 3; i++) assert.equal((await refused(app, '127.0.0.1', `198.51.100.${i}, 203.0.113.7`)).statusCode, 401)
  const limited = await refused(app, '127.0.0.1', '198.51.100.99, 203.0.113.7')
  assert.equal(limited.statusCode, 429, 'the real client is limited whatever it forges')
  assert.equal((await refused(app, '127.0.0.1', '203.0.113.8')).statusCode, 401, 'another client is not')
})

test('TRUST_PROXY as a list of proxy addresses: only those hops are trusted', async (t) => {
  const { app } = await setup(t, { TRUST_PROXY: '127.0.0.1, 10.0.0.0/8', AUTH_FAILURE_LIMIT: '2' })
  // 10.1.2.3 is a trusted inner proxy, so the client is the next address to the left.
  for (let i = 0; i < 2; i++) assert.equal((await refused(app, '127.0.0.1', `198.51.100.${i}, 203.0.113.7, 10.1.2.3`)).statusCode, 401)
  assert.equal((await refused(app, '127.0.0.1', '1.1.1.1, 203.0.113.7, 10.1.2.3')).statusCode, 429)
  // A connection from an untrusted address is the client itself, whatever it forwards.
  assert.equal((await refused(app, '192.0.2.1', '203.0.113.9')).statusCode, 401)
  assert.equal((await refused(app, '192.0.2.1', '203.0.113.10')).statusCode, 401)
  assert.equal((await refused(app, '192.0.2.1', '203.0.113.11')).statusCode, 429)
})

test('failed authentications are counted per IPv6 /64, and IPv4-mapped addresses as IPv4', async (t) => {
  const { app } = await setup(t, { AUTH_FAILURE_LIMIT: '2' })
  assert.equal((await refused(app, '2001:db8:1:2::1')).statusCode, 401)
  assert.equal((await refused(app, '2001:db8:1:2:ffff::99')).statusCode, 401)
  assert.equal((await refused(app, '2001:0db8:0001:0002:abcd::7')).statusCode, 429, 'same /64, another address')
  assert.equal((await refused(app, '2001:db8:1:3::1')).statusCode, 401, 'the next /64 is another client')

  assert.equal((await refused(app, '::ffff:192.0.2.5')).statusCode, 401)
  assert.equal((await refused(app, '192.0.2.5')).statusCode, 401)
  assert.equal((await refused(app, '::ffff:192.0.2.5')).statusCode, 429, 'the mapped address is the IPv4 client')
  const ok = await app.inject({ method: 'POST', url: '/update', remoteAddress: '::ffff:192.0.2.6', headers: { 'content-type': 'application/json', ...bearer(token()) }, payload: '{"appName":"web"}' })
  assert.equal(ok.statusCode, 200)
})
