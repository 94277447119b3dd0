import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { classifyFailure, dockerEnv, dockerReason, execFileRunner } from '../../src/docker/runner.ts'
import { waitFor } from '../wait.ts'
import { GUARD_GRACE_MS, helperExecArgv, spawnerRunner } from '../../src/docker/spawner.ts'
import { toServiceState, type RawService } from '../../src/docker/service-state.ts'
import { registryAuthCheck } from '../../src/docker/registry-auth.ts'

const cli = { bin: 'docker', dockerHost: undefined }
const failure = (stderr: string) => ({ timedOut: false, exitCode: 1, stderr })

// A stand-in CLI that echoes its arguments (or hangs, warns, fails, names its parent).
const binDir = mkdtempSync(join(tmpdir(), 'cu-bin-'))
const fakeDocker = join(binDir, 'fake-docker')
writeFileSync(fakeDocker, [
  '#!/bin/sh',
  'if [ "$1" = hang ]; then exec sleep 30; fi',
  'if [ "$1" = ppid ]; then echo "$PPID"; exit 0; fi',
  'if [ "$1" = cat ]; then exec cat "$2"; fi',
  'if [ "$1" = warn ]; then echo "a warning" >&2; fi',
  'if [ "$DOCKER_FAKE_EXIT" != 0 ]; then echo "failed $*" >&2; fi',
  'printf "%s|" "$@"',
  'exit "$DOCKER_FAKE_EXIT"',
  ''
].join('\n'), { mode: 0o755 })

const childrenOf = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number)
  } catch {
    return []
  }
}
const alive = (pid: number): boolean => {
  try {
    // A zombie is dead too: killed, waiting for a parent to reap it.
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))
  } catch {
    return false
  }
}

test('Docker failures are classified into actionable errors', () => {
  const cases: Array<[string, string, number]> = [
    ['Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?', 'CU_DOCKER_UNAVAILABLE', 503],
    ['error during connect: Get "http://proxy:2375/v1.45/info": dial tcp: lookup proxy: no such host', 'CU_DOCKER_UNAVAILABLE', 503],
    ['Error response from daemon: This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.', 'CU_NOT_SWARM_MANAGER', 503],
    ['Error response from daemon: rpc error: code = Unknown desc = update out of sequence', 'CU_OUT_OF_SEQUENCE', 409],
    ['Error response from daemon: something else broke', 'CU_DOCKER_FAILED', 502]
  ]
  for (const [stderr, code, status] of cases) {
    const error = classifyFailure(failure(stderr), cli) as Error & { code: string, statusCode: number }
    assert.equal(error.code, code, stderr)
    assert.equal(error.statusCode, status, stderr)
  }
  const timeout = classifyFailure({ timedOut: true, exitCode: null, stderr: '' }, cli) as Error & { code: string }
  assert.equal(timeout.code, 'CU_DOCKER_TIMEOUT')
  const missing = classifyFailure({ timedOut: false, spawnCode: 'ENOENT', stderr: '' }, { bin: '/nope/docker' })
  assert.match(missing.message, /\/nope\/docker/)
})

test('permission denied on the socket names the group id to add', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cu-sock-'))
  const fakeSocket = join(dir, 'docker.sock')
  writeFileSync(fakeSocket, '')
  const error = classifyFailure(failure(`permission denied while trying to connect to the Docker daemon socket at unix://${fakeSocket}: connect: permission denied`), { bin: 'docker', dockerHost: `unix://${fakeSocket}` }) as Error & { code: string, statusCode: number }
  assert.equal(error.code, 'CU_DOCKER_PERMISSION_DENIED')
  assert.equal(error.statusCode, 503)
  assert.match(error.message, new RegExp(`--group-add ${statSync(fakeSocket).gid}`))
})

test('dockerReason keeps the first line without the daemon prefix', () => {
  assert.equal(dockerReason('Error response from daemon: no such image\nmore'), 'no such image')
  assert.equal(dockerReason(''), 'no error output')
})

