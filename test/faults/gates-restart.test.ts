import { before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bearer, token } from '../helper.ts'
import { REGISTRY, createService, digestOf, inspect, pushImage, swarmSkip, uniqueName, until } from '../swarm-fixtures.ts'
import { assertDocumented, callsOf, faultyDocker, type OpenApiDoc, type RecordBody } from '../fault-fixtures.ts'
import { buildOnce, startServer, type Server } from '../server-process.ts'
import { distributionEvent } from '../unit/hooks-payloads.ts'

const NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const DAY = 86_400_000
const FINAL = ['completed', 'rolled_back', 'paused', 'failed', 'superseded', 'cancelled', 'rejected', 'expired']
const admin = bearer(token({ access: 'admin', sub: 'ops' }))

async function call (server: Server, method: string, path: string, body?: unknown): Promise<{ status: number, body: Record<string, unknown> }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...admin, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) })
  })
  const text = await res.text()
  return { status: res.status, body: text === '' ? {} : JSON.parse(text) as Record<string, unknown> }
}

/** A registry's push notification for repo:latest, delivered as a registry would (bearer token of ours). */
async function pushHook (server: Server, repository: string, digest: string): Promise<void> {
  const res = await fetch(`${server.url}/hooks/distribution`, {
    method: 'POST',
    headers: { ...bearer(token({ sub: 'registry' })), 'content-type': 'application/json' },
    body: JSON.stringify({ events: [distributionEvent({ id: randomUUID(), repository, tag: 'latest', digest, host: REGISTRY })] })
  })
  assert.equal(res.status, 202, await res.text())
}

async function recordOf (server: Server, service: string): Promise<RecordBody | undefined> {
  const { body } = await call(server, 'GET', `/updates?service=${service}`)
  return (body.updates as RecordBody[])[0]
}

async function reaches (server: Server, updateId: string, states: string[]): Promise<RecordBody> {
  return until(`${updateId} to reach ${states.join('|')}`, async () => {
    const { body } = await call(server, 'GET', `/updates/${updateId}`)
    return states.includes(String(body.status)) ? body as unknown as RecordBody : undefined
  }, 120_000, 250)
}

/**
 * Freezes, approvals and windows end to end across a restart (docs/API.md, "Freezes",
 * "Approvals", "Update windows"): the server as it ships, on a DATA_DIR, killed and started again.
 */
