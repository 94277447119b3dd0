import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { loggerOptions } from '../../src/server.ts'
import { bearer, build, testConfig } from '../helper.ts'
import { REGISTRY, digestOf, inspect, swarmSkip, uniqueName, until } from '../swarm-fixtures.ts'
import { callsOf, faultyDocker, serviceWithNewImage, type FaultyDocker } from '../fault-fixtures.ts'
import { distributionEvent, githubHeaders, githubPackage } from '../unit/hooks-payloads.ts'
import { tempDir } from '../unit/store-fixtures.ts'

/**
 * What happens after a registry push delivery was parsed (issues #22 and #24), on the real Swarm
 * through a Docker CLI that counts every call (test/faults/docker-faulty): one restart per service
 * and pushed digest whatever the deliveries, and an event whose service read fails is not lost.
 */
const ON_PUSH = ['--label', 'container-updater.on-push=true']

interface Hooked { app: FastifyInstance, lines: Array<Record<string, unknown>> }

/** The app on the counting Docker, with its log lines captured, on a data directory of its own. */
async function hookedApp (t: TestContext, docker: FaultyDocker, extra: Record<string, string> = {}): Promise<Hooked> {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(JSON.parse(String(chunk)) as Record<string, unknown>); done() } })
  const env = { DOCKER_BIN: docker.bin, DOCKER_COMMAND_TIMEOUT: '20', EVENTS_STREAM: 'false', POLL_INTERVAL_MS: '200', UPDATE_TIMEOUT: '90', DATA_DIR: join(tempDir(t), 'data'), LOG_LEVEL: 'info', ...extra }
  const app = await build(t, env, { logger: { ...loggerOptions(testConfig(env), false) as object, stream } as never })
  return { app, lines }
}

/** One Distribution delivery of a tag push of `${REGISTRY}/<name>:latest`. */
async function deliver (app: FastifyInstance, name: string, id: string, digest: string): Promise<{ accepted: number, duplicate: number }> {
  const body = { events: [distributionEvent({ id, repository: name, tag: 'latest', digest, host: REGISTRY })] }
  const res = await app.inject({ method: 'POST', url: '/hooks/distribution', headers: { ...bearer(), 'content-type': 'application/json' }, payload: JSON.stringify(body) })
  assert.equal(res.statusCode, 202, res.body)
  return res.json() as { accepted: number, duplicate: number }
}

/** The delivery's events were decided (the summary line of push.ts): an event to wait for, not a sleep. */
const summaries = (lines: Hooked['lines']): Array<Record<string, unknown>> => lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('push events: '))

async function onDigest (name: string, digest: string): Promise<void> {
  await until(`${name} on the pushed digest, its update completed`, async () => {
    const now = await inspect(name)
    return digestOf(now.Spec.TaskTemplate.ContainerSpec.Image) === digest && now.UpdateStatus?.State === 'completed' ? true : undefined
  }, 120_000, 250)
}

test('faults: one restart per service and pushed digest: two deliveries of one push 0, 5 and 50 ms apart, a retry of one, and one after the update', { skip: swarmSkip }, async (t) => {
  const docker = await faultyDocker(t)
  const { app, lines } = await hookedApp(t, docker)
  const gaps = [0, 5, 50]
  const services = await Promise.all(gaps.map(async () => serviceWithNewImage(t, 'cu-hook-once', ON_PUSH)))
  await Promise.all(services.map(async (s, i) => {
    const gap = gaps[i]!
    // Two routes of one push (GitHub's `package` and `registry_package`, a registry and its mirror): two event ids.
    const first = deliver(app, s.name, `${s.name}-route-a`, s.v2.digest)
    if (gap > 0) await sleep(gap)
    const second = deliver(app, s.name, `${s.name}-route-b`, s.v2.digest)
    assert.deepEqual(await Promise.all([first, second]), [{ accepted: 1, ignored: 0, ignoredReasons: [], duplicate: 0 }, { accepted: 1, ignored: 0, ignoredReasons: [], duplicate: 0 }])
    // The registry retries the first (same event id): a duplicate.
    assert.deepEqual(await deliver(app, s.name, `${s.name}-route-a`, s.v2.digest), { accepted: 0, ignored: 0, ignoredReasons: [], duplicate: 1 })
  }))
  await Promise.all(services.map(async (s) => onDigest(s.name, s.v2.digest)))

  // After the update, the same push by yet another id: the service already runs the digest.
  const decided = summaries(lines).length
  await Promise.all(services.map(async (s) => deliver(app, s.name, `${s.name}-late`, s.v2.digest)))
  await until('the late deliveries decided', () => summaries(lines).length >= decided + services.length ? true : undefined)

  for (const s of services) {
    const updates = (await callsOf(docker, 'service update')).filter((call) => call.args.includes(s.id))
    assert.equal(updates.length, 1, `${s.name}: exactly one docker service update (${JSON.stringify(updates.map((c) => c.args))})`)
    const now = await inspect(s.name)
    assert.equal(digestOf(now.Spec.TaskTemplate.ContainerSpec.Image), s.v2.digest)
    assert.equal(now.Spec.TaskTemplate.ForceUpdate, 1, 'restarted once')
  }
  const skipped = summaries(lines).flatMap((l) => ((l.hook as { examples?: Array<{ skipped?: Array<{ reason: string }> }> }).examples ?? []).flatMap((e) => e.skipped ?? []))
  assert.ok(skipped.some((s) => s.reason === 'already runs the pushed digest'), JSON.stringify(skipped))
})

