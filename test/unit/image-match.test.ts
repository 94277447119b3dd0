import { test } from 'node:test'
import assert from 'node:assert/strict'
import { canonicalRegistry, runsImage } from '../../src/docker/image-match.ts'
import { normalizeImageTarget } from '../../src/docker/image-ref.ts'
import { hasLabel, parseLabelSelector } from '../../src/docker/labels.ts'

const digest = 'sha256:' + 'a'.repeat(64)

test('runsImage: one matcher; image targets (exact) and hooks (aliases, any path case) differ only by options', () => {
  const wanted = { registry: 'localhost:5000', path: 'Team/App', tag: 'v1' }
  const aliases = new Map([['localhost:5000', '127.0.0.1:5000'], ['127.0.0.1:5000', '127.0.0.1:5000']])
  // Exact: the path in its own case, no aliases.
  assert.equal(runsImage('LOCALHOST:5000/Team/App:v1', wanted), true, 'the registry host in any case')
  assert.equal(runsImage('localhost:5000/team/app:v1', wanted), false, 'the path as typed')
  assert.equal(runsImage('127.0.0.1:5000/Team/App:v1', wanted), false, 'no aliases unless given')
  // As hooks ask: through the aliases, the path regardless of case.
  const hook = { aliases, ignorePathCase: true }
  assert.equal(runsImage('127.0.0.1:5000/team/app:v1', wanted, hook), true)
  assert.equal(runsImage(`127.0.0.1:5000/team/app:v1@${digest}`, wanted, hook), true, 'a pinned digest beside the tag')
  assert.equal(runsImage('127.0.0.1:5000/team/app:V1', wanted, hook), false, 'tags compare exactly')
  assert.equal(runsImage(`127.0.0.1:5000/team/app@${digest}`, { ...wanted, tag: 'latest' }, hook), false, 'pinned by digest alone: no tag')
  assert.equal(runsImage('not a ref', wanted, hook), false)
  // Both: Docker Hub under each of its names, official images with or without library/.
  for (const options of [{}, hook]) {
    for (const registry of ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'Docker.IO']) {
      assert.equal(runsImage('nginx', { registry, path: 'nginx', tag: 'latest' }, options), true, registry)
      assert.equal(runsImage('index.docker.io/library/nginx:latest', { registry, path: 'library/nginx', tag: 'latest' }, options), true, registry)
    }
  }
  assert.equal(runsImage('nginx:1.27', normalizeImageTarget('docker.io/nginx:1.27')), true)
  assert.equal(canonicalRegistry('Index.Docker.io'), 'docker.io')
  assert.equal(canonicalRegistry('LOCALHOST:5000', aliases), '127.0.0.1:5000')
})

test('labels: `key` for any value, `key=value` for exactly it; only the service\'s own labels count', () => {
  assert.ok(hasLabel({ 'container-updater.enable': 'true' }, 'container-updater.enable=true'))
  assert.ok(!hasLabel({ 'container-updater.enable': 'false' }, 'container-updater.enable=true'))
  assert.ok(hasLabel({ 'container-updater.enable': '' }, 'container-updater.enable'))
  assert.ok(hasLabel({ a: 'x=y' }, 'a=x=y'), 'the value may hold =')
  assert.ok(hasLabel({ a: '' }, 'a='), 'an empty value')
  assert.ok(!hasLabel({ a: 'x' }, 'a='))
  assert.ok(!hasLabel(undefined, 'a'))
  assert.deepEqual(parseLabelSelector(' deploy '), { key: 'deploy', value: undefined })
  assert.throws(() => parseLabelSelector(''), TypeError)
  // Labels come from JSON.parse: plain objects, whose prototype has `constructor` and `toString`.
  // PUSH_LABEL=constructor matched every service before the two label matchers became one.
  const labels = JSON.parse('{"app":"web"}') as Record<string, string>
  for (const inherited of ['constructor', 'toString', '__proto__']) {
    assert.equal(hasLabel(labels, inherited), false, inherited)
    assert.equal(hasLabel(labels, parseLabelSelector(inherited)), false, inherited)
  }
})
