import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { bearer, postUpdate, token } from '../helper.ts'
import { REGISTRY, createService, digestOf, docker as dockerCli, inspect, pushImage, swarmSkip, uniqueName, until } from '../swarm-fixtures.ts'
import { callsOf, faultApp, faultyDocker, getRecord, openApi, recordReaches, recordsOf } from '../fault-fixtures.ts'
import { distributionEvent } from '../unit/hooks-payloads.ts'

const NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const DAY = 86_400_000

/** A registry's push notification for repo:latest at `digest`, as the registry would deliver it. */
async function pushHook (app: FastifyInstance, repository: string, digest: string): Promise<void> {
  const res = await app.inject({
    method: 'POST',
    url: '/hooks/distribution',
    headers: { ...bearer(token({ sub: 'registry' })), 'content-type': 'application/json' },
    payload: { events: [distributionEvent({ id: randomUUID(), repository, tag: 'latest', digest, host: REGISTRY })] }
  })
  assert.equal(res.statusCode, 202, res.body)
}

/** Held updates on the real Swarm (docs/API.md, "Update windows"): the wrapper counts every Docker call. */
describe('faults: held updates', { skip: swarmSkip, concurrency: true }, () => {
  test('faults: a hook-triggered update outside its window is held (no service update); a second push joins it; it starts onto the newest image when the label opens the window', async (t) => {
    const name = uniqueName('cu-held')
    // A whole day three days from now (UTC): closed now.
    const opens = Math.floor(Date.now() / DAY) * DAY + 3 * DAY
    const window = `${NAMES[new Date(opens).getUTCDay()]} 00:00-24:00 UTC`
    await pushImage(name, 'latest')
    await createService(t, name, `${REGISTRY}/${name}:latest`, ['--label', `container-updater.window=${window}`, '--label', 'container-updater.on-push=true'])
    const v2 = await pushImage(name, 'latest')
    const before = await inspect(name)
    const docker = await faultyDocker(t)
    // The events stream tells the updater that the service's labels changed.
    const app = await faultApp(t, docker, { EVENTS_STREAM: 'true' })
    const doc = await openApi(app)

    await pushHook(app, name, v2.digest)
    const held = await until('a held record', async () => (await recordsOf(app, name)).find((r) => r.status === 'held'))
    const record = await getRecord(app, doc, held.updateId)
    assert.equal(record.heldUntil, new Date(opens).toISOString())
    assert.match(String(record.message), new RegExp(`window opens at ${new Date(opens).toISOString()}.*${window}`))
    assert.equal(record.trigger, 'hook')

    const v3 = await pushImage(name, 'latest')
    await pushHook(app, name, v3.digest)
    // The second delivery joined the held update: still one record, and nothing reached Swarm.
    await until('the second delivery handled', async () => (await docker.calls()).filter((c) => c.args[0] === 'service' && c.args[1] === 'ls').length >= 2 ? true : undefined)
    assert.deepEqual((await recordsOf(app, name)).map((r) => r.updateId), [held.updateId])
    assert.equal((await callsOf(docker, 'service update')).length, 0, 'no service update while held')
    assert.equal((await inspect(name)).Version.Index, before.Version.Index)
    // An explicit request is still refused 423 meanwhile.
    assert.equal((await postUpdate(app, { appName: name })).statusCode, 423)

    // The operator opens the window: the label change is a service event, the held update starts.
    await dockerCli('service', 'update', '--quiet', '--detach', '--label-add', 'container-updater.window=Mon-Sun 00:00-24:00', name)
    const done = await recordReaches(app, doc, held.updateId, ['completed', 'failed', 'rolled_back', 'paused', 'cancelled'])
    assert.equal(done.status, 'completed', JSON.stringify(done))
    assert.equal((await callsOf(docker, 'service update')).length, 1)
    // Onto the newest image of the tag when it started (v3), not the one of the first push.
    assert.equal(digestOf((await inspect(name)).Spec.TaskTemplate.ContainerSpec.Image), v3.digest)
  })
  test('faults: POST /rollback leaves a held automatic update held (a rollback is no decision about the newer image)', async (t) => {
    const name = uniqueName('cu-held-rb')
    const opens = Math.floor(Date.now() / DAY) * DAY + 3 * DAY
    const window = `${NAMES[new Date(opens).getUTCDay()]} 00:00-24:00 UTC`
    const v1 = await pushImage(name, 'v1')
    await createService(t, name, `${REGISTRY}/${name}:v1`, ['--label', `container-updater.window=${window}`, '--label', 'container-updater.on-push=true'])
    // A previous spec to roll back to, with the same labels.
    const v2 = await pushImage(name, 'latest')
    await dockerCli('service', 'update', '--quiet', '--image', `${REGISTRY}/${name}:latest`, name)
    const v3 = await pushImage(name, 'latest')
    const docker = await faultyDocker(t)
    const app = await faultApp(t, docker)
    const doc = await openApi(app)

    await pushHook(app, name, v3.digest)
    const held = await until('a held record', async () => (await recordsOf(app, name)).find((r) => r.status === 'held'))
    const res = await app.inject({ method: 'POST', url: '/rollback', headers: { ...bearer(), 'content-type': 'application/json' }, payload: JSON.stringify({ appName: name }) })
    assert.equal(res.statusCode, 200, res.body)
    assert.equal(res.json().action, 'rollback')
    assert.equal(digestOf((await inspect(name)).Spec.TaskTemplate.ContainerSpec.Image), v1.digest)
    assert.notEqual(v1.digest, v2.digest)
    const after = await getRecord(app, doc, held.updateId)
    assert.equal(after.status, 'held', JSON.stringify(after))
    assert.equal(after.supersededBy, undefined)
  })
  test('faults: approving while the window is closed, where an unapproved update of the same tag is held, leaves one held record (the approved one)', async (t) => {
    const name = uniqueName('cu-held-two')
    const opens = Math.floor(Date.now() / DAY) * DAY + 3 * DAY
    const window = `${NAMES[new Date(opens).getUTCDay()]} 00:00-24:00 UTC`
    await pushImage(name, 'latest')
    await createService(t, name, `${REGISTRY}/${name}:latest`, ['--label', `container-updater.window=${window}`, '--label', 'container-updater.on-push=true'])
    const docker = await faultyDocker(t)
    const app = await faultApp(t, docker)
    const doc = await openApi(app)
    await pushHook(app, name, (await pushImage(name, 'latest')).digest)
    const held = await until('a held record', async () => (await recordsOf(app, name)).find((r) => r.status === 'held'))
    // The operator asks for approvals from now on: the next push waits for an admin.
    await dockerCli('service', 'update', '--quiet', '--detach', '--label-add', 'container-updater.approve=true', name)
    await pushHook(app, name, (await pushImage(name, 'latest')).digest)
    const pending = await until('a pending record', async () => (await recordsOf(app, name)).find((r) => r.status === 'pending_approval'))
    const approved = await app.inject({ method: 'POST', url: `/updates/${pending.updateId}/approve`, headers: bearer(token({ access: 'admin' })) })
    assert.equal(approved.statusCode, 200, approved.body)
    assert.equal(approved.json().status, 'held')
    const older = await getRecord(app, doc, held.updateId)
    assert.equal(older.status, 'superseded', JSON.stringify(older))
    assert.equal(older.supersededBy, pending.updateId)
    assert.deepEqual((await recordsOf(app, name)).filter((r) => r.status === 'held').map((r) => r.updateId), [pending.updateId])
    assert.equal((await callsOf(docker, 'service update')).length, 0, 'nothing reached Swarm')
  })
})
