import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync, createHmac } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import { FakeDocker } from '../fake-docker.ts'
import { SECRET, b64url, bearer, build, craftToken, nowSeconds, postUpdate, token } from '../helper.ts'

const IMAGE = '127.0.0.1:5000/web:latest@sha256:' + 'a'.repeat(64)

async function setup (t: Parameters<typeof build>[0], env: Record<string, string> = {}) {
  const docker = new FakeDocker()
  docker.addService('web', IMAGE)
  docker.addService('api', IMAGE)
  docker.addService('shop_shop', IMAGE)
  const app = await build(t, { AUTH_FAILURE_LIMIT: '1000', ...env }, { runner: docker.runner })
  return { app, docker }
}

const exp = () => nowSeconds() + 600
const good = () => ({ sub: 'ci', exp: exp() })

test('attack tokens are answered 401 and reach no Docker call', async (t) => {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
  const header = { alg: 'HS256', typ: 'JWT' }
  const signedWith = (alg: 'HS384' | 'HS512') => createSigner({ key: SECRET, algorithm: alg })(good())
  const flip = (jwt: string) => jwt.slice(0, -2) + (jwt.at(-2) === 'A' ? 'B' : 'A') + jwt.at(-1)
  const attacks: Record<string, Record<string, string | string[]>> = {
    'no header': {},
    'empty header': { authorization: '' },
    'scheme only': { authorization: 'Bearer' },
    garbage: { authorization: 'Bearer not-a-token' },
    'Basic credentials': { authorization: 'Basic ' + Buffer.from('admin:admin').toString('base64') },
    'two Authorization headers': { authorization: [`Bearer ${token()}`, `Bearer ${token()}`] },
    'alg none': { authorization: `Bearer ${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(good())}.` },
    'alg None': { authorization: `Bearer ${b64url({ alg: 'None' })}.${b64url(good())}.` },
    'wrong secret': bearer(token({}, { secret: 'another-secret-of-at-least-32-bytes!!' })),
    'flipped signature': bearer(flip(token())),
    expired: bearer(await craftToken(header, { sub: 'ci', exp: nowSeconds() - 3600 })),
    'no exp': bearer(await craftToken(header, { sub: 'ci' })),
    'nbf in the future': bearer(await craftToken(header, { ...good(), nbf: nowSeconds() + 3600 })),
    'iat in the future': bearer(await craftToken(header, { ...good(), iat: nowSeconds() + 3600 })),
    'HS384 (not allowed)': bearer(signedWith('HS384')),
    'HS512 (not allowed)': bearer(signedWith('HS512')),
    'HS256 signed with an RSA public key': bearer(await craftToken(header, good(), publicPem)),
    'RS256 header on an HMAC signature': bearer(await craftToken({ alg: 'RS256' }, good())),
    'unknown crit header': bearer(await craftToken({ ...header, crit: ['x-custom'], 'x-custom': 1 }, good())),
    'payload []': bearer(await craftToken(header, [])),
    'payload null': bearer(await craftToken(header, null)),
    'payload string': bearer(await craftToken(header, 'hello')),
    'non-JSON header': { authorization: `Bearer ${b64url('not json')}.${b64url(good())}.${createHmac('sha256', SECRET).update(`${b64url('not json')}.${b64url(good())}`).digest('base64url')}` },
    'non-JSON payload': bearer(await craftToken(header, '{"sub":')),
    'kid path traversal, empty key': bearer(await craftToken({ ...header, kid: '../../../../dev/null' }, good(), '')),
    'kid SQL trick': bearer(await craftToken({ ...header, kid: "x' UNION SELECT 'key" }, good(), 'key')),
    'jku elsewhere': bearer(await craftToken({ ...header, jku: 'http://127.0.0.1:1/jwks.json', kid: 'k' }, good(), 'attacker-key-attacker-key-attacker-key')),
    'x5u elsewhere': bearer(await craftToken({ ...header, x5u: 'http://127.0.0.1:1/cert.pem' }, good(), 'attacker-key-attacker-key-attacker-key')),
    'embedded jwk': bearer(await craftToken({ ...header, jwk: { kty: 'oct', k: b64url('attacker') } }, good(), 'attacker')),
    'services not an array': bearer(token({ services: 'web' })),
    'services with a non-string': bearer(token({ services: ['web', 1] })),
    'a 12 KB token': bearer(token({ pad: 'x'.repeat(12 * 1024) }))
  }
  const { app, docker } = await setup(t)
  for (const [name, headers] of Object.entries(attacks)) {
    const res = await postUpdate(app, { appName: 'web' }, headers as Record<string, string>)
    assert.equal(res.statusCode, 401, `${name}: ${res.body}`)
    const body = res.json()
    assert.equal(body.code, 'CU_UNAUTHORIZED', name)
    assert.match(body.message, /^Unauthorized: /, name)
    assert.doesNotMatch(res.body, /\bat .*\.(ts|js):\d+/, `${name}: no stack trace`)
  }
  assert.deepEqual(docker.calls, [], 'no attack reached Docker')
})

