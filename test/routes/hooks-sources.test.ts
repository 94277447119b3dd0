import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { buildApp, type AppOptions } from '../../src/app.ts'
import { loggerOptions } from '../../src/server.ts'
import type { PushEvent, PushOrigin } from '../../src/hooks/events.ts'
import { redactRequestUrl } from '../../src/hooks/redact.ts'
import { FakeDocker } from '../fake-docker.ts'
import { bearer, testConfig, token } from '../helper.ts'
import { dockerhubPush, fixture, githubHeaders, githubPackage } from '../unit/hooks-payloads.ts'

const GITEA_SECRET = 'gitea-webhook-secret-0123'
const QUAY_TOKEN = 'quay-' + 'q'.repeat(40)
const GITHUB_SECRET = 'github-webhook-secret'

/** The real app with every source configured (by environment, as operators do) and a recording onPush. */
async function setup (t: TestContext, env: Record<string, string> = {}, appOptions: AppOptions = {}) {
  const calls: Array<{ events: PushEvent[], origin: PushOrigin }> = []
  const app = await buildApp(testConfig({ GITEA_WEBHOOK_SECRET: GITEA_SECRET, QUAY_WEBHOOK_TOKEN: QUAY_TOKEN, GITHUB_WEBHOOK_SECRET: GITHUB_SECRET, ...env }), {
    runner: new FakeDocker().runner,
    ...appOptions,
    onPush: (events: PushEvent[], origin: PushOrigin) => { calls.push({ events, origin }) }
  })
  t.after(() => app.close())
  await app.ready()
  return { app, calls }
}

const post = (app: Awaited<ReturnType<typeof setup>>['app'], url: string, payload: string, headers: Record<string, string>) =>
  app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...headers }, payload })

const giteaHeaders = (raw: string, { secret = GITEA_SECRET, forgejo = false } = {}): Record<string, string> => {
  const signature = createHmac('sha256', secret).update(raw).digest('hex')
  return forgejo
    ? { 'x-forgejo-event': 'package', 'x-forgejo-signature': signature, 'x-gitea-event': 'package', 'x-gitea-signature': signature, 'x-forgejo-delivery': 'f-1' }
    : { 'x-gitea-event': 'package', 'x-gitea-signature': signature, 'x-gitea-delivery': 'g-1' }
}

test('acr: our bearer token in its custom headers; the fixture is one push, a delete is 202 ignored with its reason', async (t) => {
  const { app, calls } = await setup(t)
  const raw = JSON.stringify(fixture('acr-push.json'))
  assert.equal((await post(app, '/hooks/acr', raw, {})).statusCode, 401)
  const res = await post(app, '/hooks/acr', raw, bearer(token({ sub: 'acr', services: ['web'] })))
  assert.equal(res.statusCode, 202, res.body)
  assert.deepEqual(res.json(), { accepted: 1, ignored: 0, ignoredReasons: [], duplicate: 0 })
  assert.deepEqual(calls[0]!.events.map((e) => `${e.registry}/${e.repository}:${e.tag}`), ['myregistry.azurecr.io/hello-world:v1'])
  assert.deepEqual(calls[0]!.origin, { source: 'acr', subject: 'acr', services: ['web'] })
  const deleted = await post(app, '/hooks/acr', JSON.stringify(fixture('acr-delete.json')), bearer())
  assert.deepEqual(deleted.json(), { accepted: 0, ignored: 1, ignoredReasons: [{ reason: 'not-a-push', count: 1 }], duplicate: 0 })
  assert.equal((await post(app, '/hooks/acr', '{"events": []}', bearer())).statusCode, 400)
  assert.equal(calls.length, 1)
})

