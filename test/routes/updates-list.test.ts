import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FakeDocker } from '../fake-docker.ts'
import { bearer, build, token } from '../helper.ts'

test('GET /updates: a `since` the schema lets through but no date parser reads is a 400, never a 500', async (t) => {
  const app = await build(t, {}, { runner: new FakeDocker().runner })
  // RFC 3339 allows a leap second (23:59:60); JavaScript's Date does not.
  for (const since of ['2016-12-31T23:59:60Z', '2016-12-31T23:59:60.5+00:00']) {
    const res = await app.inject({ method: 'GET', url: `/updates?since=${encodeURIComponent(since)}`, headers: bearer() })
    assert.equal(res.statusCode, 400, `${since}: ${res.body}`)
    assert.equal(res.json().code, 'CU_INVALID_SINCE', res.body)
  }
  const ok = await app.inject({ method: 'GET', url: `/updates?since=${encodeURIComponent('2016-12-31T23:59:59+01:00')}`, headers: bearer() })
  assert.equal(ok.statusCode, 200, ok.body)
  assert.deepEqual(ok.json().updates, [])
})

test('GET /updates: an unscoped token lists every record, unless JWT_REQUIRE_SCOPE; a scoped one only its own', async (t) => {
  for (const [requireScope, dataDir] of [['false', ':memory:'], ['true', ':memory:'], ['false', 'sqlite'], ['true', 'sqlite']] as const) {
    const docker = new FakeDocker()
    docker.addService('web', `127.0.0.1:5000/web:latest@sha256:${'a'.repeat(64)}`)
    docker.addService('api', `127.0.0.1:5000/api:latest@sha256:${'a'.repeat(64)}`)
    const dir = dataDir === 'sqlite' ? mkdtempSync(join(tmpdir(), 'cu-list-')) : dataDir
    if (dir !== ':memory:') t.after(() => rmSync(dir, { recursive: true, force: true }))
    const app = await build(t, { JWT_REQUIRE_SCOPE: requireScope, DATA_DIR: dir }, { runner: docker.runner })
    for (const name of ['web', 'api']) {
      const res = await app.inject({ method: 'POST', url: '/update', headers: { ...bearer(token({ services: [name] })), 'content-type': 'application/json' }, payload: { appName: name } })
      assert.equal(res.statusCode, 200, res.body)
    }
    const list = async (jwt: string) => ((await app.inject({ method: 'GET', url: '/updates', headers: bearer(jwt) })).json().updates as Array<{ service: string }>).map((u) => u.service).sort()
    assert.deepEqual(await list(token()), requireScope === 'true' ? [] : ['api', 'web'], `JWT_REQUIRE_SCOPE=${requireScope}, no services claim`)
    assert.deepEqual(await list(token({ services: ['web'] })), ['web'])
    assert.deepEqual(await list(token({ services: ['*'] })), ['api', 'web'])
  }
})

test('GET /updates: the query string is coerced as its schema says (?limit=5 is 5); a JSON body is not', async (t) => {
  const docker = new FakeDocker()
  docker.addService('web', `127.0.0.1:5000/web:latest@sha256:${'a'.repeat(64)}`)
  const app = await build(t, {}, { runner: docker.runner })
  const json = { ...bearer(), 'content-type': 'application/json' }
  for (let i = 0; i < 3; i++) {
    const res = await app.inject({ method: 'POST', url: '/update', headers: json, payload: { appName: 'web' } })
    assert.equal(res.statusCode, 200, res.body)
  }
  const page = await app.inject({ method: 'GET', url: '/updates?limit=2', headers: bearer() })
  assert.equal(page.statusCode, 200, page.body)
  assert.equal(page.json().updates.length, 2)
  assert.equal(typeof page.json().nextCursor, 'string')
  const rest = await app.inject({ method: 'GET', url: `/updates?limit=5&cursor=${page.json().nextCursor as string}`, headers: bearer() })
  assert.equal(rest.statusCode, 200, rest.body)
  assert.equal(rest.json().updates.length, 1)
  assert.equal(rest.json().nextCursor, null)
  for (const bad of ['limit=abc', 'limit=0', 'limit=101', 'limit=2.5', 'status=nope', 'since=yesterday', 'extra=1']) {
    const res = await app.inject({ method: 'GET', url: `/updates?${bad}`, headers: bearer() })
    assert.equal(res.statusCode, 400, `${bad}: ${res.body}`)
    assert.match(res.json().message, /querystring/, bad)
  }
  // Bodies stay strict: a string where the schema says boolean is refused, and nothing is updated.
  const before = docker.calls.filter((c) => c[0] === 'service' && c[1] === 'update').length
  const strict = await app.inject({ method: 'POST', url: '/update', headers: json, payload: { appName: 'web', wait: 'false' } })
  assert.equal(strict.statusCode, 400, strict.body)
  assert.match(strict.json().message, /body\/wait must be boolean/)
  assert.equal(docker.calls.filter((c) => c[0] === 'service' && c[1] === 'update').length, before)
})
