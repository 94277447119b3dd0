import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { createHash } from 'node:crypto'
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isLoopbackHost, parseChallenge, resolveTagDigest } from '../../src/docker/registry-digest.ts'

/**
 * The token flow against a registry emulated with node:http on loopback: 401 with a Bearer challenge,
 * the token service (Basic credentials, anonymous, identity-token grant), the retry with the token.
 */
const user = 'ci-bot'
const password = 'pw-that-must-never-leak'
const identityToken = 'refresh-token-that-must-never-leak'
const userToken = 'token-for-ci-bot'
const anonymousToken = 'token-for-anyone'
const digest = 'sha256:' + 'b'.repeat(64)
const manifestBody = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json' })

interface Seen { method: string, path: string, query: URLSearchParams, authorization?: string, accept?: string, body: string }
const seen: Seen[] = []
let realm = ''
let hangManifests = false
let dir = ''
let origin = ''
let port = 0

async function bodyOf (req: IncomingMessage): Promise<string> {
  let text = ''
  for await (const chunk of req) text += chunk
  return text
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url!, 'http://x')
  const entry: Seen = { method: req.method!, path: url.pathname, query: url.searchParams, authorization: req.headers.authorization, accept: req.headers.accept, body: await bodyOf(req) }
  seen.push(entry)
  if (url.pathname === '/token') {
    const form = new URLSearchParams(entry.body)
    let token: Record<string, string> | undefined
    if (req.method === 'GET' && entry.authorization === undefined) token = { access_token: anonymousToken }
    else if (req.method === 'GET' && entry.authorization === `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`) token = { token: userToken }
    else if (req.method === 'POST' && form.get('grant_type') === 'refresh_token' && form.get('refresh_token') === identityToken) token = { access_token: userToken }
    if (token === undefined) res.writeHead(401).end('{"errors":[{"code":"UNAUTHORIZED"}]}')
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(token))
    return
  }
  if (hangManifests) return // never answers: the caller's timeout must end the lookup
  const tag = /^\/v2\/team\/app\/manifests\/([^/]+)$/.exec(url.pathname)?.[1]
  if (tag === undefined) return res.writeHead(404).end()
  const bearer = entry.authorization?.replace(/^Bearer /, '')
  if (bearer !== userToken && !(bearer === anonymousToken && tag === 'public')) {
    res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm}",service="cu-registry",scope="repository:team/app:pull"` }).end()
    return
  }
  if (tag === 'no-header') {
    // A registry that names no digest: the caller must GET the manifest and hash it.
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': Buffer.byteLength(manifestBody) })
    return res.end(req.method === 'GET' ? manifestBody : undefined)
  }
  res.writeHead(200, { 'docker-content-digest': digest, 'content-length': Buffer.byteLength(manifestBody) }).end(req.method === 'GET' ? manifestBody : undefined)
})

async function writeConfig (name: string, config: unknown): Promise<string> {
  const path = join(dir, `${name}.json`)
  await writeFile(path, JSON.stringify(config))
  return path
}
const basicAuths = (host: string, pw = password) => ({ auths: { [host]: { auth: Buffer.from(`${user}:${pw}`).toString('base64') } } })

before(async () => {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  port = (server.address() as AddressInfo).port
  origin = `127.0.0.1:${port}`
  realm = `http://${origin}/token`
  dir = await mkdtemp(join(tmpdir(), 'cu-registry-token-'))
})
after(async () => {
  server.closeAllConnections()
  server.close()
  await rm(dir, { recursive: true, force: true })
})

function reset () {
  seen.length = 0
  realm = `http://${origin}/token`
  hangManifests = false
}

test('Bearer challenge: Basic credentials go to the realm only, the token to the registry', async () => {
  reset()
  const result = await resolveTagDigest(`${origin}/team/app:v1`, { dockerConfigPath: await writeConfig('basic', basicAuths(origin)) })
  assert.deepEqual(result, { digest })
  assert.deepEqual(seen.map((r) => `${r.method} ${r.path}`), ['HEAD /v2/team/app/manifests/v1', 'GET /token', 'HEAD /v2/team/app/manifests/v1'])
  const [first, token, retry] = seen
  assert.equal(first!.authorization, undefined)
  assert.match(first!.accept!, /application\/vnd\.oci\.image\.index\.v1\+json/)
  assert.match(first!.accept!, /application\/vnd\.docker\.distribution\.manifest\.list\.v2\+json/)
  assert.equal(token!.authorization, `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`)
  assert.equal(token!.query.get('service'), 'cu-registry')
  assert.equal(token!.query.get('scope'), 'repository:team/app:pull')
  assert.equal(retry!.authorization, `Bearer ${userToken}`)
})

test('anonymous token when the updater holds no credentials (access_token answer)', async () => {
  reset()
  assert.deepEqual(await resolveTagDigest(`${origin}/team/app:public`, { dockerConfigPath: join(dir, 'missing.json') }), { digest })
  assert.equal(seen[1]!.authorization, undefined)
  assert.equal(seen[2]!.authorization, `Bearer ${anonymousToken}`)
})

test('identity token: exchanged with a refresh-token grant, never sent to the registry', async () => {
  reset()
  const config = await writeConfig('identity', { auths: { [`http://${origin}`]: { auth: Buffer.from(`${user}:`).toString('base64'), identitytoken: identityToken } } })
  assert.deepEqual(await resolveTagDigest(`${origin}/team/app:v1`, { dockerConfigPath: config }), { digest })
  assert.equal(seen[1]!.method, 'POST')
  assert.equal(new URLSearchParams(seen[1]!.body).get('scope'), 'repository:team/app:pull')
  assert.ok(seen.filter((r) => r.path !== '/token').every((r) => !JSON.stringify(r).includes(identityToken)))
})

