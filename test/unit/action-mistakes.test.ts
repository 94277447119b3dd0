import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { runStep, startUpdater } from './action-harness.ts'

/**
 * Each input or permission mistake a workflow can make is told as itself, run as a runner runs the
 * step (before, a missing token, a missing `audience` or a job without `id-token: write` were all
 * reported as "cannot reach <url>").
 */
const FAST = { 'poll-interval': '0.02' }
const refusal = (status: number, error: string, message: string) => ({ status, body: { statusCode: status, error, message, code: 'CU_X' } })

test('action: a token mistake is told as one, before any request to the updater', async (t) => {
  const updater = await startUpdater(() => ({ status: 500, body: {} }))
  t.after(updater.close)
  const cases: Array<[Record<string, string>, Record<string, string>, RegExp]> = [
    [{}, {}, /::error::pass `token`, or `audience` to use an OIDC token/],
    [{ audience: 'container-updater' }, {}, /::error::no OIDC token available: give the job `permissions: id-token: write`, or pass `token`/]
  ]
  for (const [inputs, env, expected] of cases) {
    const result = await runStep({ url: updater.url, 'app-name': 'web', ...FAST, ...inputs }, env)
    assert.equal(result.code, 1, result.stdout)
    assert.match(result.stdout, expected)
    assert.doesNotMatch(result.stdout, /cannot reach/)
  }
  assert.equal(updater.seen.length, 0)
})

test('action: an OIDC token request the runner refuses is told with its status', async (t) => {
  const idTokens = createServer((_req, res) => res.writeHead(403).end()).listen(0, '127.0.0.1')
  await once(idTokens, 'listening')
  t.after(() => new Promise((resolve) => idTokens.close(resolve)))
  const updater = await startUpdater(() => ({ status: 500, body: {} }))
  t.after(updater.close)
  const result = await runStep({ url: updater.url, 'app-name': 'web', audience: 'container-updater', ...FAST }, {
    ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${(idTokens.address() as AddressInfo).port}/token?api-version=2.0`,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'runner-request-token'
  })
  assert.equal(result.code, 1, result.stdout)
  assert.match(result.stdout, /::error::the OIDC token request failed with 403/)
  assert.equal(updater.seen.length, 0)
})

test('action: a url without a scheme is refused as an input mistake; an unreachable one names the address', async (t) => {
  const bad = await runStep({ url: 'updater.example.com', 'app-name': 'web', token: 't', ...FAST })
  assert.equal(bad.code, 1, bad.stdout)
  assert.match(bad.stdout, /::error::input `url` must start with https:\/\/ \(or http:\/\/\), not "updater.example.com"/)
  // A port nothing listens on: taken from a server that is then closed.
  const closed = createServer().listen(0, '127.0.0.1')
  await once(closed, 'listening')
  const { port } = closed.address() as AddressInfo
  await new Promise((resolve) => closed.close(resolve))
  const down = await runStep({ url: `http://127.0.0.1:${port}`, 'app-name': 'web', token: 't', ...FAST })
  assert.equal(down.code, 1, down.stdout)
  assert.match(down.stdout, new RegExp(`::error::cannot reach http://127.0.0.1:${port}: ECONNREFUSED`))
})

test('action: a refused token and a token out of scope say what to check', async (t) => {
  for (const [reply, inputs, expected] of [
    [refusal(401, 'Unauthorized', 'token expired'), { token: 't' }, /::error::401 Unauthorized: token expired \(check `token`: minted with the updater's JWT_SECRET and not expired\)/],
    [refusal(403, 'Forbidden', 'This token may not update service web'), { token: 't' }, /::error::403 Forbidden: This token may not update service web \(the token is valid but may not update this target/]
  ] as const) {
    const updater = await startUpdater(() => reply)
    t.after(updater.close)
    const result = await runStep({ url: updater.url, 'app-name': 'web', ...FAST, ...inputs })
    assert.equal(result.code, 1, result.stdout)
    assert.match(result.stdout, expected)
    assert.equal(updater.seen.length, 1)
  }
})
