import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, startUpdater, type Reply, type Seen } from './action-harness.ts'

/**
 * The curl loop docs/WEBHOOKS.md gives users who cannot use the action, run as printed (with a
 * shorter sleep) against a stand-in updater: it must survive proxy hiccups and end on final states.
 */
const doc = readFileSync(join(ROOT, 'docs', 'WEBHOOKS.md'), 'utf8')
const section = doc.slice(doc.indexOf('## Waiting from a shell'))
const script = /```sh\n([\s\S]*?)```/.exec(section)![1]!.replace('sleep 5', 'sleep 0.05')
const missing = ['curl', 'jq'].filter((tool) => { try { execFileSync('sh', ['-c', `command -v ${tool}`]); return false } catch { return true } })
const skip = missing.length > 0 ? `needs ${missing.join(' and ')}` : false

const ID = '0b7e3c6a-8f7e-4c1e-9a55-2d7c1c6c2f10'
const record = (status: string) => ({ updateId: ID, appName: 'web', service: 'web', status, statusUrl: `/updates/${ID}`, message: status === 'rolled_back' ? 'rollback completed: task: non-zero exit (3)' : undefined })

async function runLoop (polls: Reply[], args: string[]): Promise<{ code: number, stdout: string, stderr: string, seen: Seen[] }> {
  let i = 0
  const updater = await startUpdater((seen) => seen.method === 'POST' ? { status: 202, body: record('queued') } : polls[Math.min(i++, polls.length - 1)]!)
  try {
    const result = await new Promise<{ code: number, stdout: string, stderr: string }>((resolve) => {
      execFile('bash', ['-c', script, 'deploy.sh', ...args], { env: { PATH: process.env.PATH ?? '', UPDATER_URL: updater.url, UPDATER_TOKEN: 'tok' }, timeout: 30_000 },
        (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }))
    })
    return { ...result, seen: updater.seen }
  } finally {
    await updater.close()
  }
}

test('docs: the shell loop sends wait:false, rides out 502 and a dropped connection, and exits 0 on completed', { skip }, async () => {
  const result = await runLoop([{ status: 502, body: 'Bad Gateway' }, 'drop', { status: 200, body: record('updating') }, { status: 200, body: record('completed') }], ['web', 'v2'])
  assert.equal(result.code, 0, result.stderr)
  assert.deepEqual(result.seen[0]!.body, { appName: 'web', wait: false, tag: 'v2' })
  assert.equal(result.seen.filter((s) => s.path === `/updates/${ID}` && s.authorization === 'Bearer tok').length, 4)
  assert.match(result.stdout, /"status": "completed"/)
})

test('docs: the shell loop exits 1 on rolled_back, printing Docker\'s reason', { skip }, async () => {
  const result = await runLoop([{ status: 200, body: record('rolled_back') }], ['web'])
  assert.equal(result.code, 1)
  assert.match(result.stderr, /non-zero exit \(3\)/)
})
