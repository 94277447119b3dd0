import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { classifyFailure, dockerEnv, dockerReason, execFileRunner } from '../../src/docker/runner.ts'
import { registryAuthCheck } from '../../src/docker/registry-auth.ts'

const cli = { bin: 'docker', dockerHost: undefined }
const failure = (stderr: string) => ({ timedOut: false, exitCode: 1, stderr })

// A stand-in CLI that echoes its arguments (or hangs, warns, fails, names its parent).
const binDir = mkdtempSync(join(tmpdir(), 'cu-bin-'))
const fakeDocker = join(binDir, 'fake-docker')
writeFileSync(fakeDocker, [
  '#!/bin/sh',
  'if [ "$1" = hang ]; then exec sleep 30; fi',
  'if [ "$1" = warn ]; then echo "a warning" >&2; fi',
  'if [ "$EXIT" != 0 ]; then echo "failed $*" >&2; fi',
  'printf "%s|" "$@"',
  'exit "$EXIT"',
  ''
].join('\n'), { mode: 0o755 })

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

test('the Docker CLI never sees the JWT secret', () => {
  const env = dockerEnv({ PATH: '/bin', JWT_SECRET: 'x', JWT_SECRET_FILE: '/run/secrets/x', HOME: '/root' }, 'unix:///tmp/d.sock')
  assert.deepEqual(env, { PATH: '/bin', HOME: '/root', DOCKER_HOST: 'unix:///tmp/d.sock' })
})

test('execFileRunner passes arguments as an array and kills a hung command at its timeout', async () => {
  const run = execFileRunner({ bin: fakeDocker, timeoutMs: 300, dockerHost: 'unix:///x.sock', env: { ...process.env, EXIT: '0' } })
  assert.equal(await run(['service', 'inspect', '--', '$(id); rm -rf /']), 'service|inspect|--|$(id); rm -rf /|')
  let warned = ''
  assert.equal(await run(['warn'], { onStderr: (stderr) => { warned = stderr } }), 'warn|')
  assert.equal(warned, 'a warning\n')
  const started = Date.now()
  await assert.rejects(run(['hang']), (f: { timedOut: boolean, spawnCode?: string }) => f.timedOut && f.spawnCode === undefined)
  assert.ok(Date.now() - started < 10_000, 'the hung child was killed')
  const failing = execFileRunner({ bin: fakeDocker, timeoutMs: 5000, env: { ...process.env, EXIT: '3' } })
  await assert.rejects(failing(['x']), (f: { exitCode: number, stderr: string }) => f.exitCode === 3 && f.stderr === 'failed x\n')
  await assert.rejects(execFileRunner({ bin: join(binDir, 'missing'), timeoutMs: 1000 })(['x']), (f: { spawnCode: string }) => f.spawnCode === 'ENOENT')
})

test('execFileRunner: shutdown kills the calls still running, as a timeout (504, not 503), and refuses new ones', async () => {
  const calls = new AbortController()
  const run = execFileRunner({ bin: fakeDocker, timeoutMs: 30_000, env: { ...process.env, EXIT: '0' }, signal: calls.signal })
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