test('gitea and forgejo: the hex HMAC of the body is the credential; missing or wrong is 401 and nothing is handed over', async (t) => {
  const { app, calls } = await setup(t)
  const raw = JSON.stringify(fixture('gitea-package-created.json'))
  const { 'x-gitea-signature': _s, ...unsigned } = giteaHeaders(raw)
  const missing = await post(app, '/hooks/gitea', raw, unsigned)
  assert.equal(missing.statusCode, 401)
  assert.match(missing.json().message, /missing X-Gitea-Signature/)
  assert.equal((await post(app, '/hooks/gitea', raw, giteaHeaders(raw, { secret: 'not-the-secret-at-all' }))).statusCode, 401)
  assert.equal((await post(app, '/hooks/gitea', JSON.stringify(JSON.parse(raw), null, 1), giteaHeaders(raw))).statusCode, 401, 'the exact bytes are signed')
  assert.equal(calls.length, 0)
  const res = await post(app, '/hooks/gitea', raw, giteaHeaders(raw))
  assert.equal(res.statusCode, 202, res.body)
  assert.deepEqual(calls[0]!.events.map((e) => `${e.registry}/${e.repository}:${e.tag}`), ['localhost:3000/user1/giteacontainer:latest'])
  assert.deepEqual(calls[0]!.origin, { source: 'gitea' })
  // Forgejo's redelivery of the same signed body (its own headers and delivery id) is the same event.
  const forgejo = await post(app, '/hooks/gitea', raw, giteaHeaders(raw, { forgejo: true }))
  assert.deepEqual(forgejo.json(), { accepted: 0, ignored: 0, ignoredReasons: [], duplicate: 1 })
  const npm = JSON.stringify({ ...(fixture('gitea-package-created.json') as { package: object }), package: { ...(fixture('gitea-package-created.json') as { package: object }).package, type: 'npm' } })
  assert.deepEqual((await post(app, '/hooks/gitea', npm, giteaHeaders(npm))).json(), { accepted: 0, ignored: 1, ignoredReasons: [{ reason: 'not-a-container', count: 1 }], duplicate: 0 })
  // Gitea can post application/x-www-form-urlencoded: refused, the set-up asks for JSON.
  assert.equal((await post(app, '/hooks/gitea', raw, { ...giteaHeaders(raw), 'content-type': 'application/x-www-form-urlencoded' })).statusCode, 415)
  assert.equal(calls.length, 1)
})

test('quay: the URL token is the credential; every updated tag is an event; a build notification is ignored', async (t) => {
  const { app, calls } = await setup(t)
  const raw = JSON.stringify(fixture('quay-repo-push-sample.json'))
  for (const wrong of [QUAY_TOKEN.slice(0, -1), 'x'.repeat(QUAY_TOKEN.length)]) assert.equal((await post(app, `/hooks/quay/${wrong}`, raw, {})).statusCode, 401)
  const res = await post(app, `/hooks/quay/${QUAY_TOKEN}`, raw, {})
  assert.deepEqual(res.json(), { accepted: 2, ignored: 0, ignoredReasons: [], duplicate: 0 })
  assert.deepEqual(calls[0]!.events.map((e) => `${e.registry}/${e.repository}:${e.tag}`), ['quay.io/mynamespace/repository:latest', 'quay.io/mynamespace/repository:foo'])
  const build = JSON.stringify({ repository: 'mynamespace/repository', docker_url: 'quay.io/mynamespace/repository', build_id: 'b-1', docker_tags: ['latest'] })
  assert.deepEqual((await post(app, `/hooks/quay/${QUAY_TOKEN}`, build, {})).json(), { accepted: 0, ignored: 1, ignoredReasons: [{ reason: 'not-a-push', count: 1 }], duplicate: 0 })
  assert.equal(calls.length, 1)
})

