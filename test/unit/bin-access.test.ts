import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { createVerifier } from 'fast-jwt'
import { SECRET } from '../helper.ts'

const exec = promisify(execFile)
const run = (args: string[]) =>
  exec(process.execPath, ['--import', 'tsx', 'src/bin.ts', ...args], { env: { PATH: process.env.PATH ?? '', JWT_SECRET: SECRET } })
    .then(({ stdout, stderr }) => ({ code: 0, stdout, stderr }), (error: { code: number, stdout: string, stderr: string }) => error)

test('container-updater token --access mints the level asked; verify reports it; no --access is deploy', async () => {
  const read = (await run(['token', '--subject', 'viewer', '--access', 'read'])).stdout.trim()
  assert.equal(createVerifier({ key: SECRET, algorithms: ['HS256'] })(read).access, 'read')
  assert.match((await run(['verify', read])).stdout, /^access: read$/m)
  const plain = (await run(['token', '--subject', 'ci'])).stdout.trim()
  assert.equal(createVerifier({ key: SECRET, algorithms: ['HS256'] })(plain).access, undefined)
  assert.match((await run(['verify', plain])).stdout, /^access: deploy$/m)
})

test('container-updater token refuses an unknown access level in one line', async () => {
  const bad = await run(['token', '--subject', 'x', '--access', 'root'])
  assert.equal(bad.code, 2)
  assert.equal(bad.stderr.trim(), 'container-updater: --access must be one of read, deploy, admin (got "root")')
})
