import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildApp } from '../../src/app.ts'
import { loggerOptions } from '../../src/server.ts'
import { FakeDocker, fail } from '../fake-docker.ts'
import { SECRET, bearer, build, postUpdate, testConfig, token } from '../helper.ts'

const IMAGE = '127.0.0.1:5000/web:latest@sha256:' + 'a'.repeat(64)

async function setup (t: Parameters<typeof build>[0], env: Record<string, string> = {}) {
  const docker = new FakeDocker()
  docker.registry.set('127.0.0.1:5000/web:latest', 'sha256:' + 'b'.repeat(64))
  const web = docker.addService('web', IMAGE)
  const app = await build(t, env, { runner: docker.runner })
  return { app, docker, web }
}

test('200: the update record of a completed update', async (t) => {
  const { app, web } = await setup(t)
  const res = await postUpdate(app, { appName: 'web' })
  assert.equal(res.statusCode, 200)
  const record = res.json()
  assert.equal(record.status, 'completed')
  assert.equal(record.service, 'web')
  assert.equal(record.previousImage, IMAGE)
  assert.equal(record.image, '127.0.0.1:5000/web:latest@sha256:' + 'b'.repeat(64))
  assert.equal(record.statusUrl, `/updates/${record.updateId}`)
  assert.ok(Date.parse(record.finishedAt) >= Date.parse(record.startedAt))
  assert.equal(web.forceUpdate, 1)
  assert.ok(res.headers['x-request-id'])
})