test('zot: bearer token from the sink credentials, registry from the sink address; without ?registry= a 400 that says so', async (t) => {
  const { app, calls } = await setup(t)
  const { headers, body } = fixture('zot-image-updated.json') as { headers: Record<string, string>, body: unknown }
  const raw = JSON.stringify(body)
  assert.equal((await post(app, '/hooks/zot?registry=zot.example.com', raw, headers)).statusCode, 401)
  const noRegistry = await post(app, '/hooks/zot', raw, { ...headers, ...bearer() })
  assert.equal(noRegistry.statusCode, 400)
  assert.match(noRegistry.json().message, /\?registry=/)
  const res = await post(app, '/hooks/zot?registry=zot.example.com:5000', raw, { ...headers, ...bearer() })
  assert.equal(res.statusCode, 202, res.body)
  assert.deepEqual(calls[0]!.events.map((e) => [e.id, `${e.registry}/${e.repository}:${e.tag}`]), [[headers['Ce-Id'], 'zot.example.com:5000/golang:latest']])
  const scanned = await post(app, '/hooks/zot?registry=zot.example.com:5000', raw, { ...headers, 'Ce-Type': 'zotregistry.image.scanned', 'Ce-Id': 'other', ...bearer() })
  assert.deepEqual(scanned.json(), { accepted: 0, ignored: 1, ignoredReasons: [{ reason: 'not-a-push', count: 1 }], duplicate: 0 })
  assert.equal(calls.length, 1)
})

test('harbor 1.x / TCR: pushImage on /hooks/harbor is a push', async (t) => {
  const { app, calls } = await setup(t)
  const res = await post(app, '/hooks/harbor', JSON.stringify(fixture('tcr-push-image.json')), bearer())
  assert.deepEqual(res.json(), { accepted: 1, ignored: 0, ignoredReasons: [], duplicate: 0 })
  assert.deepEqual(calls[0]!.events.map((e) => `${e.registry}/${e.repository}:${e.tag}`), ['xxx-bj.tencentcloudcr.com/public/nginx:v1.10.0'])
})

test('github (#24 item 5): a package_url on a loopback registry is 202 ignored as foreign-registry, unless GITHUB_REGISTRY_HOST names it', async (t) => {
  const loopback = githubPackage({ tag: 'v5' })
  ;(loopback.registry_package as { package_version: { package_url: string } }).package_version.package_url = '127.0.0.1:5000/octo-org/app:v5'
  const raw = JSON.stringify(loopback)
  const { app, calls } = await setup(t)
  const res = await post(app, '/hooks/github', raw, githubHeaders(raw, { secret: GITHUB_SECRET }))
  assert.equal(res.statusCode, 202)
  assert.deepEqual(res.json(), { accepted: 0, ignored: 1, ignoredReasons: [{ reason: 'foreign-registry', count: 1 }], duplicate: 0 })
  assert.equal(calls.length, 0)
  const ghes = await setup(t, { GITHUB_REGISTRY_HOST: '127.0.0.1:5000' })
  assert.deepEqual((await post(ghes.app, '/hooks/github', raw, githubHeaders(raw, { secret: GITHUB_SECRET }))).json().accepted, 1)
  assert.deepEqual(ghes.calls[0]!.events.map((e) => `${e.registry}/${e.repository}:${e.tag}`), ['127.0.0.1:5000/octo-org/app:v5'])
})

test('GITHUB_WEBHOOK_SECRET_FILE and DOCKERHUB_WEBHOOK_TOKEN_FILE: what the files hold is the credential of /hooks/github and /hooks/dockerhub', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cu-hook-files-'))
  const fileSecret = 'github-file-secret'
  const fileToken = 'dockerhub-file-token_' + 'f'.repeat(20)
  writeFileSync(join(dir, 'github'), fileSecret + '\n')
  writeFileSync(join(dir, 'dockerhub'), fileToken + '\n')
  // GITHUB_WEBHOOK_SECRET: '' unsets setup's inline secret, as `-e VAR=` does.
  const { app, calls } = await setup(t, { GITHUB_WEBHOOK_SECRET: '', GITHUB_WEBHOOK_SECRET_FILE: join(dir, 'github'), DOCKERHUB_WEBHOOK_TOKEN_FILE: join(dir, 'dockerhub') })
  const raw = JSON.stringify(githubPackage({ tag: 'v7' }))
  assert.equal((await post(app, '/hooks/github', raw, githubHeaders(raw, { secret: GITHUB_SECRET }))).statusCode, 401)
  assert.equal((await post(app, '/hooks/github', raw, githubHeaders(raw, { secret: fileSecret }))).json().accepted, 1)
  assert.equal((await post(app, `/hooks/dockerhub/${fileToken}`, JSON.stringify(dockerhubPush({ repo: 'acme/web', tag: 'v7' })), {})).json().accepted, 1)
  assert.deepEqual(calls.map((c) => c.origin.source), ['github', 'dockerhub'])
})

