import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import type { AddressInfo } from 'node:net'
import { buildApp } from '../../src/app.ts'
import { loggerOptions } from '../../src/server.ts'
import { FakeDocker } from '../fake-docker.ts'
import { testConfig } from '../helper.ts'
import { dockerhubPush } from '../unit/hooks-payloads.ts'

const TOKEN = 'dh-' + 'k'.repeat(40)

// Over real HTTP (inject normalises nothing, but the raw URL is what a client sends): every
// spelling of the Docker Hub hook path that Fastify routes, or refuses, keeps its token out of
// every log line and out of the answer.
test('the Docker Hub token is kept out of logs and answers however its path is percent-encoded', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(String(chunk)); done() } })
  const config = testConfig({ LOG_LEVEL: 'trace' })
  const app = await buildApp(config, {
    runner: new FakeDocker().runner,
    logger: { ...loggerOptions(config, false) as object, level: 'trace', stream } as never,
    hooks: { dockerhubToken: TOKEN },
    onPush: () => {}
  })
  t.after(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const encodedToken = TOKEN.replace(/k/g, '%6B')
  const paths = [
    `/hooks/dockerhub/${TOKEN}`,
    `/hooks/%64ockerhub/${TOKEN}`,
    `/hooks/docker%68ub/${TOKEN}`,
    `/%68ooks/dockerhub/${TOKEN}`,
    `/hooks/dockerhub/${encodedToken}`,
    `/%68ooks/%64ockerhub/${encodedToken}?x=1`,
    `/hooks/dockerhub/${TOKEN}${'x'.repeat(200)}`,
    `/hooks/%64ockerhub/${TOKEN}${'%78'.repeat(200)}`,
    `/hooks/dockerhub/${TOKEN}/more`,
    `/hooks/dockerhub/a/${TOKEN}`
  ]
  const statuses: number[] = []
  for (const path of paths) {
    const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(dockerhubPush()) })
    statuses.push(res.status)
    const body = await res.text()
    assert.ok(!body.includes(TOKEN.slice(3)) && !body.includes(encodedToken.slice(3)), `${res.status} ${path}: ${body}`)
  }
  assert.ok(statuses.filter((s) => s === 202).length >= 4, `the encoded spellings are routed: ${statuses.join(',')}`)
  assert.ok(statuses.includes(414), `a path too long is refused: ${statuses.join(',')}`)
  const access = lines.filter((line) => line.includes('"msg":"request completed"'))
  // Fastify's framework errors (the 414s) write no access line; every routed request does.
  assert.equal(access.length, paths.length - statuses.filter((s) => s === 414).length)
  assert.ok(access.some((line) => line.includes('"url":"/hooks/dockerhub/[redacted]"')))
  for (const line of lines) assert.ok(!line.includes(TOKEN.slice(3)) && !line.includes(encodedToken.slice(3)), line)
})

test('the Quay token is kept out of logs and answers however its path is percent-encoded, 414 included', async (t) => {
  const QUAY = 'qy-' + 'm'.repeat(40)
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(String(chunk)); done() } })
  const config = testConfig({ LOG_LEVEL: 'trace' })
  const app = await buildApp(config, {
    runner: new FakeDocker().runner,
    logger: { ...loggerOptions(config, false) as object, level: 'trace', stream } as never,
    hooks: { quayToken: QUAY },
    onPush: () => {}
  })
  t.after(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const encodedToken = QUAY.replace(/m/g, '%6D')
  const body = JSON.stringify({ docker_url: 'quay.io/ns/app', repository: 'ns/app', updated_tags: ['v1'] })
  const statuses: number[] = []
  for (const path of [`/hooks/quay/${QUAY}`, `/hooks/%71uay/${QUAY}`, `/%68ooks/quay/${encodedToken}?x=1`, `/hooks/quay/${QUAY}${'x'.repeat(200)}`, `/hooks/quay/a/${QUAY}`]) {
    const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    statuses.push(res.status)
    const text = await res.text()
    assert.ok(!text.includes(QUAY.slice(3)) && !text.includes(encodedToken.slice(3)), `${res.status} ${path}: ${text}`)
  }
  assert.deepEqual(statuses.slice(0, 3), [202, 202, 202], statuses.join(','))
  assert.ok(statuses.includes(414), statuses.join(','))
  assert.ok(lines.some((line) => line.includes('"url":"/hooks/quay/[redacted]"')))
  for (const line of lines) assert.ok(!line.includes(QUAY.slice(3)) && !line.includes(encodedToken.slice(3)), line)
})
