import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { bearer, build } from '../helper.ts'
import { createService, freePort, pushImage, swarmSkip, uniqueName, until } from '../swarm-fixtures.ts'
import { checkCycle, landsOn, watchLabels, watchOf } from '../watch-fixtures.ts'

/**
 * The watcher against a registry that wants a password (Debian's docker-registry with htpasswd,
 * started here on a free loopback port): its HEADs and tag listings use the credentials `docker
 * login` stored in the updater's own Docker config (DOCKER_CONFIG), the same the CLI passes to
 * Swarm with --with-registry-auth; without them the service is in state `error`, nothing changes.
 */
const exec = promisify(execFile)
const user = 'cu-test'
const password = 'cu-registry-test-pw'
// bcrypt of `password`, as in test/swarm/registry-digest.test.ts.
const passwordHash = '$2b$05$Zu1/RE0GU0h7p0pm.xGlm.8oAcmt2RCIhdfGF9K1s2r9t9O4hNcyS'

test('swarm: watch through an htpasswd registry with the updater\'s Docker credentials: semver and digest roll out', { skip: swarmSkip }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cu-watch-auth-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const addr = `127.0.0.1:${await freePort()}`
  await writeFile(join(dir, 'htpasswd'), `${user}:${passwordHash}\n`)
  await writeFile(join(dir, 'config.yml'), JSON.stringify({
    version: 0.1,
    log: { level: 'warn', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: join(dir, 'data') } },
    http: { addr },
    auth: { htpasswd: { realm: 'cu-test', path: join(dir, 'htpasswd') } }
  }))
  const registry = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' })
  t.after(async () => { if (registry.exitCode === null) { registry.kill('SIGTERM'); await once(registry, 'exit') } })
  await until('the registry', async () => (await fetch(`http://${addr}/v2/`).then((r) => r.status, () => 0)) === 401 ? true : undefined, 30_000)

  // The updater's Docker config, and the test's own pushes, through one `docker login`.
  const previous = process.env.DOCKER_CONFIG
  process.env.DOCKER_CONFIG = join(dir, 'docker')
  t.after(() => { if (previous === undefined) delete process.env.DOCKER_CONFIG; else process.env.DOCKER_CONFIG = previous })
  const login = exec('docker', ['login', '--username', user, '--password-stdin', addr])
  login.child.stdin?.end(password)
  await login
  assert.ok(JSON.parse(await readFile(join(dir, 'docker', 'config.json'), 'utf8')).auths[addr].auth, 'docker login stored the credentials')

  const repo = uniqueName('cu-watch-auth')
  const pushed: Record<string, string> = {}
  for (const tag of ['1.2.3', '1.2.4', '1.3.0', '2.0.0', 'stable']) pushed[tag] = (await pushImage(repo, tag, 'good', addr)).digest
  const image = (tag: string): string => `${addr}/${repo}:${tag}`
  const minor = uniqueName('cu-wa-minor')
  const digest = uniqueName('cu-wa-digest')
  await Promise.all([
    createService(t, minor, image('1.2.3'), ['--with-registry-auth', ...watchLabels('true', 'semver:minor')]),
    createService(t, digest, image('stable'), ['--with-registry-auth', ...watchLabels('true', 'digest')])
  ])
  const moved = (await pushImage(repo, 'stable', 'good', addr)).digest

  // Without the credentials: state `error` naming the refusal, nothing updated.
  process.env.DOCKER_CONFIG = join(dir, 'no-docker')
  const blind = await build(t, { WATCH: 'true', WATCH_INTERVAL: '1h' })
  await checkCycle(blind, [minor, digest])
  for (const name of [minor, digest]) {
    const view = await watchOf(blind, name)
    assert.equal(view?.state, 'error', `${name}: ${JSON.stringify(view)}`)
    assert.match(view?.message ?? '', /401|auth|credential|denied/i)
  }
  assert.equal(((await blind.inject({ method: 'GET', url: `/updates?service=${minor}`, headers: bearer() })).json().updates as unknown[]).length, 0)
  await blind.close()
  process.env.DOCKER_CONFIG = join(dir, 'docker')

  const app = await build(t, { WATCH: 'true', WATCH_INTERVAL: '1h', UPDATE_TIMEOUT: '180' })
  await checkCycle(app, [minor, digest])
  await landsOn(minor, (img) => img === `${image('1.3.0')}@${pushed['1.3.0']}`, '1.3.0')
  await landsOn(digest, (img) => img === `${image('stable')}@${moved}`, 'the moved digest')
  const record = (await app.inject({ method: 'GET', url: `/updates?service=${minor}`, headers: bearer() })).json().updates[0] as Record<string, unknown>
  assert.equal(record.reason, 'semver:minor 1.2.3 → 1.3.0')
  assert.equal(record.trigger, 'watch')
  await checkCycle(app, [minor, digest])
  assert.equal((await watchOf(app, minor))?.state, 'up_to_date')
  assert.equal((await watchOf(app, digest))?.state, 'up_to_date')
})
