import { test, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import { checkTagDigest } from '../../src/docker/registry-digest.ts'
import { listTags, nextLink } from '../../src/docker/registry-tags.ts'
import { budgetOf, TokenCache } from '../../src/docker/registry-session.ts'
import { loopbackRegistry } from '../loopback-registry.ts'

/**
 * The watcher's reads against a registry emulated on loopback: token reuse across checks, tag
 * pagination by Link, and the budget headers (429 + Retry-After, RateLimit-Remaining, 5xx) that
 * make the watcher back off. The real registry is exercised by the Swarm tests.
 */
const digest = 'sha256:' + 'c'.repeat(64)
const allTags = Array.from({ length: 25 }, (_, i) => `1.${i}.0`)
let seen: Array<{ method: string, path: string, authorization?: string }> = []
let mode: 'ok' | 'limited' | 'down' | 'remaining' = 'ok'

const served = loopbackRegistry((req, res) => {
  const url = new URL(req.url!, 'http://x')
  seen.push({ method: req.method!, path: url.pathname + url.search, ...(req.headers.authorization !== undefined && { authorization: req.headers.authorization }) })
  if (url.pathname === '/token') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'tok', expires_in: 300 }))
  if (req.headers.authorization !== 'Bearer tok') {
    return res.writeHead(401, { 'www-authenticate': `Bearer realm="${served.origin}/token",service="test",scope="repository:team/app:pull"` }).end()
  }
  if (mode === 'limited') return res.writeHead(429, { 'retry-after': '120' }).end()
  if (mode === 'down') return res.writeHead(503).end()
  const budget = mode === 'remaining' ? { 'ratelimit-remaining': '3;w=21600' } : {}
  if (url.pathname === '/v2/team/app/manifests/1.2.3') return res.writeHead(200, { 'docker-content-digest': digest, ...budget }).end()
  if (url.pathname === '/v2/team/app/tags/list') {
    const n = Number(url.searchParams.get('n'))
    const last = url.searchParams.get('last')
    const start = last === null ? 0 : allTags.indexOf(last) + 1
    const page = allTags.slice(start, start + n)
    const more = start + n < allTags.length
    const link = url.searchParams.get('evil') !== null ? { link: '<http://127.0.0.2:1/v2/team/app/tags/list?n=10>; rel="next"' } : more ? { link: `</v2/team/app/tags/list?n=${n}&last=${page.at(-1)}>; rel="next"` } : {}
    return res.writeHead(200, { 'content-type': 'application/json', ...link, ...budget }).end(JSON.stringify({ name: 'team/app', tags: page }))
  }
  res.writeHead(404).end()
})

beforeEach(() => { seen = []; mode = 'ok' })

const image = (): string => `${served.origin.replace('http://', '')}/team/app:1.2.3`

test('bearer tokens are reused across checks until they expire', async () => {
  const tokens = new TokenCache()
  for (let i = 0; i < 3; i++) {
    const check = await checkTagDigest(image(), { dockerConfigPath: served.config, tokens })
    // Every answer is reported (the watcher's request metrics): the challenge once, then the 200s.
    assert.deepEqual(check, { digest, budget: {}, responses: i === 0 ? [{ method: 'HEAD', status: 401 }, { method: 'HEAD', status: 200 }] : [{ method: 'HEAD', status: 200 }] })
  }
  assert.equal(seen.filter((s) => s.path.startsWith('/token')).length, 1)
  // First HEAD unauthenticated (401), then one HEAD with the token per check.
  assert.deepEqual(seen.map((s) => s.method), ['HEAD', 'GET', 'HEAD', 'HEAD', 'HEAD'])
  let now = Date.now()
  const clock = new TokenCache(() => now)
  await checkTagDigest(image(), { dockerConfigPath: served.config, tokens: clock })
  now += 300_000
  seen = []
  await checkTagDigest(image(), { dockerConfigPath: served.config, tokens: clock })
  assert.equal(seen.filter((s) => s.path.startsWith('/token')).length, 1, 'an expired token is fetched again')
})

test('tag listing follows Link pages, bounded', async () => {
  const tokens = new TokenCache()
  const listed = await listTags(image(), { dockerConfigPath: served.config, tokens, pageSize: 10 })
  assert.ok('tags' in listed)
  assert.deepEqual(listed.tags, allTags)
  assert.equal(listed.requests, 3)
  const bounded = await listTags(image(), { dockerConfigPath: served.config, tokens, pageSize: 10, maxPages: 2 })
  assert.deepEqual(bounded, { unavailable: 'the registry lists more than 2 pages of tags', backoff: false, budget: {}, requests: 2, responses: [{ method: 'GET', status: 200 }, { method: 'GET', status: 200 }] })
})

test('a Link to another origin or path is not followed', () => {
  assert.equal(nextLink('<http://127.0.0.2:1/v2/team/app/tags/list?n=10>; rel="next"', 'team/app'), undefined)
  assert.equal(nextLink('</v2/other/tags/list?n=10>; rel="next"', 'team/app'), undefined)
  assert.equal(nextLink('</v2/team/app/tags/list?n=10&last=a>; rel="next"', 'team/app'), '/v2/team/app/tags/list?n=10&last=a')
  assert.equal(nextLink(null, 'team/app'), undefined)
})

test('429 with Retry-After, 5xx and RateLimit-Remaining reach the caller as a budget', async () => {
  const tokens = new TokenCache()
  mode = 'limited'
  assert.deepEqual(await checkTagDigest(image(), { dockerConfigPath: served.config, tokens }),
    { unavailable: 'the registry limits requests (429)', backoff: true, budget: { retryAfterMs: 120_000 }, responses: [{ method: 'HEAD', status: 401 }, { method: 'HEAD', status: 429 }] })
  mode = 'down'
  const down = await listTags(image(), { dockerConfigPath: served.config, tokens })
  assert.equal('unavailable' in down && down.backoff, true)
  mode = 'remaining'
  assert.deepEqual(await checkTagDigest(image(), { dockerConfigPath: served.config, tokens }), { digest, budget: { remaining: 3 }, responses: [{ method: 'HEAD', status: 200 }] })
  mode = 'ok'
  const missing = await checkTagDigest(image().replace(':1.2.3', ':9.9.9'), { dockerConfigPath: served.config, tokens })
  assert.deepEqual(missing, { unavailable: 'the tag does not exist in the registry (404)', backoff: false, budget: {}, responses: [{ method: 'HEAD', status: 404 }] })
})

test('network errors back off; refusals of our own do not', async () => {
  const closed = await checkTagDigest('127.0.0.1:1/team/app:1', { dockerConfigPath: served.config, timeoutMs: 2000 })
  assert.equal('unavailable' in closed && closed.backoff, true)
  assert.deepEqual(closed.responses, [{ method: 'HEAD', status: 'error' }])
  const invalid = await checkTagDigest('127.0.0.1:1/Team/app:1', { dockerConfigPath: served.config })
  assert.deepEqual(invalid, { unavailable: 'invalid image reference', backoff: false, budget: {}, responses: [] })
})

test('Retry-After as an HTTP date', () => {
  const now = Date.parse('2026-01-01T00:00:00Z')
  assert.deepEqual(budgetOf(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:01:00 GMT' }), now), { retryAfterMs: 60_000 })
  assert.deepEqual(budgetOf(new Headers({ 'retry-after': 'soon' }), now), {})
})
