import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { isOnDigest, matchesPush, pushEvent, type PushEvent } from '../../src/hooks/events.ts'
import { parseRegistryAliases } from '../../src/docker/image-match.ts'
import { hasLabel, parseLabelSelector } from '../../src/docker/labels.ts'
import { boundedEventId, DeliveryLog, MAX_EVENT_ID_LENGTH } from '../../src/hooks/deliveries.ts'
import { redactRequestUrl } from '../../src/hooks/redact.ts'
import { secretsEqual, validGithubSignature } from '../../src/hooks/credentials.ts'

const DIGEST = 'sha256:' + 'a'.repeat(64)
const push = (registry: string, repository: string, tag: string, digest?: string): PushEvent =>
  pushEvent({ source: 'distribution', id: 'x', registry, repository, tag, digest })!

test('matchesPush: registry, path and tag as Docker normalises them', () => {
  const event = push('127.0.0.1:5000', 'team/app', 'v1')
  assert.ok(matchesPush('127.0.0.1:5000/team/app:v1', event))
  assert.ok(matchesPush(`127.0.0.1:5000/team/app:v1@${DIGEST}`, event), 'the spec image carries a digest')
  assert.ok(!matchesPush('127.0.0.1:5000/team/app:v2', event), 'other tag')
  assert.ok(!matchesPush('127.0.0.1:5000/team/app', event), 'no tag is latest')
  assert.ok(!matchesPush('127.0.0.1:5001/team/app:v1', event), 'other port')
  assert.ok(!matchesPush('127.0.0.1:5000/team/app-x:v1', event), 'other path')
  assert.ok(!matchesPush('127.0.0.1:5000/app:v1', event), 'shorter path')
  assert.ok(!matchesPush(`127.0.0.1:5000/team/app@${DIGEST}`, event), 'pinned by digest only: follows no tag')
  assert.ok(!matchesPush('not a ref', event))
  assert.ok(matchesPush('127.0.0.1:5000/team/app', push('127.0.0.1:5000', 'team/app', 'latest')))
})

test('matchesPush: registry hosts compare case-insensitively, Docker Hub under all its names', () => {
  assert.ok(matchesPush('Registry.Example.COM/team/app:v1', push('registry.example.com', 'team/app', 'v1')))
  assert.ok(matchesPush('registry.example.com/team/app:v1', push('REGISTRY.example.com', 'team/app', 'v1')))
  const nginx = push('docker.io', 'nginx', '1.27')
  assert.equal(nginx.repository, 'library/nginx')
  for (const image of ['nginx:1.27', 'docker.io/nginx:1.27', 'docker.io/library/nginx:1.27', 'index.docker.io/library/nginx:1.27', 'registry-1.docker.io/library/nginx:1.27']) {
    assert.ok(matchesPush(image, nginx), image)
  }
  assert.ok(matchesPush('nginx:1.27', push('index.docker.io', 'library/nginx', '1.27')))
  assert.ok(!matchesPush('nginx:1.27', push('docker.io', 'acme/nginx', '1.27')))
  assert.ok(matchesPush('acme/app:latest', push('registry-1.docker.io', 'acme/app', 'latest')))
  assert.ok(!matchesPush('ghcr.io/acme/app:latest', push('docker.io', 'acme/app', 'latest')))
})

test('matchesPush: configured aliases join registries, chains included', () => {
  const event = push('localhost:5000', 'team/app', 'v1')
  assert.ok(!matchesPush('127.0.0.1:5000/team/app:v1', event))
  assert.ok(matchesPush('127.0.0.1:5000/team/app:v1', event, 'localhost:5000=127.0.0.1:5000'))
  const aliases = parseRegistryAliases(' a.example:5000 = b.example:5000 , b.example:5000=C.example:5000,x.io=y.io')
  assert.ok(matchesPush('c.example:5000/team/app:v1', push('a.example:5000', 'team/app', 'v1'), aliases))
  assert.ok(!matchesPush('x.io/team/app:v1', push('a.example:5000', 'team/app', 'v1'), aliases))
  assert.ok(matchesPush('y.io/team/app:v1', push('x.io', 'team/app', 'v1'), aliases))
  assert.ok(matchesPush('127.0.0.1:5000/team/app:v1', event, new Map([['localhost:5000', '127.0.0.1:5000']])), 'a plain Map works one way round')
  assert.equal(parseRegistryAliases('').size, 0)
  assert.equal(parseRegistryAliases(undefined).size, 0)
  for (const bad of ['a', 'a=b=c', 'a=', 'a b=c', 'a=b/c']) assert.throws(() => parseRegistryAliases(bad), TypeError, bad)
})