test('the Docker CLI gets an allow-list of the environment: what it and its credential helpers read, no secret', () => {
  const given = 'PATH=/bin HOME=/root JWT_SECRET=x JWT_SECRET_FILE=/run/secrets/x GITHUB_WEBHOOK_SECRET=g DOCKERHUB_WEBHOOK_TOKEN=d NOTIFY_SECRET=n ' +
    'GITHUB_WEBHOOK_SECRET_FILE=/run/secrets/g DOCKERHUB_WEBHOOK_TOKEN_FILE=/run/secrets/d ' +
    'NOTIFY_URLS=https://u:p@h/x ANY_NEW_SECRET=s DOCKER_CONFIG=/c DOCKER_HOST=tcp://old:2375 https_proxy=http://p:3128 NO_PROXY=localhost ' +
    'LC_ALL=C.UTF-8 LANG=C TMPDIR=/t AWS_REGION=eu-west-1'
  const env = dockerEnv(Object.fromEntries(given.split(' ').map((pair) => pair.split(/=(.*)/s).slice(0, 2))), 'unix:///tmp/d.sock')
  assert.deepEqual(Object.keys(env).sort(), ['AWS_REGION', 'DOCKER_CONFIG', 'DOCKER_HOST', 'HOME', 'LANG', 'LC_ALL', 'NO_PROXY', 'PATH', 'TMPDIR', 'https_proxy'])
  assert.equal(env.DOCKER_HOST, 'unix:///tmp/d.sock')
  assert.equal(env.https_proxy, 'http://p:3128')
})

// The same contract, whether the CLI is started here or by the spawn helper (DOCKER_SPAWN_HELPER).
for (const [name, runner] of [['execFileRunner', execFileRunner], ['spawnerRunner', spawnerRunner]] as const) {
  test(`${name} passes arguments as an array and kills a hung command at its timeout`, async () => {
    const run = runner({ bin: fakeDocker, timeoutMs: 300, dockerHost: 'unix:///x.sock', env: { ...process.env, DOCKER_FAKE_EXIT: '0' } })
    assert.equal(await run(['service', 'inspect', '--', '$(id); rm -rf /']), 'service|inspect|--|$(id); rm -rf /|')
    let warned = ''
    assert.equal(await run(['warn'], { onStderr: (stderr) => { warned = stderr } }), 'warn|')
    assert.equal(warned, 'a warning\n')
    const started = Date.now()
    await assert.rejects(run(['hang']), (f: { timedOut: boolean, spawnCode?: string }) => f.timedOut && f.spawnCode === undefined)
    assert.ok(Date.now() - started < 10_000, 'the hung child was killed')
    const failing = runner({ bin: fakeDocker, timeoutMs: 5000, env: { ...process.env, DOCKER_FAKE_EXIT: '3' } })
    await assert.rejects(failing(['x']), (f: { exitCode: number, stderr: string }) => f.exitCode === 3 && f.stderr === 'failed x\n')
    await assert.rejects(runner({ bin: join(binDir, 'missing'), timeoutMs: 1000 })(['x']), (f: { spawnCode: string }) => f.spawnCode === 'ENOENT')
    // An argument execFile refuses before starting anything fails that call only.
    await assert.rejects(run(['a\u0000b']), (f: { spawnCode: string }) => f.spawnCode === 'ERR_INVALID_ARG_VALUE')
    assert.equal(await run(['after']), 'after|', 'the next call still runs')
  })

  test(`${name}: shutdown kills the calls still running, as a timeout (504, not 503), and refuses new ones`, async () => {
    const calls = new AbortController()
    const run = runner({ bin: fakeDocker, timeoutMs: 30_000, env: { ...process.env, DOCKER_FAKE_EXIT: '0' }, signal: calls.signal })
    assert.equal(await run(['ready']), 'ready|', 'the runner works before shutdown')
    const hung = run(['hang'])
    await sleep(200)
    const started = Date.now()
    calls.abort()
    for (const call of [hung, run(['late'])]) {
      await assert.rejects(call, (f: Error & { code: string }) => {
        const error = classifyFailure(f, { bin: fakeDocker }) as Error & { code: string }
        return error.code === 'CU_DOCKER_TIMEOUT'
      })
    }
    assert.ok(Date.now() - started < 5000)
  })
}