const GITHUB_SECRET = 'github-webhook-secret-faults'

/** One signed GitHub delivery (`event`: `package` or `registry_package`) of a tag push of `${REGISTRY}/<name>:latest`. */
function githubDelivery (name: string, digest: string, event: 'package' | 'registry_package'): { headers: Record<string, string>, payload: string } {
  const pkg = githubPackage({ kind: event, owner: 'cu-test', name, tag: 'latest', digest })
  // GitHub names the pullable reference; GITHUB_REGISTRY_HOST is the loopback registry here.
  ;(pkg[event] as { package_version: { package_url: string } }).package_version.package_url = `${REGISTRY}/${name}:latest`
  const payload = JSON.stringify(pkg)
  // Each delivery has its own X-GitHub-Delivery GUID; a redelivery repeats the body and the GUID.
  return { headers: githubHeaders(payload, { secret: GITHUB_SECRET, event, delivery: `${name}-${event}` }), payload }
}

async function deliverGithub (app: FastifyInstance, delivery: { headers: Record<string, string>, payload: string }): Promise<{ accepted: number, ignored: number, duplicate: number }> {
  const res = await app.inject({ method: 'POST', url: '/hooks/github', headers: delivery.headers, payload: delivery.payload })
  assert.equal(res.statusCode, 202, res.body)
  return res.json() as { accepted: number, ignored: number, duplicate: number }
}

test('faults: github: the package and registry_package deliveries of one push 0, 5 and 50 ms apart, and a retry of one, restart the service once', { skip: swarmSkip }, async (t) => {
  const docker = await faultyDocker(t)
  const { app } = await hookedApp(t, docker, { GITHUB_WEBHOOK_SECRET: GITHUB_SECRET, GITHUB_REGISTRY_HOST: REGISTRY })
  const gaps = [0, 5, 50]
  const services = await Promise.all(gaps.map(async () => serviceWithNewImage(t, 'cu-hook-gh', ON_PUSH)))
  await Promise.all(services.map(async (s, i) => {
    const gap = gaps[i]!
    const pkg = githubDelivery(s.name, s.v2.digest, 'package')
    const first = deliverGithub(app, pkg)
    if (gap > 0) await sleep(gap)
    const second = deliverGithub(app, githubDelivery(s.name, s.v2.digest, 'registry_package'))
    // GitHub's retry of the first delivery: the same body, signature and delivery GUID.
    const receipts = [...await Promise.all([first, second]), await deliverGithub(app, pkg)]
    // The two deliveries name one package version, so they are one event: acted on once, whichever came first.
    const total = receipts.reduce((sum, r) => ({ accepted: sum.accepted + r.accepted, ignored: sum.ignored + r.ignored, duplicate: sum.duplicate + r.duplicate }), { accepted: 0, ignored: 0, duplicate: 0 })
    assert.deepEqual(total, { accepted: 1, ignored: 0, duplicate: 2 }, `${s.name} (${gap} ms): ${JSON.stringify(receipts)}`)
  }))
  await Promise.all(services.map(async (s) => onDigest(s.name, s.v2.digest)))

  for (const s of services) {
    const updates = (await callsOf(docker, 'service update')).filter((call) => call.args.includes(s.id))
    assert.equal(updates.length, 1, `${s.name}: exactly one docker service update (${JSON.stringify(updates.map((c) => c.args))})`)
    const now = await inspect(s.name)
    assert.equal(digestOf(now.Spec.TaskTemplate.ContainerSpec.Image), s.v2.digest)
    assert.equal(now.Spec.TaskTemplate.ForceUpdate, 1, 'restarted once')
  }
  const { updates } = (await app.inject({ method: 'GET', url: `/updates?service=${services[0]!.name}&limit=10`, headers: bearer() })).json() as { updates: Array<{ requestedBy: string }> }
  assert.deepEqual(updates.map((u) => u.requestedBy), ['hook:github'])
})

