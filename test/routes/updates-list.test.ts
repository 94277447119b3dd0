import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FakeDocker } from '../fake-docker.ts'
import { bearer, build } from '../helper.ts'

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