test('/metrics counts ignored events by source and reason', async (t) => {
  const { app } = await setup(t)
  await post(app, '/hooks/acr', JSON.stringify(fixture('acr-delete.json')), bearer())
  await post(app, '/hooks/acr', JSON.stringify(fixture('acr-delete.json')), bearer())
  await post(app, '/hooks/distribution', JSON.stringify({ events: [{ action: 'push', target: { repository: 'a', digest: 'sha256:' + '1'.repeat(64) }, request: { host: 'r' } }] }), bearer())
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  assert.match(metrics, /container_updater_hook_events_ignored_total\{source="acr",reason="not-a-push"\} 2\n/)
  assert.match(metrics, /container_updater_hook_events_ignored_total\{source="distribution",reason="untagged"\} 1\n/)
})

test('the Quay token never reaches a log line; redactRequestUrl hides it however the path is spelled', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(String(chunk)); done() } })
  const config = testConfig({ LOG_LEVEL: 'trace' })
  const { app } = await setup(t, { LOG_LEVEL: 'trace' }, { logger: { ...loggerOptions(config, false) as object, level: 'trace', stream } as never })
  const raw = JSON.stringify(fixture('quay-repo-push.json'))
  for (const url of [`/hooks/quay/${QUAY_TOKEN}`, `/hooks/%71uay/${QUAY_TOKEN}`, `/hooks/quay/${QUAY_TOKEN}x`, `/hooks/quay/${QUAY_TOKEN}?a=1`]) await post(app, url, raw, {})
  assert.ok(lines.some((line) => line.includes('registry push received')))
  for (const line of lines) assert.ok(!line.includes(QUAY_TOKEN.slice(5)), line)
  assert.equal(redactRequestUrl(`/hooks/%2571uay/${QUAY_TOKEN}`), '/hooks/quay/[redacted]')
  assert.equal(redactRequestUrl(`/x/${QUAY_TOKEN}`, '/hooks/quay/:token'), '/hooks/quay/[redacted]')
})

test('OpenAPI: the new hook paths with their summary, body and 202 receipt; the receipt names the reasons', async (t) => {
  const { app } = await setup(t)
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
  for (const path of ['/hooks/acr', '/hooks/zot', '/hooks/gitea', '/hooks/quay/{token}']) {
    const op = doc.paths[path]?.post
    assert.ok(op, path)
    assert.ok(op.summary.length > 0 && op.description.length > 0, path)
    const receipt = op.responses['202'].content['application/json'].schema
    assert.deepEqual([...receipt.properties.ignoredReasons.items.properties.reason.enum].sort(),
      ['foreign-registry', 'invalid-reference', 'not-a-container', 'not-a-push', 'untagged'])
  }
  assert.deepEqual(doc.paths['/hooks/zot'].post.parameters.map((p: { name: string }) => p.name), ['registry'])
})

test('a short QUAY_WEBHOOK_TOKEN stops the start; without the secrets the routes do not exist', async (t) => {
  await assert.rejects(setup(t, { QUAY_WEBHOOK_TOKEN: 'x'.repeat(31) }), /QUAY_WEBHOOK_TOKEN/)
  const app = await buildApp(testConfig(), { runner: new FakeDocker().runner, onPush: () => {} })
  t.after(() => app.close())
  assert.equal((await post(app, '/hooks/gitea', '{}', giteaHeaders('{}'))).statusCode, 404)
  assert.equal((await post(app, `/hooks/quay/${QUAY_TOKEN}`, '{}', {})).statusCode, 404)
})