describe('faults: gates across a restart', { skip: swarmSkip, concurrency: true }, () => {
  before(buildOnce, { timeout: 300_000 })

  test('faults: a frozen, a pending-approval and a window-held update survive SIGKILL; the new window config starts one, deleting the freeze and approving start the others', async (t) => {
    const names = { frozen: uniqueName('cu-g-frozen'), approve: uniqueName('cu-g-approve'), window: uniqueName('cu-g-window') }
    const onPush = ['--label', 'container-updater.on-push=true']
    await Promise.all(Object.values(names).map(async (name) => await pushImage(name, 'latest')))
    await createService(t, names.frozen, `${REGISTRY}/${names.frozen}:latest`, onPush)
    await createService(t, names.approve, `${REGISTRY}/${names.approve}:latest`, [...onPush, '--label', 'container-updater.approve=true'])
    await createService(t, names.window, `${REGISTRY}/${names.window}:latest`, onPush)
    const v2 = { frozen: await pushImage(names.frozen, 'latest'), approve: await pushImage(names.approve, 'latest'), window: await pushImage(names.window, 'latest') }

    const docker = await faultyDocker(t)
    const data = await mkdtemp(join(tmpdir(), 'cu-g-data-'))
    t.after(() => rm(data, { recursive: true, force: true }))
    const env = { DOCKER_BIN: docker.bin, UPDATE_TIMEOUT: '120', DATA_DIR: data, EVENTS_STREAM: 'false' }
    const opens = Math.floor(Date.now() / DAY) * DAY + 3 * DAY
    const first = await startServer(t, { ...env, UPDATE_WINDOWS: `${NAMES[new Date(opens).getUTCDay()]} 00:00-24:00` })
    const doc = await (await fetch(`${first.url}/docs/json`)).json() as OpenApiDoc

    const until2h = new Date(Date.now() + 2 * 3600_000).toISOString()
    const frozen = await call(first, 'POST', '/freezes', { services: [names.frozen], until: until2h, reason: 'audit week' })
    assert.equal(frozen.status, 201, JSON.stringify(frozen.body))
    assertDocumented(doc, { method: 'post', path: '/freezes' }, 201, frozen.body)
    for (const key of ['frozen', 'approve', 'window'] as const) await pushHook(first, names[key], v2[key].digest)

    const parked = {
      frozen: await until('the frozen update held', async () => { const r = await recordOf(first, names.frozen); return r?.status === 'held' ? r : undefined }),
      approve: await until('the update pending approval', async () => { const r = await recordOf(first, names.approve); return r?.status === 'pending_approval' ? r : undefined }),
      window: await until('the window-held update', async () => { const r = await recordOf(first, names.window); return r?.status === 'held' ? r : undefined })
    }
    assert.equal(parked.frozen.heldUntil, until2h)
    assert.match(String(parked.frozen.message), /audit week/)
    assert.match(String(parked.approve.message), new RegExp(`/updates/${parked.approve.updateId}/approve`))
    assert.equal(parked.window.heldUntil, new Date(opens).toISOString())
    assert.equal((await callsOf(docker, 'service update')).length, 0, 'nothing reached Swarm')
    first.child.kill('SIGKILL')
    await first.exited

    // Started again on the same DATA_DIR, without UPDATE_WINDOWS: the window-held update starts now.
    const second = await startServer(t, env)
    const windowEnd = await reaches(second, parked.window.updateId, FINAL)
    assert.equal(windowEnd.status, 'completed', JSON.stringify(windowEnd))
    assert.equal(digestOf((await inspect(names.window)).Spec.TaskTemplate.ContainerSpec.Image), v2.window.digest)
    // The freeze and the pending approval outlived the process.
    const freezes = await call(second, 'GET', '/freezes')
    assert.deepEqual((freezes.body.freezes as Array<{ freezeId: string }>).map((f) => f.freezeId), [frozen.body.freezeId])
    assert.equal((await call(second, 'GET', `/updates/${parked.frozen.updateId}`)).body.status, 'held')
    assert.equal((await call(second, 'GET', `/updates/${parked.approve.updateId}`)).body.status, 'pending_approval')
    assert.equal((await callsOf(docker, 'service update')).length, 1, 'only the window-held update reached Swarm')
    // Meanwhile an explicit update of the frozen service is refused, naming the freeze; a deploy token may not approve.
    const refused = await fetch(`${second.url}/update`, { method: 'POST', headers: { ...bearer(token({ access: 'deploy' })), 'content-type': 'application/json' }, body: JSON.stringify({ appName: names.frozen }) })
    const refusal = await refused.json() as Record<string, unknown>
    assert.equal(refused.status, 423, JSON.stringify(refusal))
    assertDocumented(doc, { method: 'post', path: '/update' }, 423, refusal)
    assert.deepEqual([refusal.code, refusal.freezeId, refusal.reason], ['CU_FROZEN', frozen.body.freezeId, 'audit week'])
    const deployApproves = await fetch(`${second.url}/updates/${parked.approve.updateId}/approve`, { method: 'POST', headers: bearer(token({ access: 'deploy' })) })
    assert.equal(deployApproves.status, 403)
    assert.equal((await callsOf(docker, 'service update')).length, 1)

    assert.equal((await call(second, 'DELETE', `/freezes/${String(frozen.body.freezeId)}`)).status, 204)
    const frozenEnd = await reaches(second, parked.frozen.updateId, FINAL)
    assert.equal(frozenEnd.status, 'completed', JSON.stringify(frozenEnd))
    assert.equal(digestOf((await inspect(names.frozen)).Spec.TaskTemplate.ContainerSpec.Image), v2.frozen.digest)

    const approved = await call(second, 'POST', `/updates/${parked.approve.updateId}/approve`)
    assert.equal(approved.status, 200, JSON.stringify(approved.body))
    assertDocumented(doc, { method: 'post', path: '/updates/{updateId}/approve' }, 200, approved.body)
    const approveEnd = await reaches(second, parked.approve.updateId, FINAL)
    assert.equal(approveEnd.status, 'completed', JSON.stringify(approveEnd))
    assert.equal(digestOf((await inspect(names.approve)).Spec.TaskTemplate.ContainerSpec.Image), v2.approve.digest)
    assert.equal((await callsOf(docker, 'service update')).length, 3)

    second.child.kill('SIGTERM')
    assert.deepEqual(await second.exited, [0, null])
  })
})