test('faults: a delivery whose service read fails is not lost: read again once; failing on, its id is forgotten and a redelivery acts', { skip: swarmSkip }, async (t) => {
  const docker = await faultyDocker(t, [{ command: 'service ls', calls: [1], fault: 'fail', stderr: 'Error response from daemon: injected failure of service ls' }])
  const { app, lines } = await hookedApp(t, docker)
  const [once, always] = await Promise.all([serviceWithNewImage(t, 'cu-hook-read', ON_PUSH), serviceWithNewImage(t, 'cu-hook-read', ON_PUSH)])

  // One failed `service ls`: the delivery was answered 202, the read is tried again and the service rolls.
  assert.deepEqual(await deliver(app, once.name, `${once.name}-1`, once.v2.digest), { accepted: 1, ignored: 0, ignoredReasons: [], duplicate: 0 })
  await onDigest(once.name, once.v2.digest)
  assert.ok((await docker.calls()).some((c) => c.fault !== null && c.args.join(' ').startsWith('service ls')), 'the read did fail once')

  // Every read fails: after the retries the id is forgotten, so the registry's redelivery is accepted.
  await docker.set([{ command: 'service ls', fault: 'fail', stderr: 'Error response from daemon: injected failure of service ls' }])
  assert.deepEqual(await deliver(app, always.name, `${always.name}-1`, always.v2.digest), { accepted: 1, ignored: 0, ignoredReasons: [], duplicate: 0 })
  await until('the read to be given up', () => lines.some((l) => l.msg === 'push events: could not read the services; their ids are forgotten, so a redelivery acts') ? true : undefined, 60_000)
  assert.equal((await callsOf(docker, 'service update')).filter((c) => c.args.includes(always.id)).length, 0)
  await docker.heal()
  assert.deepEqual(await deliver(app, always.name, `${always.name}-1`, always.v2.digest), { accepted: 1, ignored: 0, ignoredReasons: [], duplicate: 0 }, 'the same event again acts')
  await onDigest(always.name, always.v2.digest)
  for (const s of [once, always]) {
    assert.equal((await callsOf(docker, 'service update')).filter((c) => c.args.includes(s.id)).length, 1, `${s.name}: one update`)
  }
})

test('faults: deliveries arriving while the services are being read share that one docker service ls', { skip: swarmSkip }, async (t) => {
  // The first read is held open (10 s, far more than ten injected requests take) so the others arrive during it.
  const docker = await faultyDocker(t, [{ command: 'service ls', calls: [1], fault: 'delay', ms: 10_000 }])
  const { app, lines } = await hookedApp(t, docker)
  const repo = uniqueName('cu-hook-shared')
  const digest = 'sha256:' + 'd'.repeat(64)
  assert.deepEqual(await deliver(app, repo, 'shared-0', digest), { accepted: 1, ignored: 0, ignoredReasons: [], duplicate: 0 })
  await until('the first read to be in flight', async () => (await callsOf(docker, 'service ls')).length === 1 ? true : undefined)
  for (let n = 1; n < 10; n++) assert.deepEqual(await deliver(app, repo, `shared-${n}`, digest), { accepted: 1, ignored: 0, ignoredReasons: [], duplicate: 0 })
  await until('the ten deliveries decided', () => summaries(lines).length >= 10 ? true : undefined, 60_000)
  assert.equal((await callsOf(docker, 'service ls')).length, 1, 'one read for the ten deliveries')
  assert.ok(summaries(lines).every((l) => (l.hook as { nothingToUpdate: number }).nothingToUpdate === 1))
})