test('issuer and audience are enforced when configured', async (t) => {
  const { app } = await setup(t, { JWT_ISSUER: 'ci.example', JWT_AUDIENCE: 'updater' })
  const header = { alg: 'HS256', typ: 'JWT' }
  const cases: Array<[Record<string, unknown>, number]> = [
    [{ iss: 'ci.example', aud: 'updater' }, 200],
    [{ iss: 'ci.example', aud: ['other', 'updater'] }, 200],
    [{ aud: 'updater' }, 401],
    [{ iss: 'evil.example', aud: 'updater' }, 401],
    [{ iss: ['ci.example', 'evil.example'], aud: 'updater' }, 401],
    [{ iss: 'ci.example', aud: 'other' }, 401],
    [{ iss: 'ci.example' }, 401]
  ]
  for (const [claims, status] of cases) {
    const res = await postUpdate(app, { appName: 'web' }, bearer(await craftToken(header, { ...good(), ...claims })))
    assert.equal(res.statusCode, status, `${JSON.stringify(claims)}: ${res.body}`)
  }
})

test('small clock skew is tolerated', async (t) => {
  const { app } = await setup(t)
  const header = { alg: 'HS256', typ: 'JWT' }
  const res = await postUpdate(app, { appName: 'web' }, bearer(await craftToken(header, { ...good(), nbf: nowSeconds() + 2, iat: nowSeconds() + 2 })))
  assert.equal(res.statusCode, 200, res.body)
})

test('the services claim scopes a token: 403 and no Docker call outside it', async (t) => {
  const { app, docker } = await setup(t)
  const forbidden = await postUpdate(app, { appName: 'web' }, bearer(token({ services: ['api', 'db-*'] })))
  assert.equal(forbidden.statusCode, 403)
  assert.equal(forbidden.json().code, 'CU_FORBIDDEN')
  const unknown = await postUpdate(app, { appName: 'nosuch' }, bearer(token({ services: ['api'] })))
  assert.equal(unknown.statusCode, 403, 'a scoped token cannot probe which services exist')
  assert.deepEqual(docker.calls, [])

  assert.equal((await postUpdate(app, { appName: 'api' }, bearer(token({ services: ['api'] })))).statusCode, 200)
  assert.equal((await postUpdate(app, { appName: 'web' }, bearer(token({ services: ['w*'] })))).statusCode, 200)
  // The stack fallback: appName "shop" resolves to shop_shop, which the glob allows.
  assert.equal((await postUpdate(app, { appName: 'shop' }, bearer(token({ services: ['shop_*'] })))).statusCode, 200)
  assert.equal((await postUpdate(app, { appName: 'shop' }, bearer(token({ services: ['shop'] })))).statusCode, 200)
  assert.equal((await postUpdate(app, { appName: 'web' }, bearer(token()))).statusCode, 200, 'no claim: any service')
})

test('JWT_REQUIRE_SCOPE refuses tokens without a services claim', async (t) => {
  const { app, docker } = await setup(t, { JWT_REQUIRE_SCOPE: 'true' })
  const res = await postUpdate(app, { appName: 'web' }, bearer(token()))
  assert.equal(res.statusCode, 403)
  assert.match(res.json().message, /no services claim/)
  assert.deepEqual(docker.calls, [])
  assert.equal((await postUpdate(app, { appName: 'web' }, bearer(token({ services: ['web'] })))).statusCode, 200)
})

test('repeated failed authentications from one address get 429 with Retry-After', async (t) => {
  const { app, docker } = await setup(t, { AUTH_FAILURE_LIMIT: '3', AUTH_FAILURE_WINDOW: '60' })
  for (let i = 0; i < 3; i++) assert.equal((await postUpdate(app, { appName: 'web' }, { authorization: 'Bearer x.y.z' })).statusCode, 401)
  const limited = await postUpdate(app, { appName: 'web' }, { authorization: 'Bearer x.y.z' })
  assert.equal(limited.statusCode, 429)
  assert.equal(limited.json().code, 'CU_TOO_MANY_AUTH_FAILURES')
  const retryAfter = Number(limited.headers['retry-after'])
  assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${retryAfter}`)
  assert.equal((await postUpdate(app, { appName: 'web' })).statusCode, 429, 'the address is limited, whatever it sends')
  const other = await app.inject({ method: 'POST', url: '/update', remoteAddress: '127.0.0.9', headers: { 'content-type': 'application/json', ...bearer() }, payload: '{"appName":"web"}' })
  assert.equal(other.statusCode, 200, 'other addresses are not')
  assert.equal(docker.updates([...docker.services.values()][0]!.id), 1)
  const metrics = await app.inject('/metrics')
  assert.match(metrics.body, /container_updater_auth_failures_total\{reason="malformed"\} 3/)
  assert.match(metrics.body, /container_updater_auth_failures_total\{reason="rate_limited"\} 2/)
})