test('400: invalid bodies and names change nothing', async (t) => {
  const { app, docker } = await setup(t)
  const bodies: unknown[] = [
    {}, { appName: '' }, { appName: '-web' }, { appName: 'web;id' }, { appName: '$(reboot)' }, { appName: 'web.app' },
    { appName: 'x'.repeat(64) }, { appName: 'wéb' }, { appName: 'web\u0000' }, { appName: 'web\n' }, { appName: '--help' },
    { appName: 123 }, { appName: ['web'] }, { appName: null }, { appName: 'web', extra: true }, { appName: 'web', wait: 'false' },
    { appName: 'web', tag: '' }, { appName: 'web', tag: '-x' }, { appName: 'web', tag: 'a:b' }, { appName: 'web', tag: 5 },
    [], 'web', 42, null
  ]
  for (const body of bodies) {
    const res = await postUpdate(app, body)
    assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`)
    assert.equal(res.json().statusCode, 400)
    assert.equal(typeof res.json().message, 'string')
  }
  const empty = await app.inject({ method: 'POST', url: '/update', headers: { ...bearer(), 'content-type': 'application/json' }, payload: '' })
  assert.equal(empty.statusCode, 400)
  const broken = await app.inject({ method: 'POST', url: '/update', headers: { ...bearer(), 'content-type': 'application/json' }, payload: '{"appName":' })
  assert.equal(broken.statusCode, 400)
  const proto = await app.inject({ method: 'POST', url: '/update', headers: { ...bearer(), 'content-type': 'application/json' }, payload: '{"appName":"web","__proto__":{"x":1}}' })
  assert.equal(proto.statusCode, 400)
  assert.deepEqual(docker.calls, [])
})

test('413 for large bodies, 415 for anything but JSON', async (t) => {
  const { app, docker } = await setup(t)
  const large = await postUpdate(app, { appName: 'web', pad: 'x'.repeat(8192) })
  assert.equal(large.statusCode, 413)
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml']) {
    const res = await app.inject({ method: 'POST', url: '/update', headers: { ...bearer(), 'content-type': type }, payload: 'appName=web' })
    assert.equal(res.statusCode, 415, type)
    assert.equal(res.json().statusCode, 415)
  }
  assert.deepEqual(docker.calls, [])
})

test('404 for an unknown service, a name prefix or an ID prefix', async (t) => {
  const { app, docker, web } = await setup(t)
  for (const appName of ['nosuch', 'we', web.id.slice(0, 8)]) {
    const res = await postUpdate(app, { appName })
    assert.equal(res.statusCode, 404, appName)
    assert.equal(res.json().code, 'CU_SERVICE_NOT_FOUND')
  }
  assert.equal(docker.updates(web.id), 0)
  assert.equal((await app.inject('/nowhere')).statusCode, 404)
})

test('409 with Docker\'s reason when Swarm rolls back or pauses', async (t) => {
  const { app, web } = await setup(t)
  web.outcomes.push('rollback_completed', 'paused')
  web.taskError = 'task: non-zero exit (3)'
  const rolledBack = await postUpdate(app, { appName: 'web' })
  assert.equal(rolledBack.statusCode, 409)
  assert.equal(rolledBack.json().status, 'rolled_back')
  assert.match(rolledBack.json().message, /non-zero exit \(3\)/)
  assert.equal(rolledBack.json().image, IMAGE)
  const paused = await postUpdate(app, { appName: 'web' })
  assert.equal(paused.statusCode, 409)
  assert.equal(paused.json().status, 'paused')
})

test('504 with the record at UPDATE_TIMEOUT; statusUrl tells the end', async (t) => {
  const { app, web } = await setup(t, { UPDATE_TIMEOUT: '1', POLL_INTERVAL_MS: '50' })
  web.pollsToFinish = 30
  const res = await postUpdate(app, { appName: 'web' })
  assert.equal(res.statusCode, 504)
  assert.equal(res.json().status, 'timeout')
  let status = 'timeout'
  for (let i = 0; i < 100 && status === 'timeout'; i++) {
    await sleep(50)
    status = (await app.inject({ url: res.json().statusUrl, headers: bearer() })).json().status
  }
  assert.equal(status, 'completed')
})

test('202 with wait:false, then GET /updates/:id reaches completed', async (t) => {
  const { app, web } = await setup(t)
  web.pollsToFinish = 5
  const res = await postUpdate(app, { appName: 'web', wait: false })
  assert.equal(res.statusCode, 202)
  const { statusUrl, status } = res.json()
  assert.ok(['queued', 'updating'].includes(status))
  assert.equal((await app.inject({ url: statusUrl })).statusCode, 401)
  assert.equal((await app.inject({ url: statusUrl, headers: bearer(token({ services: ['api'] })) })).statusCode, 404, 'out of scope reads as absent (docs/API.md)')
  let record = (await app.inject({ url: statusUrl, headers: bearer() })).json()
  for (let i = 0; i < 100 && record.status !== 'completed'; i++) {
    await sleep(20)
    record = (await app.inject({ url: statusUrl, headers: bearer(token({ services: ['web'] })) })).json()
  }
  assert.equal(record.status, 'completed')
  assert.equal((await app.inject({ url: '/updates/00000000-0000-4000-8000-000000000000', headers: bearer() })).statusCode, 404)
  assert.equal((await app.inject({ url: '/updates/not-a-uuid', headers: bearer() })).statusCode, 400)
})

test('5xx name the cause, never internals', async (t) => {
  const { app, docker } = await setup(t)
  docker.swarm = { LocalNodeState: 'inactive', ControlAvailable: false }
  docker.failures.push({ match: (a) => a[1] === 'inspect', failure: fail('Error response from daemon: This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.') })
  const notManager = await postUpdate(app, { appName: 'web' })
  assert.equal(notManager.statusCode, 503)
  assert.equal(notManager.json().code, 'CU_NOT_SWARM_MANAGER')
  const ready = await app.inject('/readyz')
  assert.equal(ready.statusCode, 503)
  assert.match(ready.json().message, /not a Swarm manager/)

  docker.failures.push({ match: (a) => a[1] === 'update', failure: fail('Error response from daemon: rpc error: code = ResourceExhausted desc = raft: no space') })
  const failed = await postUpdate(app, { appName: 'web' })
  assert.equal(failed.statusCode, 502)
  assert.equal(failed.json().code, 'CU_DOCKER_FAILED')
  assert.match(failed.json().message, /raft: no space/)

  docker.failures.push({ match: (a) => a[1] === 'inspect', failure: new Error('/srv/internal/path exploded') as never })
  const internal = await postUpdate(app, { appName: 'web' })
  assert.equal(internal.statusCode, 500)
  assert.deepEqual(internal.json(), { statusCode: 500, error: 'Internal Server Error', message: 'Internal Server Error' })
})

test('logs: one audit line per update with the subject; no token, no secret', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(String(chunk)); done() } })
  const docker = new FakeDocker()
  docker.addService('web', IMAGE)
  const config = testConfig({ LOG_LEVEL: 'info' })
  const app = await buildApp(config, { logger: { ...loggerOptions(config, false) as object, stream } as never, runner: docker.runner })
  t.after(() => app.close())
  const jwt = token({ sub: 'pipeline-42', jti: 'run-7', services: ['web'] })
  assert.equal((await postUpdate(app, { appName: 'web' }, bearer(jwt))).statusCode, 200)
  assert.equal((await postUpdate(app, { appName: 'web' }, bearer(jwt.slice(0, -3) + 'abc'))).statusCode, 401)
  const log = lines.join('')
  assert.equal(log.includes(jwt.split('.')[2]!), false, 'no token in the logs')
  assert.equal(log.includes(SECRET), false, 'no secret in the logs')
  const audits = lines.map((l) => JSON.parse(l)).filter((l) => l.audit !== undefined)
  assert.deepEqual(audits.map((a) => a.audit.event), ['accepted', 'finished'], 'who asked, then how it ended')
  assert.equal(audits[0].audit.subject, 'pipeline-42')
  assert.equal(audits[0].audit.tokenId, 'run-7')
  assert.ok(audits[0].audit.client)
  assert.equal(audits[1].audit.updateId, audits[0].audit.updateId)
  assert.equal(audits[1].audit.requestedBy, 'pipeline-42')
  assert.equal(audits[1].audit.status, 'completed')
  assert.equal(audits[1].audit.previousImage, IMAGE)
})

test('/metrics counts updates by service and result; /docs/json documents /update', async (t) => {
  const { app, web } = await setup(t)
  web.outcomes.push('rollback_completed')
  await postUpdate(app, { appName: 'web' })
  await postUpdate(app, { appName: 'web' })
  const metrics = await app.inject('/metrics')
  assert.equal(metrics.statusCode, 200)
  assert.match(metrics.headers['content-type'] as string, /text\/plain/)
  assert.match(metrics.body, /container_updater_updates_total\{service="web",result="rolled_back"\} 1/)
  assert.match(metrics.body, /container_updater_updates_total\{service="web",result="completed"\} 1/)
  assert.match(metrics.body, /container_updater_update_duration_seconds_count\{service="web",result="completed"\} 1/)
  assert.match(metrics.body, /http_requests_total\{method="POST",route="\/update",status_code="409"\} 1/)
  assert.match(metrics.body, /container_updater_updates_running 0/)
  const docs = await app.inject('/docs/json')
  assert.equal(docs.statusCode, 200)
  const update = docs.json().paths['/update'].post
  assert.deepEqual(Object.keys(update.responses).sort(), ['200', '202', '400', '401', '403', '404', '409', '413', '415', '423', '429', '502', '503', '504'])
  assert.ok(update.requestBody.content['application/json'].schema.properties.appName.pattern)
  assert.ok(docs.json().paths['/updates/{updateId}'])
  assert.equal((await app.inject('/docs')).statusCode < 400, true)
})
