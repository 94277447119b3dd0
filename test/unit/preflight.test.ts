import { test } from 'node:test'
import assert from 'node:assert/strict'
import { eligibleNodes, normalizeArch, parseConstraint, runsAny, satisfies } from '../../src/engine/gates/placement.ts'
import { Preflight } from '../../src/engine/gates/preflight.ts'
import type { SwarmNode } from '../../src/docker/swarm-nodes.ts'
import type { ServiceState } from '../../src/docker/swarm.ts'

const node = (hostname: string, extra: Partial<SwarmNode> = {}): SwarmNode => ({
  id: `id-${hostname}`, hostname, role: 'worker', availability: 'active', state: 'ready', os: 'linux', architecture: 'x86_64', labels: {}, engineLabels: {}, ...extra
})
const c = (text: string) => parseConstraint(text)!

test('constraints: ==, != on every key Swarm knows, values case-insensitive; a missing label fails == and passes !=', () => {
  const n = node('web-1', { role: 'manager', labels: { zone: 'eu-1' }, engineLabels: { disk: 'ssd' } })
  assert.ok(satisfies(n, c('node.hostname==WEB-1')))
  assert.ok(satisfies(n, c('node.id==id-web-1')))
  assert.ok(satisfies(n, c('node.role == manager')))
  assert.ok(!satisfies(n, c('node.role!=manager')))
  assert.ok(satisfies(n, c('node.platform.os==linux')))
  assert.ok(satisfies(n, c('node.platform.arch==x86_64')))
  assert.ok(!satisfies(n, c('node.platform.arch==aarch64')))
  assert.ok(satisfies(n, c('node.labels.zone==eu-1')))
  assert.ok(!satisfies(n, c('node.labels.zone==eu-2')))
  assert.ok(!satisfies(n, c('node.labels.gpu==true')), 'a label the node lacks fails ==')
  assert.ok(satisfies(n, c('node.labels.gpu!=true')), 'and passes !=')
  assert.ok(satisfies(n, c('engine.labels.disk==ssd')))
  assert.ok(satisfies(n, c('node.ip==10.0.0.1')), 'a key we do not evaluate is not held against a node')
  assert.equal(parseConstraint('node.labels.zone'), undefined)
})

test('eligible nodes: active, ready and every constraint; each excluded node says why', () => {
  const nodes = [
    node('a', { labels: { zone: 'eu' } }),
    node('b', { labels: { zone: 'us' } }),
    node('c', { labels: { zone: 'eu' }, availability: 'drain' }),
    node('d', { labels: { zone: 'eu' }, state: 'down' })
  ]
  const { eligible, excluded } = eligibleNodes(nodes, ['node.labels.zone==eu'])
  assert.deepEqual(eligible.map((n) => n.hostname), ['a'])
  assert.deepEqual(excluded, ['b: fails node.labels.zone==eu', 'c: availability drain', 'd: down'])
  assert.deepEqual(eligibleNodes(nodes, []).eligible.map((n) => n.hostname), ['a', 'b'])
})

test('platforms: node architectures as uname names them match the image\'s OCI names', () => {
  assert.equal(normalizeArch('x86_64'), 'amd64')
  assert.equal(normalizeArch('aarch64'), 'arm64')
  assert.equal(normalizeArch('armv7l'), 'arm')
  assert.ok(runsAny(node('a'), [{ os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 'amd64' }]))
  assert.ok(!runsAny(node('a'), [{ os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 's390x' }]))
  assert.ok(!runsAny(node('a'), [{ os: 'windows', architecture: 'amd64' }]))
  assert.ok(runsAny(node('p', { architecture: 'aarch64' }), [{ os: 'linux', architecture: 'arm64', variant: 'v8' }]))
})

const service = (constraints?: string[]): ServiceState => ({ id: 's1', name: 'web', version: 1, image: 'r/web:1', forceUpdate: 0, labels: {}, ...(constraints !== undefined && { constraints }) })

test('pre-flight: 409 CU_NO_SUITABLE_NODE when no node fits (constraints first, then platforms); a warning when something cannot be asked', async () => {
  let nodeReads = 0
  const nodes = [node('a'), node('b', { architecture: 'aarch64' })]
  let platforms: Awaited<ReturnType<ConstructorParameters<typeof Preflight>[0]['platforms']>> = { platforms: [{ os: 'linux', architecture: 's390x' }] }
  const preflight = new Preflight({
    nodes: async () => { nodeReads++; return nodes },
    platforms: async () => platforms,
    nodesTtlMs: 60_000
  })
  await assert.rejects(preflight.check(service(), 'r/web:2'), (error: Error & { code?: string, statusCode?: number }) => {
    assert.equal(error.code, 'CU_NO_SUITABLE_NODE')
    assert.equal(error.statusCode, 409)
    assert.match(error.message, /^No node can run the new image of service web: the image offers linux\/s390x, but the nodes it may run on are linux\/amd64, linux\/arm64$/)
    return true
  })
  await assert.rejects(preflight.check(service(['node.role==manager']), 'r/web:2'), /no node is active and ready under the placement constraints node\.role==manager \(a: fails node\.role==manager; b: fails node\.role==manager\)/)
  platforms = { platforms: [{ os: 'linux', architecture: 'arm64' }] }
  assert.deepEqual(await preflight.check(service(), 'r/web:2'), {}, 'node b runs arm64')
  assert.equal(nodeReads, 1, 'the node list is read once and shared within its TTL')
  platforms = { unavailable: 'the registry is unreachable (ECONNREFUSED)' }
  assert.match((await preflight.check(service(), 'r/web:2')).warning ?? '', /^pre-flight: the image's platforms could not be read \(the registry is unreachable \(ECONNREFUSED\)\)/)
  // A constraint that leaves no node is refused even when the registry cannot be asked.
  await assert.rejects(preflight.check(service(['node.labels.x==y']), 'r/web:2'), /CU_NO_SUITABLE_NODE|no node is active/)
  const failing = new Preflight({ nodes: async () => { throw new Error('Docker failed: boom') }, platforms: async () => platforms })
  assert.match((await failing.check(service(), 'r/web:2')).warning ?? '', /the swarm's nodes could not be read \(Docker failed: boom\)/)
})
