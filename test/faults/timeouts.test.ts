import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { postUpdate } from '../helper.ts'
import { REGISTRY, createService, digestOf, inspect, pushImage, swarmSkip, uniqueName, until } from '../swarm-fixtures.ts'
import { assertAgrees, assertDocumented, callsOf, faultApp, faultyDocker, getRecord, openApi, recordReaches } from '../fault-fixtures.ts'

const POST_UPDATE = { method: 'post', path: '/update' }
const FINAL = ['completed', 'rolled_back', 'paused', 'failed', 'superseded', 'cancelled']

/** A service on `:v1`, with `:v2` pushed: two targets a caller can choose between. */
async function twoTags (t: Parameters<typeof createService>[0], prefix: string, extra: string[] = []) {
  const name = uniqueName(prefix)
  await pushImage(name, 'v1')
  await createService(t, name, `${REGISTRY}/${name}:v1`, extra)
  const v2 = await pushImage(name, 'v2')
  return { name, v2 }
}

/**
 * UPDATE_TIMEOUT on the real Swarm (issue #12): counted from the request's arrival, time in the
 * queue included; after a timeout a later request may start a new update, and the timed-out record
 * is settled `superseded`, never credited with the later update's result.
 */
describe('faults: timeouts and supersession on the real Swarm', { skip: swarmSkip, concurrency: true }, () => {
  test('faults: UPDATE_TIMEOUT counts from the arrival: a request queued behind a running update is answered timeout at its own deadline', async (t) => {
    const { name, v2 } = await twoTags(t, 'cu-f-arrival')
    // A's Docker update call is held 3 s and B's 9 s. B, queued behind A, cannot end before
    // 3 + 9 s + twice Swarm's own time (4 s or more each): past its 16 s counted from its arrival,
    // whether A completes or times out (then B starts at A's deadline, and needs 9 s more). Counted
    // from B's own start (9 s + Swarm's time) it would complete.
    const docker = await faultyDocker(t, [
      { id: 'A', command: 'service update', calls: [1], fault: 'delay', ms: 3000 },
      { id: 'B', command: 'service update', calls: [2], fault: 'delay', ms: 9000 }
    ])
    const app = await faultApp(t, docker, { UPDATE_TIMEOUT: '16', DOCKER_COMMAND_TIMEOUT: '30', EVENTS_STREAM: 'true' })
    const doc = await openApi(app)
    const a = postUpdate(app, { appName: name, tag: 'v1' })
    await until('A to call Docker', async () => (await callsOf(docker, 'service update')).length === 1 ? true : undefined)
    const b = postUpdate(app, { appName: name, tag: 'v2' })
    const [resA, resB] = await Promise.all([a, b])
    // A completes in time, or (on a slow machine) is answered timeout and superseded by B.
    assert.ok(resA.statusCode === 200 || resA.statusCode === 504, resA.body)
    assertDocumented(doc, POST_UPDATE, resA.statusCode, resA.json())
    assert.equal(resB.statusCode, 504, resB.body)
    assertDocumented(doc, POST_UPDATE, 504, resB.json())
    const recordB = resB.json()
    assert.equal(recordB.status, 'timeout')
    const updates = await callsOf(docker, 'service update')
    assert.equal(updates.length, 2, 'B did start, after A')
    assert.ok(Date.parse(recordB.startedAt) < updates[1]!.t - 2000, 'B\'s clock started at its arrival, well before its Docker update')
    const settled = await recordReaches(app, doc, recordB.updateId, FINAL)
    assert.equal(settled.status, 'completed', 'B goes on in Swarm and reaches its real end')
    assertAgrees(settled, await inspect(name))
    assert.equal(digestOf(settled.image ?? ''), v2.digest)
  })

  test('faults: after a timeout a later request supersedes the timed-out update; the earlier record ends superseded, never with the later result', async (t) => {
    // Swarm takes 12 s to finish an update here; callers wait 4 s.
    const { name, v2 } = await twoTags(t, 'cu-f-supersede', ['--update-monitor', '12s'])
    const docker = await faultyDocker(t)
    const app = await faultApp(t, docker, { UPDATE_TIMEOUT: '4', EVENTS_STREAM: 'true' })
    const doc = await openApi(app)
    const resA = await postUpdate(app, { appName: name, tag: 'v1' })
    assert.equal(resA.statusCode, 504, resA.body)
    assertDocumented(doc, POST_UPDATE, 504, resA.json())
    assert.equal(resA.json().status, 'timeout')
    const resB = await postUpdate(app, { appName: name, tag: 'v2' })
    assertDocumented(doc, POST_UPDATE, resB.statusCode, resB.json())
    const idB = resB.json().updateId
    assert.ok(typeof idB === 'string' && idB !== resA.json().updateId, 'B is an update of its own')
    const recordA = await recordReaches(app, doc, resA.json().updateId, FINAL)
    assert.equal(recordA.status, 'superseded')
    assert.equal(recordA.supersededBy, idB)
    const recordB = await recordReaches(app, doc, idB, FINAL)
    assert.equal(recordB.status, 'completed')
    assertAgrees(recordB, await inspect(name))
    assert.equal(digestOf(recordB.image ?? ''), v2.digest)
    const finalA = await getRecord(app, doc, resA.json().updateId)
    assert.equal(finalA.status, 'superseded', 'A stays superseded after B completed')
    assert.notEqual(finalA.image, recordB.image, 'A is never credited with B\'s image')
    assert.equal((await callsOf(docker, 'service update')).length, 2)
    const metrics = (await app.inject('/metrics')).body
    assert.match(metrics, new RegExp(`container_updater_updates_total\\{service="${name}",result="superseded"\\} 1\n`))
    assert.match(metrics, new RegExp(`container_updater_updates_total\\{service="${name}",result="completed"\\} 1\n`))
  })

  test('faults: a Docker update call still in flight at the timeout is not overlapped by the next update; the later record is not credited with the earlier write', async (t) => {
    const { name, v2 } = await twoTags(t, 'cu-f-overlap')
    // A's `service update` is held 6 s, past A's 3 s deadline; B is asked for right after A's 504.
    const docker = await faultyDocker(t, [{ command: 'service update', calls: [1], fault: 'delay', ms: 6000 }])
    const app = await faultApp(t, docker, { UPDATE_TIMEOUT: '3', DOCKER_COMMAND_TIMEOUT: '30', EVENTS_STREAM: 'true' })
    const doc = await openApi(app)
    const resA = await postUpdate(app, { appName: name, tag: 'v1' })
    assert.equal(resA.statusCode, 504, resA.body)
    const resB = await postUpdate(app, { appName: name, tag: 'v2' })
    assertDocumented(doc, POST_UPDATE, resB.statusCode, resB.json())
    const recordB = await recordReaches(app, doc, resB.json().updateId, FINAL)
    const recordA = await recordReaches(app, doc, resA.json().updateId, FINAL)
    const after = await inspect(name)
    // Whatever the order, each record tells its own update's truth, and Swarm agrees with the last.
    if (recordB.status === 'completed') {
      assertAgrees(recordB, after)
      assert.equal(digestOf(recordB.image ?? ''), v2.digest, `B completed with its own image, not A's late write (${recordB.image})`)
    }
    assert.notEqual(recordA.status, 'completed', 'A was superseded or failed, never completed with B\'s result')
    assert.ok(recordA.image === null || !recordA.image.includes(':v2@'), 'A is not credited with B\'s image')
  })
})
