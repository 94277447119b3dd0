import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatImageRef, parseImageRef, registryHost, targetImage } from '../../src/docker/image-ref.ts'

const digest = 'sha256:' + 'a'.repeat(64)

test('parses references with registry ports, tags and digests', () => {
  assert.deepEqual(parseImageRef(`127.0.0.1:5000/app:latest@${digest}`), { repository: '127.0.0.1:5000/app', tag: 'latest', digest })
  assert.deepEqual(parseImageRef('127.0.0.1:5000/app'), { repository: '127.0.0.1:5000/app' })
  assert.deepEqual(parseImageRef(`localhost:5000/team/app@${digest}`), { repository: 'localhost:5000/team/app', digest })
  assert.deepEqual(parseImageRef('nginx:1.27'), { repository: 'nginx', tag: '1.27' })
  assert.deepEqual(parseImageRef('ghcr.io/org/app:v2'), { repository: 'ghcr.io/org/app', tag: 'v2' })
  for (const ref of ['', 'app:', 'app@', ':tag', 'a b']) assert.throws(() => parseImageRef(ref), TypeError, ref)
})

test('formats back to the same reference', () => {
  for (const ref of [`127.0.0.1:5000/app:latest@${digest}`, 'nginx', 'reg:443/a/b:c']) assert.equal(formatImageRef(parseImageRef(ref)), ref)
})

test('target image: the tag without the pinned digest, or the requested tag', () => {
  assert.equal(targetImage(`127.0.0.1:5000/app:latest@${digest}`), '127.0.0.1:5000/app:latest')
  assert.equal(targetImage(`127.0.0.1:5000/app:latest@${digest}`, 'v2'), '127.0.0.1:5000/app:v2')
  assert.equal(targetImage('127.0.0.1:5000/app'), '127.0.0.1:5000/app:latest')
  assert.equal(targetImage(`127.0.0.1:5000/app@${digest}`), undefined)
  assert.equal(targetImage(`127.0.0.1:5000/app@${digest}`, 'v3'), '127.0.0.1:5000/app:v3')
})

test('registry host: only a first component that looks like a host', () => {
  assert.equal(registryHost('127.0.0.1:5000/app:latest'), '127.0.0.1:5000')
  assert.equal(registryHost('localhost/app'), 'localhost')
  assert.equal(registryHost('ghcr.io/org/app:v1'), 'ghcr.io')
  assert.equal(registryHost('library/nginx:1'), 'docker.io')
  assert.equal(registryHost('nginx'), 'docker.io')
})

test('image targets compare as Docker normalises repositories', async () => {
  const { normalizeImageTarget } = await import('../../src/docker/image-ref.ts')
  const { runsImage } = await import('../../src/docker/image-match.ts')
  assert.equal(normalizeImageTarget('nginx').full, 'docker.io/library/nginx:latest')
  assert.equal(normalizeImageTarget('index.docker.io/library/nginx:1.27').full, 'docker.io/library/nginx:1.27')
  assert.equal(normalizeImageTarget('user/app:v1').full, 'docker.io/user/app:v1')
  assert.equal(normalizeImageTarget('127.0.0.1:5000/a/b').full, '127.0.0.1:5000/a/b:latest')
  assert.equal(normalizeImageTarget('GHCR.io/org/app:v2').full, 'ghcr.io/org/app:v2')
  assert.throws(() => normalizeImageTarget(`nginx@${digest}`), TypeError)
  const target = normalizeImageTarget('nginx')
  assert.equal(runsImage(`nginx:latest@${digest}`, target), true)
  assert.equal(runsImage(`docker.io/library/nginx@${digest}`, target), false, 'pinned by digest alone: no tag')
  assert.equal(runsImage('docker.io/library/nginx', target), true, 'no tag is latest')
  assert.equal(runsImage('nginx:1.27', target), false)
  assert.equal(runsImage('mirror.example:5000/library/nginx:latest', target), false, 'another registry')
  assert.equal(runsImage('127.0.0.1:5000/a/b:latest', normalizeImageTarget('127.0.0.1:5000/a/b')), true)
})