test('refused credentials and missing credentials are told apart, without the secret', async () => {
  reset()
  const wrong = await resolveTagDigest(`${origin}/team/app:v1`, { dockerConfigPath: await writeConfig('wrong', basicAuths(origin, 'not-' + password)) })
  assert.ok('unavailable' in wrong)
  assert.match(wrong.unavailable, /token service refused the updater's credentials .*\(401\)/)
  assert.ok(!wrong.unavailable.includes(password))
  reset()
  const none = await resolveTagDigest(`${origin}/team/app:v1`, { dockerConfigPath: join(dir, 'missing.json') })
  assert.ok('unavailable' in none)
  assert.match(none.unavailable, /requires authentication \(401\) and the updater has no credentials/)
})

test('no Docker-Content-Digest: GET the manifest and hash it, as Docker does', async () => {
  reset()
  const result = await resolveTagDigest(`${origin}/team/app:no-header`, { dockerConfigPath: await writeConfig('basic', basicAuths(origin)) })
  assert.deepEqual(result, { digest: 'sha256:' + createHash('sha256').update(manifestBody).digest('hex') })
  assert.deepEqual(seen.slice(-1).map((r) => `${r.method} ${r.authorization}`), [`GET Bearer ${userToken}`])
})

test('a plain-HTTP realm on a non-loopback host gets no request at all', async () => {
  for (const bad of [`http://auth.registry.example:${port}/token`, `ftp://${origin}/token`]) {
    reset()
    realm = bad
    const asked: string[] = []
    // Plays DNS: any host name reaches our server, so a request to the bad realm would be seen.
    const routed: typeof fetch = (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input))
      asked.push(url.host)
      url.hostname = '127.0.0.1'
      return fetch(url, init)
    }
    const result = await resolveTagDigest(`${origin}/team/app:v1`, { dockerConfigPath: await writeConfig('basic', basicAuths(origin)), fetch: routed })
    assert.ok('unavailable' in result)
    assert.match(result.unavailable, /refused the token service/)
    assert.deepEqual(seen.map((r) => r.path), ['/v2/team/app/manifests/v1'], bad)
    assert.deepEqual(asked, [origin])
  }
})

test('credential helper: asked with the registry host on stdin', async () => {
  reset()
  const bin = join(dir, 'bin')
  await rm(bin, { recursive: true, force: true })
  await mkdir(bin)
  const helper = join(bin, 'docker-credential-cutest')
  await writeFile(helper, `#!/bin/sh\ncat > "${join(dir, 'helper-stdin')}"\nprintf '%s' '{"ServerURL":"x","Username":"${user}","Secret":"${password}"}'\n`)
  await chmod(helper, 0o755)
  const savedPath = process.env.PATH
  process.env.PATH = `${bin}:${savedPath}`
  try {
    const config = await writeConfig('helper', { credsStore: 'cutest', auths: { [origin]: {} } })
    assert.deepEqual(await resolveTagDigest(`${origin}/team/app:v1`, { dockerConfigPath: config }), { digest })
    assert.equal(await readFile(join(dir, 'helper-stdin'), 'utf8'), origin)
    const missing = await resolveTagDigest(`${origin}/team/app:v1`, { dockerConfigPath: await writeConfig('nohelper', { credHelpers: { [origin]: 'absent-helper' } }) })
    assert.deepEqual(missing, { unavailable: 'credentials in a credential helper: docker-credential-absent-helper is not installed' })
  } finally {
    process.env.PATH = savedPath
  }
})

test('bounded: a registry that never answers, or is not there', async () => {
  reset()
  hangManifests = true
  assert.deepEqual(await resolveTagDigest(`${origin}/team/app:v1`, { dockerConfigPath: join(dir, 'missing.json'), timeoutMs: 300 }),
    { unavailable: 'the registry did not answer within 300 ms' })
  const closed = createServer()
  closed.listen(0, '127.0.0.1')
  await once(closed, 'listening')
  const freePort = (closed.address() as AddressInfo).port
  closed.close()
  await once(closed, 'close')
  assert.deepEqual(await resolveTagDigest(`127.0.0.1:${freePort}/team/app:v1`, { dockerConfigPath: join(dir, 'missing.json') }),
    { unavailable: 'the registry is unreachable (ECONNREFUSED)' })
})

test('references and hosts', async () => {
  for (const image of [`${origin}/team/app@sha256:${'c'.repeat(64)}`, `${origin}/Team/app:v1`, `${origin}/team/app:v1/../x`, '']) {
    const result = await resolveTagDigest(image, { dockerConfigPath: join(dir, 'missing.json') })
    assert.ok('unavailable' in result, image)
  }
  for (const host of ['127.0.0.1', '127.1.2.3:5000', 'localhost:5000', '[::1]:443', 'localhost']) assert.ok(isLoopbackHost(host), host)
  for (const host of ['128.0.0.1:5000', 'localhost.example', '[::2]', 'registry.example:127', '127.0.0.1.nip.io']) assert.ok(!isLoopbackHost(host), host)
  assert.deepEqual(parseChallenge('Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull,push"'),
    { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'reg', scope: 'repository:a/b:pull,push' } })
})
