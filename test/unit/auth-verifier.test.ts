import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createSigner } from 'fast-jwt'
import { createTokenVerifier, type Verification } from '../../src/auth/verifier.ts'
import { SECRET, craftToken, nowSeconds, testConfig } from '../helper.ts'

const PREVIOUS = 'the-previous-secret-still-accepted-during-rotation'
const HEADER = { alg: 'HS256', typ: 'JWT' }

async function verifierFor (env: Record<string, string> = {}) {
  const verifier = await createTokenVerifier(testConfig({ JWT_SECRET_PREVIOUS: PREVIOUS, ...env }))
  return async (token: string): Promise<Verification> => verifier.verify(token)
}

const reasonOf = (v: Verification) => v.ok ? `ok:${v.principal.via}` : v.reason

test('every claim rule holds for the previous secret exactly as for the current one', async () => {
  const verify = await verifierFor({ JWT_ISSUER: 'ci.example', JWT_AUDIENCE: 'updater', JWT_MAX_LIFETIME: '3600' })
  const now = nowSeconds()
  const base = { sub: 'ci', iss: 'ci.example', aud: 'updater', iat: now, exp: now + 600 }
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['valid', {}, 'ok'],
    ['exp missing', { exp: undefined }, 'claims'],
    ['exp not a number', { exp: String(now + 600) }, 'claims'],
    ['expired', { exp: now - 60 }, 'expired'],
    ['expired within the clock tolerance', { exp: now - 2 }, 'ok'],
    ['nbf in the future', { nbf: now + 60 }, 'not_yet_valid'],
    ['nbf within the clock tolerance', { nbf: now + 2 }, 'ok'],
    ['iat in the future', { iat: now + 60 }, 'not_yet_valid'],
    ['iat not a number', { iat: 'yesterday' }, 'claims'],
    ['iss missing', { iss: undefined }, 'claims'],
    ['iss wrong', { iss: 'evil.example' }, 'claims'],
    ['aud missing', { aud: undefined }, 'claims'],
    ['aud wrong', { aud: 'other' }, 'claims'],
    ['aud among several', { aud: ['other', 'updater'] }, 'ok'],
    ['lifetime over JWT_MAX_LIFETIME', { exp: now + 7200 }, 'claims'],
    ['lifetime counted from now without iat', { iat: undefined, exp: now + 7200 }, 'claims'],
    ['services not an array', { services: 'web' }, 'claims'],
    ['services with a non-string', { services: ['web', 1] }, 'claims'],
    ['services with an empty name', { services: [''] }, 'claims'],
    ['services as names and globs', { services: ['web', 'api-*'] }, 'ok']
  ]
  for (const [via, key] of [['secret', SECRET], ['previous-secret', PREVIOUS]] as const) {
    for (const [name, claims, expected] of cases) {
      const result = await verify(await craftToken(HEADER, JSON.parse(JSON.stringify({ ...base, ...claims })), key))
      assert.equal(reasonOf(result), expected === 'ok' ? `ok:${via}` : expected, `${via}: ${name}`)
    }
  }
})

