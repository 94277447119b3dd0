import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileRunner } from '../../src/docker/runner.ts'
import { spawnerRunner } from '../../src/docker/spawner.ts'

// A DOCKER_BIN that records its own environment and its parent's (the spawn helper, or the
// updater), read from /proc, then runs the real CLI against the test Swarm.
const dir = mkdtempSync(join(tmpdir(), 'cu-env-'))
const wrapper = join(dir, 'docker')
writeFileSync(wrapper, [
  '#!/bin/sh',
  `tr '\\0' '\\n' < /proc/$$/environ > "${dir}/cli.$$"`,
  `tr '\\0' '\\n' < /proc/$PPID/environ > "${dir}/parent.$$"`,
  `echo $PPID > "${dir}/ppid.$$"`,
  `echo $$ > "${dir}/last"`,
  'exec docker "$@"',
  ''
].join('\n'), { mode: 0o755 })
test.after(() => rmSync(dir, { recursive: true, force: true }))

const SECRETS = {
  JWT_SECRET: 'jwt-secret-value-0123456789abcdef0123',
  GITHUB_WEBHOOK_SECRET: 'github-secret-value',
  DOCKERHUB_WEBHOOK_TOKEN: 'dockerhub-token-value',
  GITEA_WEBHOOK_SECRET: 'gitea-secret-value',
  QUAY_WEBHOOK_TOKEN: 'quay-token-value',
  NOTIFY_SECRET: 'notify-secret-value',
  NOTIFY_URLS: 'https://user:notify-password@127.0.0.1:9/x'
}
const env = { ...process.env, ...SECRETS }

const lastRun = (): { cli: string, parent: string, ppid: number } => {
  const pid = readFileSync(join(dir, 'last'), 'utf8').trim()
  return {
    cli: readFileSync(join(dir, `cli.${pid}`), 'utf8'),
    parent: readFileSync(join(dir, `parent.${pid}`), 'utf8'),
    ppid: Number(readFileSync(join(dir, `ppid.${pid}`), 'utf8'))
  }
}

const assertClean = (environ: string, what: string): void => {
  for (const [name, value] of Object.entries(SECRETS)) {
    assert.ok(!environ.includes(value), `${what} holds the value of ${name}`)
    assert.ok(!environ.split('\n').some((line) => line.startsWith(`${name}=`)), `${what} holds ${name}`)
  }
  assert.match(environ, /^PATH=/m, `${what} keeps PATH`)
}

test('faults: the spawn helper and the Docker CLI it starts hold none of the updater\'s secrets, and the CLI still reaches the Swarm', async () => {
  const run = spawnerRunner({ bin: wrapper, timeoutMs: 30_000, env })
  const info = await run(['info', '--format', '{{.Swarm.LocalNodeState}}'])
  assert.equal(info.trim(), 'active')
  const { cli, parent, ppid } = lastRun()
  assert.notEqual(ppid, process.pid, 'the CLI was started by the helper')
  assertClean(cli, 'the CLI\'s environment')
  assertClean(parent, 'the spawn helper\'s environment')
})

test('faults: the Docker CLI started in the updater holds none of its secrets, and still reaches the Swarm', async () => {
  const run = execFileRunner({ bin: wrapper, timeoutMs: 30_000, env })
  const info = await run(['info', '--format', '{{.Swarm.LocalNodeState}}'])
  assert.equal(info.trim(), 'active')
  const { cli, ppid } = lastRun()
  assert.equal(ppid, process.pid)
  assertClean(cli, 'the CLI\'s environment')
})
