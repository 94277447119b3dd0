import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { registryHttp } from '../../src/docker/registry-http.ts'
import { describeFailure } from '../../src/docker/registry-session.ts'

/** A loopback server answering as a registry answers a manifest HEAD, counting the connections it accepts. */
async function registry (t: TestContext): Promise<{ url: string, connections: () => number }> {
  let connections = 0
  const server = createServer((req, res) => {
    res.setHeader('docker-content-digest', 'sha256:' + 'a'.repeat(64))
    res.setHeader('content-length', '512')
    res.end(req.method === 'HEAD' ? undefined : 'x'.repeat(512))
  })
  server.on('connection', () => { connections++ })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => { server.closeAllConnections(); server.close() })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/app/manifests/1`, connections: () => connections }
}

test('the watcher\'s HEADs reuse one connection (Node\'s fetch opens one per HEAD)', async (t) => {
  const http = registryHttp()
  t.after(async () => { await http.close() })
  const ours = await registry(t)
  // One after the other, each once its answer is complete (fetch resolves at the headers: a request
  // sent at once would find the connection still busy and open a second one, as it would for a GET).
  const settled = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }
  for (let i = 0; i < 3; i++) {
    const res = await http.fetch(ours.url, { method: 'HEAD' })
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('docker-content-digest'), 'sha256:' + 'a'.repeat(64))
    await settled()
  }
  assert.equal(ours.connections(), 1, 'three HEADs, one connection')
  // A GET after the HEADs, on the same connection: the HEADs left no body behind on it.
  const res = await http.fetch(ours.url)
  assert.equal((await res.text()).length, 512)
  assert.equal(ours.connections(), 1)

  // What this transport is for: the global fetch closes the connection after every HEAD.
  const plain = await registry(t)
  for (let i = 0; i < 3; i++) {
    await fetch(plain.url, { method: 'HEAD' })
    await settled()
  }
  assert.equal(plain.connections(), 3)
})

test('the transport honours abort signals like fetch', async (t) => {
  const http = registryHttp()
  t.after(async () => { await http.close() })
  const ours = await registry(t)
  await assert.rejects(http.fetch(ours.url, { method: 'HEAD', signal: AbortSignal.abort() }), { name: 'AbortError' })
})

test('a registry that does not answer in time: the TimeoutError fetch gives, which the session reports as such', async (t) => {
  const server = createServer(() => { /* never answers */ })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => { server.closeAllConnections(); server.close() })
  const http = registryHttp()
  t.after(async () => { await http.close() })
  const error = await http.fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/`, { method: 'HEAD', signal: AbortSignal.timeout(50) }).then(() => undefined, (e: unknown) => e)
  assert.equal((error as Error).name, 'TimeoutError')
  assert.equal(describeFailure(error, 50), 'the registry did not answer within 50 ms')
})

test('close() ends a request hung on a registry at once (shutdown is not held by it)', async (t) => {
  const server = createServer(() => { /* never answers */ })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => { server.closeAllConnections(); server.close() })
  const http = registryHttp()
  const hung = http.fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/`, { method: 'HEAD' })
  await new Promise((resolve) => server.once('request', resolve))
  await http.close()
  await assert.rejects(hung)
})
