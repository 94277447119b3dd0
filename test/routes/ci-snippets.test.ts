import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { FakeDocker } from '../fake-docker.ts'
import { build, token } from '../helper.ts'
import { runStep } from '../unit/action-harness.ts'

/**
 * README's CI snippets, read from the markdown (so they cannot drift) and run against the server
 * over real HTTP: a completed update passes; a rolled-back one fails the job, shows the answer's
 * body with Docker's reason, and is sent once (no retry rolls a crashing image out again).
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const readme = readFileSync(`${ROOT}README.md`, 'utf8')
const section = readme.slice(readme.indexOf('## Use from CI'), readme.indexOf('## Tests'))
const blocks = (lang: string) => [...section.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!)

const snippets: Record<string, string> = {
  curl: blocks('sh').find((b) => b.includes('$UPDATER_URL/update'))!,
  gitlab: (parse(blocks('yaml').find((b) => b.includes('stage: deploy'))!) as { deploy: { script: string[] } }).deploy.script.join('\n')
}

async function server (t: TestContext, outcome: 'completed' | 'rollback_completed') {
  const docker = new FakeDocker()
  const web = docker.addService('web', `127.0.0.1:5000/web:latest@sha256:${'a'.repeat(64)}`, { taskError: 'task: non-zero exit (3)' })
  web.outcomes.push(outcome)
  const app = await build(t, {}, { runner: docker.runner })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, updates: () => docker.updates(web.id) }
}

const run = async (script: string, env: Record<string, string>) => await new Promise<{ code: number, stdout: string }>((resolve) => {
  execFile('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 }, (error, stdout) => {
    resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout })
  })
})

for (const [name, script] of Object.entries(snippets)) {
  test(`README's ${name} snippet: completed passes; rolled back fails once, showing Docker's reason`, async (t) => {
    assert.ok(script !== undefined && script.includes('curl'), `README shows the ${name} snippet`)
    assert.doesNotMatch(script, /--retry/)
    for (const outcome of ['completed', 'rollback_completed'] as const) {
      const updater = await server(t, outcome)
      const result = await run(script, { UPDATER_URL: updater.url, UPDATER_TOKEN: token(), CI_COMMIT_SHORT_SHA: 'v2' })
      if (outcome === 'completed') {
        assert.equal(result.code, 0, result.stdout)
        assert.match(result.stdout, /"status":"completed"/)
      } else {
        assert.notEqual(result.code, 0, result.stdout)
        assert.match(result.stdout, /"status":"rolled_back"/)
        assert.match(result.stdout, /non-zero exit \(3\)/)
      }
      assert.equal(updater.updates(), 1, `${name}: one update, no retry`)
    }
  })
}

test('README\'s GitHub Actions snippet: its inputs run the action against the server', async (t) => {
  const snippet = parse(blocks('yaml').find((b) => b.includes('/container-updater@v1'))!) as { steps: Array<{ with: Record<string, string> }> }
  const inputs = snippet.steps[0]!.with
  for (const outcome of ['completed', 'rollback_completed'] as const) {
    const updater = await server(t, outcome)
    // The snippet's OIDC audience needs GitHub's token service: the minted token stands in for it.
    const { audience: _oidc, ...rest } = inputs
    const result = await runStep({ ...rest, url: updater.url, token: token(), 'poll-interval': '0.02' })
    assert.equal(result.code, outcome === 'completed' ? 0 : 1, result.stdout)
    if (outcome !== 'completed') assert.match(result.stdout, /rolled_back[\s\S]*non-zero exit \(3\)/)
    assert.equal(updater.updates(), 1)
  }
})

test('no snippet in README.md or docs/ retries POST /update or hides its failure body', () => {
  for (const file of ['README.md', 'docs/API.md', 'docs/WEBHOOKS.md', 'docs/OPERATIONS.md']) {
    const text = readFileSync(`${ROOT}${file}`, 'utf8')
    for (const m of text.matchAll(/curl [^\n]*(?:\\\n[^\n]*)*/g)) {
      if (!/\/update"?\s|\/update"?$|-X POST/.test(m[0])) continue
      assert.doesNotMatch(m[0], /--retry/, `${file}: ${m[0]}`)
      assert.doesNotMatch(m[0], /curl -f|\s-fsS/, `${file}: -f hides the answer's body; use --fail-with-body: ${m[0]}`)
    }
  }
})