test('the pre-check refuses forgeries by signature; the library still judges what it lets through', async () => {
  const verify = await verifierFor()
  const good = { sub: 'ci', exp: nowSeconds() + 600 }
  const refused = async (token: string) => { const v = await verify(token); return v.ok ? 'ok' : `${v.reason}: ${v.message}` }
  assert.equal(await refused(await craftToken(HEADER, good, 'a-third-secret-nobody-configured-here')), 'signature: invalid signature')
  assert.equal(await refused(await craftToken(HEADER, good) + 'AA'), 'signature: invalid signature', 'a longer signature')
  assert.equal(await refused(`${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(good)).toString('base64url')}.`), 'signature: token is not signed')
  // Signed with our secret, so past the pre-check: fast-jwt refuses the algorithm and the header.
  assert.equal(await refused(await craftToken({ alg: 'RS256' }, good)), 'algorithm: token algorithm not allowed')
  assert.equal(await refused(await craftToken({ alg: 'HS384' }, good)), 'algorithm: token algorithm not allowed')
  assert.equal(await refused(await craftToken({ ...HEADER, crit: ['x-custom'], 'x-custom': 1 }, good)), 'malformed: token has an unsupported critical header')
  // HS384 with our secret is a different MAC: refused before the library.
  assert.equal(await refused(createSigner({ key: SECRET, algorithm: 'HS384' })(good)), 'signature: invalid signature')
  for (const garbage of ['x.y.z', 'a.b', '', 'e30.e30', `${Buffer.from('[]').toString('base64url')}.e30.AAAA`, 'not a token']) {
    assert.match(await refused(garbage), /^(malformed|signature)/, garbage)
  }
  assert.equal(await refused('x.y.z'), 'malformed: token is malformed')
  assert.equal(await refused('e30.e30.' + 'A'.repeat(43)), 'signature: invalid signature')
  assert.equal(await refused(await craftToken(HEADER, good)), 'ok')
  assert.equal(await refused(await craftToken({ ...HEADER }, { ...good, exp: 1e300 })), 'ok', 'a large finite exp is a number like any other')
})

test('refusals are values: no exception is thrown on the path of a forged or garbage token', async () => {
  const verifier = await createTokenVerifier(testConfig({ JWT_SECRET_PREVIOUS: PREVIOUS }))
  const forged = await craftToken(HEADER, { sub: 'ci', exp: nowSeconds() + 600 }, 'a-third-secret-nobody-configured-here')
  const { Error: RealError } = globalThis
  let constructed = 0
  // Every error V8 or the library would throw is built through these constructors.
  const counting = new Proxy(RealError, { construct (target, args) { constructed++; return Reflect.construct(target, args) } })
  globalThis.Error = counting as ErrorConstructor
  const origCapture = RealError.captureStackTrace
  RealError.captureStackTrace = (...args: Parameters<typeof origCapture>) => { constructed++; origCapture(...args) }
  try {
    for (const token of [forged, 'x.y.z', 'e30.e30.' + 'A'.repeat(43), `${Buffer.from('{"alg":"none"}').toString('base64url')}.e30.`]) {
      const result = verifier.verify(token)
      assert.ok(!(result instanceof Promise) && !result.ok)
    }
  } finally {
    globalThis.Error = RealError
    RealError.captureStackTrace = origCapture
  }
  assert.equal(constructed, 0)
})

const exec = promisify(execFile)

test('the verifiers are built once, not per previous-secret token', async () => {
  // In a process of its own, so that node:crypto is wrapped before fast-jwt takes its functions:
  // every fast-jwt verifier turns its secret into a KeyObject once, when it is built.
  const dir = mkdtempSync(join(tmpdir(), 'cu-once-'))
  writeFileSync(join(dir, 'count.cjs'), `const crypto = require('node:crypto'); const real = crypto.createSecretKey
globalThis.secretKeys = 0; crypto.createSecretKey = (...args) => { globalThis.secretKeys++; return real(...args) }\n`)
  writeFileSync(join(dir, 'run.mts'), `import { createTokenVerifier } from ${JSON.stringify(join(process.cwd(), 'src/auth/verifier.ts'))}
import { createHmac } from 'node:crypto'
const sign = (payload: object) => { const input = Buffer.from('{"alg":"HS256"}').toString('base64url') + '.' + Buffer.from(JSON.stringify(payload)).toString('base64url'); return input + '.' + createHmac('sha256', ${JSON.stringify(PREVIOUS)}).update(input).digest('base64url') }
const verifier = await createTokenVerifier({ JWT_SECRET: ${JSON.stringify(SECRET)}, JWT_SECRET_PREVIOUS: ${JSON.stringify(PREVIOUS)}, JWT_CLOCK_TOLERANCE: 5, OIDC_JWKS_PATH: '', OIDC_JWKS_TIMEOUT: 1000 })
const before = (globalThis as any).secretKeys
let accepted = 0
for (let i = 0; i < 50; i++) { const v = await verifier.verify(sign({ sub: 'ci-' + i, exp: Math.floor(Date.now() / 1000) + 600 })); if (v.ok && v.principal.via === 'previous-secret') accepted++ }
console.log(JSON.stringify({ accepted, keysWhileVerifying: (globalThis as any).secretKeys - before }))
`)
  const { stdout } = await exec(process.execPath, ['--require', join(dir, 'count.cjs'), '--import', 'tsx', join(dir, 'run.mts')], { cwd: process.cwd() })
  assert.deepEqual(JSON.parse(stdout), { accepted: 50, keysWhileVerifying: 0 })
})

