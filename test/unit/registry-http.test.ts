import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
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

test('NODE_USE_ENV_PROXY=1: the watcher\'s registry thread takes Node\'s own fetch, which goes through HTTP_PROXY where Node does (24), as the pre-flight\'s', async (t) => {
  assert.equal(registryHttp({ NODE_USE_ENV_PROXY: '1' }).fetch, globalThis.fetch)
  const pooled = registryHttp({})
  t.after(async () => { await pooled.close() })
  assert.notEqual(pooled.fetch, globalThis.fetch)

  // A registry on loopback and a proxy that tunnels (CONNECT) and counts what it was asked.
  const registry = createServer((_req, res) => { res.setHeader('docker-content-digest', 'sha256:' + 'f'.repeat(64)); res.end() })
  await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve))
  const tunnels: string[] = []
  const proxy = createServer((_req, res) => { res.writeHead(502).end() })
  proxy.on('connect', (req, client: Socket, head: Buffer) => {
    tunnels.push(req.url!)
    const [host, port] = req.url!.split(':')
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    upstream.on('error', () => client.destroy())
    client.on('error', () => upstream.destroy())
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  t.after(() => { registry.closeAllConnections(); registry.close(); proxy.close() })
  const target = `127.0.0.1:${(registry.address() as AddressInfo).port}`
  const dir = mkdtempSync(join(tmpdir(), 'cu-env-proxy-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'config.json'), '{}')
  // The switch is read when a process starts: a process of its own, asking through the thread.
  const script = `import { RegistryWorker } from ${JSON.stringify(join(import.meta.dirname, '../../src/docker/registry-worker.ts'))}
const r = new RegistryWorker({ dockerConfigPath: ${JSON.stringify(join(dir, 'config.json'))}, timeoutMs: 10000 })
console.log(JSON.stringify(await r.checkDigest(${JSON.stringify(`${target}/team/app:1.2.3`)})))
await r.close()`
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    timeout: 30_000,
    env: { ...process.env, NODE_USE_ENV_PROXY: '1', HTTP_PROXY: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, NO_PROXY: '', no_proxy: '' }
  })
  assert.equal(JSON.parse(stdout).digest, 'sha256:' + 'f'.repeat(64))
  // Node 24 sends it through the proxy; Node 20's fetch knows no proxy and goes straight there.
  const major = Number(process.versions.node.split('.')[0])
  assert.deepEqual(tunnels, major >= 24 ? [target] : [])
})