test('spawnerRunner: the helper is a process of its own without the JWT secret; when it dies, its calls end as timeouts (a write may have landed), its CLI processes are killed, and the next call starts a new helper', async () => {
  const run = spawnerRunner({ bin: fakeDocker, timeoutMs: 30_000, env: { ...process.env, DOCKER_FAKE_EXIT: '0', JWT_SECRET: 'x'.repeat(32) } })
  const helper = Number(await run(['ppid']))
  assert.ok(helper > 0 && helper !== process.pid, 'the CLI is started by another process')
  assert.doesNotMatch(readFileSync(`/proc/${helper}/environ`, 'utf8'), /JWT_SECRET/)
  const hung = run(['hang'])
  await waitFor('the CLI to start', () => childrenOf(helper).length > 0, 5)
  const cli = childrenOf(helper)[0]!
  process.kill(helper, 'SIGKILL')
  await assert.rejects(hung, (f: unknown) => {
    const error = classifyFailure(f, { bin: fakeDocker }) as Error & { code: string }
    return error.code === 'CU_DOCKER_TIMEOUT' && /exited while the call ran/.test(error.message)
  })
  await waitFor('the dead helper\'s CLI to be killed', () => !alive(cli), 5)
  const next = Number(await run(['ppid']))
  assert.ok(next > 0 && next !== helper, 'a new helper started')
})

test('spawnerRunner: calls made while the helper is dying all settle, and none crashes the process', async () => {
  const run = spawnerRunner({ bin: fakeDocker, timeoutMs: 30_000, env: { ...process.env, DOCKER_FAKE_EXIT: '0' } })
  const crashes: unknown[] = []
  const record = (error: unknown): void => { crashes.push(error) }
  process.on('uncaughtException', record)
  try {
    for (let round = 0; round < 10; round++) {
      const helper = Number(await run(['ppid']))
      process.kill(helper, 'SIGKILL')
      // Calls in the same tick and in the next ones, while the channel closes and before 'exit'.
      // Each outcome is taken at once: a call may be refused before the next batch is made.
      const four = (): Array<Promise<PromiseSettledResult<string>>> => Array.from({ length: 4 }, async () => (await Promise.allSettled([run(['x'])]))[0]!)
      const calls = four()
      await sleep(0)
      calls.push(...four())
      await sleep(1)
      calls.push(...four())
      for (const outcome of await Promise.all(calls)) {
        if (outcome.status === 'fulfilled') assert.equal(outcome.value, 'x|')
        else assert.ok(['CU_DOCKER_UNAVAILABLE', 'CU_DOCKER_TIMEOUT'].includes((classifyFailure(outcome.reason, { bin: fakeDocker }) as Error & { code: string }).code), String(outcome.reason))
      }
      await sleep(50)
    }
    assert.deepEqual(crashes, [])
    assert.equal(await run(['after']), 'after|', 'a new helper serves the next call')
  } finally {
    process.off('uncaughtException', record)
  }
})

test('spawnerRunner: a helper that hangs is killed a little after the call\'s timeout, and the next call gets a new one', async () => {
  const run = spawnerRunner({ bin: fakeDocker, timeoutMs: 200, env: { ...process.env, DOCKER_FAKE_EXIT: '0' } })
  const helper = Number(await run(['ppid']))
  process.kill(helper, 'SIGSTOP')
  const started = Date.now()
  await assert.rejects(run(['x']), (f: unknown) => {
    const error = classifyFailure(f, { bin: fakeDocker }) as Error & { code: string }
    return error.code === 'CU_DOCKER_TIMEOUT' && /did not answer in time and was killed/.test(error.message)
  })
  assert.ok(Date.now() - started >= 200 + GUARD_GRACE_MS - 50)
  await waitFor('the hung helper to be killed', () => !alive(helper), 5)
  const next = Number(await run(['ppid']))
  assert.ok(next > 0 && next !== helper)
})