test('the CLI verifies without loading Fastify', async () => {
  const token = createSigner({ key: SECRET, algorithm: 'HS256', expiresIn: 60_000 })({ sub: 'bot' })
  // A CommonJS preload reports, at exit, whether Fastify was ever required (it is a CJS package).
  const probe = join(mkdtempSync(join(tmpdir(), 'cu-probe-')), 'probe.cjs')
  writeFileSync(probe, "process.on('exit', () => process.stderr.write('fastify loaded: ' + Object.keys(require.cache).some((k) => k.includes('/node_modules/fastify/')) + '\\n'))\n")
  const { stdout, stderr } = await exec(process.execPath, ['--import', 'tsx', '--require', probe, 'src/bin.ts', 'verify', token], { env: { PATH: process.env.PATH ?? '', JWT_SECRET: SECRET } })
  assert.match(stdout, /^accepted: subject bot/)
  assert.match(stderr, /fastify loaded: false/)
})

test('the MAC pre-check compares bytes, as fast-jwt does', async () => {
  const verify = await verifierFor()
  const input = `${Buffer.from(JSON.stringify(HEADER)).toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'x', exp: nowSeconds() + 60 })).toString('base64url')}`
  const mac = createHmac('sha256', SECRET).update(input).digest()
  assert.equal(reasonOf(await verify(`${input}.${mac.toString('base64url')}`)), 'ok:secret')
  mac[0]! ^= 1
  assert.equal(reasonOf(await verify(`${input}.${mac.toString('base64url')}`)), 'signature')
})

test('forged tokens seen lately are refused from memory, alike; valid tokens never are', async () => {
  const verify = await verifierFor()
  const input = `${Buffer.from(JSON.stringify(HEADER)).toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'x', exp: nowSeconds() + 600 })).toString('base64url')}`
  const forged = (n: number) => `${input}.${createHmac('sha256', `wrong-${n}`).update(input).digest('base64url')}`
  const garbage = `${Buffer.from('not json').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.${'A'.repeat(43)}`
  const valid = await craftToken(HEADER, { sub: 'ok', exp: nowSeconds() + 600 })
  for (let round = 0; round < 2; round++) {
    assert.equal(reasonOf(await verify(forged(0))), 'signature')
    assert.equal(reasonOf(await verify(garbage)), 'malformed')
    assert.equal(reasonOf(await verify(valid)), 'ok:secret')
  }
  // More forgeries than are remembered: the first ones are forgotten, and refused again the long way.
  for (let n = 1; n <= 1500; n++) assert.equal(reasonOf(await verify(forged(n))), 'signature')
  assert.equal(reasonOf(await verify(forged(0))), 'signature')
  assert.equal(reasonOf(await verify(garbage)), 'malformed')
  assert.equal(reasonOf(await verify(valid)), 'ok:secret')
  // A token for the previous secret is not a forgery, whatever came before.
  const previous = createSigner({ key: PREVIOUS, algorithm: 'HS256', expiresIn: 600_000 })({ sub: 'old' })
  assert.equal(reasonOf(await verify(previous)), 'ok:previous-secret')
})
