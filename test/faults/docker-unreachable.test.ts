import { test } from 'node:test'
import assert from 'node:assert/strict'
import { build, postUpdate } from '../helper.ts'

// With the real Docker CLI (no engine is reached: DOCKER_HOST names a socket that does not exist),
// so it lives beside the other Docker fault tests, not in test:unit, which needs no Docker.
test('faults: 503 with the reason when Docker is unreachable; /healthz stays 200 (real Docker CLI)', async (t) => {
  const app = await build(t, { DOCKER_HOST: 'unix:///nonexistent/docker.sock', DOCKER_COMMAND_TIMEOUT: '20' })
  const res = await postUpdate(app, { appName: 'web' })
  assert.equal(res.statusCode, 503, res.body)
  assert.equal(res.json().code, 'CU_DOCKER_UNAVAILABLE')
  assert.match(res.json().message, /nonexistent\/docker\.sock/)
  assert.equal((await app.inject('/healthz')).statusCode, 200)
  const ready = await app.inject('/readyz')
  assert.equal(ready.statusCode, 503)
  assert.equal(ready.json().code, 'CU_DOCKER_UNAVAILABLE')
})
