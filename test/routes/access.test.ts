import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FakeDocker } from '../fake-docker.ts'
import { bearer, build, postUpdate, token } from '../helper.ts'

const IMAGE = '127.0.0.1:5000/web:latest@sha256:' + 'a'.repeat(64)

async function setup (t: Parameters<typeof build>[0]) {
  const docker = new FakeDocker()
  docker.addService('web', IMAGE)
  const app = await build(t, { AUTH_FAILURE_LIMIT: '1000', GITHUB_WEBHOOK_SECRET: 's'.repeat(32), DOCKERHUB_WEBHOOK_TOKEN: 't'.repeat(32) }, { runner: docker.runner })
  return { app, docker }
}

/** A plausible body for each write: the request must be refused for its token, not its body. */
const bodies: Record<string, unknown> = {
  '/update': { appName: 'web' },
  '/rollback': { appName: 'web' },
  '/hooks/distribution': { events: [{ id: 'e1', action: 'push', target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', repository: 'web', tag: 'latest', digest: 'sha256:' + 'b'.repeat(64) }, request: { host: '127.0.0.1:5000' } }] },
  '/hooks/harbor': { type: 'PUSH_ARTIFACT', event_data: { resources: [{ tag: 'latest', digest: 'sha256:' + 'b'.repeat(64), resource_url: '127.0.0.1:5000/web:latest' }], repository: { repo_full_name: 'web' } } }
}

test('a read token can do no write anywhere: every non-GET route of the OpenAPI document answers 403 CU_ACCESS_DENIED, nothing changes', async (t) => {
  const { app, docker } = await setup(t)
  const document = (await app.inject({ method: 'GET', url: '/docs/json' })).json<{ paths: Record<string, Record<string, { security?: unknown[] }>> }>()
  const read = bearer(token({ access: 'read' }))
  const writes: string[] = []
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const method of Object.keys(operations)) {
      if (method === 'get' || method === 'head') continue
      const security = operations[method]?.security ?? []
      // Routes with a credential of their own (GitHub's signature, Docker Hub's URL token) take no token of ours.
      if (!JSON.stringify(security).includes('bearerAuth')) continue
      writes.push(`${method.toUpperCase()} ${path}`)
      const url = path.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000')
      const response = await app.inject({ method: method.toUpperCase() as 'POST', url, headers: { 'content-type': 'application/json', ...read }, payload: JSON.stringify(bodies[path] ?? {}) })
      assert.equal(response.statusCode, 403, `${method} ${path}: ${response.body}`)
      const body = response.json<{ code: string, message: string }>()
      assert.equal(body.code, 'CU_ACCESS_DENIED', `${method} ${path}`)
      assert.match(body.message, /read access/)
    }
  }
  // The walk saw the writes there are (it cannot pass by finding none).
  assert.ok(writes.includes('POST /update') && writes.includes('POST /rollback') && writes.includes('POST /hooks/distribution') && writes.includes('POST /hooks/harbor'), writes.join(', '))
  assert.deepEqual(docker.calls.filter((args) => args[1] === 'update' || args[1] === 'rollback'), [])
  // Reads are still allowed to it.
  assert.equal((await app.inject({ method: 'GET', url: '/updates', headers: read })).statusCode, 200)
})

test('a read token is refused a dry run too (POST is a write); deploy and admin tokens update', async (t) => {
  const { app, docker } = await setup(t)
  assert.equal((await postUpdate(app, { appName: 'web', dryRun: true }, bearer(token({ access: 'read' })))).statusCode, 403)
  assert.equal((await postUpdate(app, { appName: 'web' }, bearer(token({ access: 'deploy' })))).statusCode, 200)
  assert.equal((await postUpdate(app, { appName: 'web' }, bearer(token({ access: 'admin' })))).statusCode, 200)
  assert.equal((await postUpdate(app, { appName: 'web' }, bearer(token()))).statusCode, 200)
  assert.equal(docker.updates([...docker.services.values()][0]!.id), 3)
})

test('an access claim that is not read, deploy or admin is a 401, not a default', async (t) => {
  const { app, docker } = await setup(t)
  for (const access of ['root', 'READ', '', 1, ['admin'], null]) {
    const response = await postUpdate(app, { appName: 'web' }, bearer(token({ access })))
    assert.equal(response.statusCode, 401, JSON.stringify(access))
    assert.match(response.json<{ message: string }>().message, /token claim access must be read, deploy or admin/)
  }
  assert.deepEqual(docker.calls.filter((args) => args[1] === 'update'), [])
})