test('spawnerRunner: a helper that cannot be started is named as such, not as a Docker CLI that cannot run', async () => {
  // One environment string over Linux's 128 KiB limit: the fork fails at once (E2BIG).
  const run = spawnerRunner({ bin: fakeDocker, timeoutMs: 30_000, env: { ...process.env, DOCKER_FAKE_EXIT: '0', DOCKER_FAKE_HUGE: 'x'.repeat(256 * 1024) } })
  const failure = await run(['version']).then(() => assert.fail('the call ran'), (f: unknown) => f)
  const error = classifyFailure(failure, { bin: fakeDocker }) as Error & { code: string, statusCode: number }
  assert.equal(error.code, 'CU_DOCKER_UNAVAILABLE')
  assert.equal(error.statusCode, 503)
  assert.match(error.message, /the process that starts Docker CLI calls could not be started or reached \(E2BIG\)/)
})

test('the spawn helper inherits module loaders and heap sizes only', () => {
  assert.deepEqual(helperExecArgv(['--import', 'tsx', '--test-timeout=60000', '--max-semi-space-size=4']), ['--import', 'tsx', '--max-semi-space-size=4'])
  assert.deepEqual(helperExecArgv(['--env-file=.env', '--inspect-port', '9230', '-e', 'x', '--cpu-prof-dir', 'd', '--watch-path', 'src', '-r', 'agent', '--import=tsx']), ['-r', 'agent', '--import=tsx'])
})

test('spawnerRunner: on shutdown the helper kills the CLI processes still running and exits', async () => {
  const calls = new AbortController()
  const run = spawnerRunner({ bin: fakeDocker, timeoutMs: 30_000, env: { ...process.env, DOCKER_FAKE_EXIT: '0' }, signal: calls.signal })
  const helper = Number(await run(['ppid']))
  const hung = run(['hang']).catch(() => 'stopped')
  await waitFor('the CLI to start', () => childrenOf(helper).length > 0, 5)
  const cli = childrenOf(helper)[0]!
  calls.abort()
  assert.equal(await hung, 'stopped')
  await waitFor('the CLI to be killed', () => !alive(cli), 5)
  await waitFor('the helper to exit', () => !alive(helper), 5)
})

test('spawnerRunner: a listing asked with trim "services" comes back with only what a ServiceState is made of; the same states', async () => {
  const fixture = join(import.meta.dirname, '../fixtures/service-inspect.json')
  const whole = readFileSync(fixture, 'utf8')
  const run = spawnerRunner({ bin: fakeDocker, timeoutMs: 30_000, env: { ...process.env, DOCKER_FAKE_EXIT: '0' } })
  const trimmed = await run(['cat', fixture], { trim: 'services' })
  assert.ok(trimmed.length * 5 < whole.length, `${trimmed.length} of ${whole.length} bytes sent back`)
  assert.deepEqual((JSON.parse(trimmed) as RawService[]).map(toServiceState), (JSON.parse(whole) as RawService[]).map(toServiceState))
  assert.equal(await run(['cat', fixture]), whole, 'untrimmed unless asked')
})

test('--with-registry-auth only with credentials for the image registry', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cu-dockercfg-'))
  const file = join(dir, 'config.json')
  const check = registryAuthCheck(file)
  assert.equal(check('ghcr.io/org/app:v1'), false, 'no config file')
  writeFileSync(file, JSON.stringify({ auths: { 'ghcr.io': { auth: 'x' }, 'https://index.docker.io/v1/': { auth: 'y' } } }))
  assert.equal(check('ghcr.io/org/app:v1'), true)
  assert.equal(check('nginx:1'), true)
  assert.equal(check('127.0.0.1:5000/app:latest'), false)
  writeFileSync(file, JSON.stringify({ credHelpers: { '127.0.0.1:5000': 'pass' } }))
  assert.equal(check('127.0.0.1:5000/app:latest'), true)
  writeFileSync(file, JSON.stringify({ credsStore: 'desktop' }))
  assert.equal(check('quay.io/x:y'), true)
  writeFileSync(file, '{not json')
  assert.equal(check('quay.io/x:y'), false)
})
