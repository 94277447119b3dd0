import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { createSigner, createVerifier } from 'fast-jwt'
import { FakeDocker } from '../fake-docker.ts'
import { SECRET, bearer, build, postUpdate } from '../helper.ts'

const exec = promisify(execFile)
const run = (file: string, args: string[], env: Record<string, string>) =>
  exec(process.execPath, ['--import', 'tsx', file, ...args], { env: { PATH: process.env.PATH ?? '', ...env } })
    .then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }), (error: { code: number, stdout: string, stderr: string }) => error)

test('container-updater token prints a token the server accepts, scoped as asked', async (t) => {
  const { code, stdout } = await run('src/bin.ts', ['token', '--subject', 'deploy-bot', '--services', 'web,api-*', '--expires-in', '2h'], { JWT_SECRET: SECRET })
  assert.equal(code, 0)
  const jwt = stdout.trim()
  const claims = createVerifier({ key: SECRET, algorithms: ['HS256'] })(jwt)
  assert.equal(claims.sub, 'deploy-bot')
  assert.deepEqual(claims.services, ['web', 'api-*'])
  assert.ok(Math.abs(claims.exp - claims.iat - 7200) <= 1)

  const docker = new FakeDocker()
  docker.addService('web', '127.0.0.1:5000/web:latest')
  docker.addService('db', '127.0.0.1:5000/db:latest')
  const app = await build(t, {}, { runner: docker.runner })
  assert.equal((await postUpdate(app, { appName: 'web' }, bearer(jwt))).statusCode, 200)
  assert.equal((await postUpdate(app, { appName: 'db' }, bearer(jwt))).statusCode, 403)
})

test('the token command refuses bad input with one line', async () => {
  const noSubject = await run('src/bin.ts', ['token'], { JWT_SECRET: SECRET })
  assert.equal(noSubject.code, 2)
  assert.match(noSubject.stderr, /--subject NAME is required/)
  const badDuration = await run('src/bin.ts', ['token', '--subject', 'x', '--expires-in', 'forever'], { JWT_SECRET: SECRET })
  assert.equal(badDuration.code, 2)
  assert.match(badDuration.stderr, /--expires-in/)
  const shortSecret = await run('src/bin.ts', ['token', '--subject', 'x'], { JWT_SECRET: 'short' })
  assert.equal(shortSecret.code, 2)
  assert.equal(shortSecret.stderr.trim().split('\n').length, 1)
  assert.match(shortSecret.stderr, /JWT_SECRET must hold at least 32 bytes/)
})

test('the server refuses to start without a secret, in one line naming the variable', async () => {
  const { code, stderr } = await run('src/server.ts', [], { PORT: '0' })
  assert.equal(code, 1)
  assert.equal(stderr.trim(), 'container-updater: JWT_SECRET (or JWT_SECRET_FILE) is required')
})

test('container-updater verify explains acceptance, scope and rejection', async () => {
  const env = { JWT_SECRET: SECRET }
  const minted = (await run('src/bin.ts', ['token', '--subject', 'bot', '--services', 'web*', '--expires-in', '1h'], env)).stdout.trim()
  const ok = await run('src/bin.ts', ['verify', minted, '--service', 'web'], env)
  assert.equal(ok.code, 0, ok.stderr)
  assert.match(ok.stdout, /^accepted: subject bot, verified with secret, expires \d{4}-/m)
  assert.match(ok.stdout, /^scope: web\*$/m)
  assert.match(ok.stdout, /^web: allowed \(web is in the token's scope\)$/m)
  const other = await run('src/bin.ts', ['verify', minted, '--service', 'db'], env)
  assert.equal(other.code, 1)
  assert.match(other.stdout, /^db: forbidden/m)
  const expired = createSigner({ key: SECRET, algorithm: 'HS256' })({ sub: 'old', exp: Math.floor(Date.now() / 1000) - 60 })
  const rejected = await run('src/bin.ts', ['verify', expired], env)
  assert.equal(rejected.code, 1)
  assert.equal(rejected.stdout.trim(), 'rejected: token expired (expired)')
  const previous = await run('src/bin.ts', ['verify', minted], { JWT_SECRET: 'n'.repeat(40), JWT_SECRET_PREVIOUS: SECRET })
  assert.match(previous.stdout, /verified with previous-secret/)
})