test('isOnDigest: only when the spec already pins the pushed digest', () => {
  const event = push('127.0.0.1:5000', 'team/app', 'v1', DIGEST)
  assert.ok(isOnDigest(`127.0.0.1:5000/team/app:v1@${DIGEST}`, event))
  assert.ok(!isOnDigest('127.0.0.1:5000/team/app:v1@sha256:' + 'b'.repeat(64), event))
  assert.ok(!isOnDigest('127.0.0.1:5000/team/app:v1', event))
  assert.ok(!isOnDigest(`127.0.0.1:5000/team/app:v1@${DIGEST}`, push('127.0.0.1:5000', 'team/app', 'v1')), 'no digest in the event')
})

test('pushEvent refuses what is not a tag push', () => {
  const base = { source: 'distribution' as const, id: 'x', registry: 'r.io', repository: 'a/b' }
  assert.equal(pushEvent({ ...base, tag: undefined }), undefined)
  assert.equal(pushEvent({ ...base, tag: '' }), undefined)
  assert.equal(pushEvent({ ...base, tag: DIGEST }), undefined, 'a digest is not a tag')
  assert.equal(pushEvent({ ...base, tag: '-bad' }), undefined)
  assert.equal(pushEvent({ ...base, repository: 'a b', tag: 'v1' }), undefined)
  assert.equal(pushEvent({ ...base, registry: '', tag: 'v1' }), undefined)
  assert.deepEqual(pushEvent({ ...base, registry: 'R.io', repository: 'A/b', tag: 'v1', digest: 'nonsense' }), { ...base, registry: 'r.io', repository: 'a/b', tag: 'v1' })
})

test('PUSH_LABEL: key=value, or key alone for any value', () => {
  const label = parseLabelSelector('container-updater.on-push=true')
  assert.deepEqual(label, { key: 'container-updater.on-push', value: 'true' })
  assert.ok(hasLabel({ 'container-updater.on-push': 'true' }, label))
  assert.ok(!hasLabel({ 'container-updater.on-push': 'false' }, label))
  assert.ok(!hasLabel(undefined, label))
  assert.ok(hasLabel({ deploy: '' }, parseLabelSelector('deploy')))
  assert.throws(() => parseLabelSelector('=x'), TypeError)
})

test('DeliveryLog: a repeated id is a duplicate until it ages out or is pushed out', () => {
  let now = 0
  const log = new DeliveryLog({ max: 3, ttlMs: 1000, now: () => now })
  const remember = (id: string): boolean => log.remember('distribution', [id])[0]!
  assert.ok(remember('a'))
  assert.ok(!remember('a'))
  now = 999
  assert.ok(!remember('a'), 'still within the TTL')
  now = 1999
  assert.ok(remember('a'), 'aged out (its first sighting counts, not the repeats)')
  for (const id of ['b', 'c', 'd']) assert.ok(remember(id))
  assert.equal(log.size, 3)
  assert.ok(remember('a'), 'the oldest was pushed out')
  assert.ok(!remember('d'))
  log.forget('distribution', ['d'])
  assert.ok(remember('d'))
  assert.deepEqual(log.remember('harbor', ['d', 'd']), [true, false], 'another source is another event; one body may repeat an id')
})

test('DeliveryLog: bounded in bytes; long ids are kept as a hash, still recognised', () => {
  const log = new DeliveryLog({ max: 1000, maxBytes: 64 * 1024 })
  const huge = (n: number): string => `${n}-${'x'.repeat(450 * 1024)}`
  for (let n = 0; n < 50; n++) assert.deepEqual(log.remember('distribution', [huge(n)]), [true])
  assert.equal(log.size, 50)
  assert.ok(log.bytes < 50 * 200, `50 ids of 450 kB weigh ${log.bytes} bytes`)
  assert.deepEqual(log.remember('distribution', [huge(7)]), [false], 'the same long id again is a duplicate')
  assert.equal(boundedEventId('short-id'), 'short-id')
  assert.match(boundedEventId(huge(1)), /^sha256:[0-9a-f]{64}$/)
  assert.equal(boundedEventId('y'.repeat(MAX_EVENT_ID_LENGTH)).length, MAX_EVENT_ID_LENGTH)
  // Short ids are not hashed, so the byte bound is what keeps many of them in check.
  for (let n = 0; n < 1000; n++) log.remember('distribution', [`${n}-${'z'.repeat(100)}`])
  assert.ok(log.bytes <= 64 * 1024, `kept ${log.bytes} bytes`)
  assert.ok(log.size < 1000, 'the oldest were pushed out by size before count')
})

test('redactRequestUrl: path only, Docker Hub token redacted in every spelling', () => {
  const token = 'x'.repeat(40)
  assert.equal(redactRequestUrl(`/hooks/dockerhub/${token}`), '/hooks/dockerhub/[redacted]')
  assert.equal(redactRequestUrl(`/hooks/dockerhub/${token}?a=b`), '/hooks/dockerhub/[redacted]')
  assert.equal(redactRequestUrl(`/hooks/dockerhub/${token}/more`), '/hooks/dockerhub/[redacted]')
  assert.equal(redactRequestUrl(`//HOOKS//DockerHub//${token}`), '//HOOKS//DockerHub/[redacted]')
  // Decoded (again, as long as that changes it) before it is matched: percent-encoding hides nothing.
  assert.equal(redactRequestUrl(`/hooks%2Fdockerhub%2F${token}`), '/hooks/dockerhub/[redacted]')
  assert.equal(redactRequestUrl(`/%68ooks/%2564ockerhub/${token}`), '/hooks/dockerhub/[redacted]')
  assert.equal(redactRequestUrl(`/hooks/%64ockerhub/%zz${token}`), '/hooks/dockerhub/[redacted]', 'a malformed escape does not stop decoding')
  // A request Fastify routed to the hook is named by its route, whatever its spelling.
  assert.equal(redactRequestUrl(`/hooks/docker%68ub/${token}`, '/hooks/dockerhub/:token'), '/hooks/dockerhub/[redacted]')
  assert.equal(redactRequestUrl('/update?token=secret'), '/update')
  assert.equal(redactRequestUrl('/hooks/github'), '/hooks/github')
  for (const url of [`/hooks/dockerhub/${token}`, `//hooks/dockerhub/${token}#x`, `/hooks/dockerhub%2f${token}`]) assert.ok(!redactRequestUrl(url).includes(token), url)
})

test('credentials: GitHub signature over the exact bytes; constant-time secret comparison', () => {
  const raw = Buffer.from('{"action":"published"}')
  const sig = 'sha256=' + createHmac('sha256', 's3cret').update(raw).digest('hex')
  assert.ok(validGithubSignature(raw, sig, 's3cret'))
  assert.ok(validGithubSignature(raw, sig.toUpperCase().replace('SHA256=', 'sha256='), 's3cret'), 'hex in either case')
  assert.ok(!validGithubSignature(Buffer.from('{"action": "published"}'), sig, 's3cret'), 're-serialised body')
  assert.ok(!validGithubSignature(raw, sig, 'other'))
  assert.ok(!validGithubSignature(raw, undefined, 's3cret'))
  assert.ok(!validGithubSignature(raw, [sig, sig], 's3cret'))
  assert.ok(!validGithubSignature(raw, sig.replace('sha256=', 'sha1='), 's3cret'))
  assert.ok(!validGithubSignature(raw, sig.slice(0, -2), 's3cret'))
  assert.ok(secretsEqual('a'.repeat(32), 'a'.repeat(32)))
  assert.ok(!secretsEqual('a'.repeat(32), 'a'.repeat(33)))
  assert.ok(!secretsEqual('', 'a'))
})
