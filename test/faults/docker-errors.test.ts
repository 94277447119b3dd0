import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { postUpdate } from '../helper.ts'
import { digestOf, inspect, swarmSkip } from '../swarm-fixtures.ts'
import {
  assertAgrees, assertDocumented, assertErrorBody, callsOf, dockerErrors, faultApp, faultyDocker, getRecord, openApi,
  recordReaches, recordsOf, serviceWithNewImage
} from '../fault-fixtures.ts'

const POST_UPDATE = { method: 'post', path: '/update' }
const READYZ = { method: 'get', path: '/readyz' }

/**
 * Docker hanging, refusing and garbling its answers under a real update (issue #12): every answer
 * is the documented one for its status, and every record agrees with `docker service inspect`.
 */
describe('faults: Docker errors on the real Swarm', { skip: swarmSkip, concurrency: true }, () => {
  test('faults: `service update` hanging past DOCKER_COMMAND_TIMEOUT without reaching Swarm is 504 CU_DOCKER_TIMEOUT, the record failed, the service untouched', async (t) => {
    const { name } = await serviceWithNewImage(t, 'cu-f-hang')
    const docker = await faultyDocker(t, [{ command: 'service update', fault: 'hang' }])
    const app = await faultApp(t, docker, { DOCKER_COMMAND_TIMEOUT: '3' })
    const doc = await openApi(app)
    const before = await inspect(name)
    const res = await postUpdate(app, { appName: name })
    assertDocumented(doc, POST_UPDATE, 504, res.json())
    assert.match(assertErrorBody(res, 504, 'CU_DOCKER_TIMEOUT').message, /did not answer in time/)
    const after = await inspect(name)
    assert.equal(after.Version.Index, before.Version.Index, 'Swarm never saw the update')
    assert.equal(after.Spec.TaskTemplate.ContainerSpec.Image, before.Spec.TaskTemplate.ContainerSpec.Image)
    assert.equal((await callsOf(docker, 'service update')).length, 1, 'a hung write is not blindly repeated')
    const [listed] = await recordsOf(app, name)
    const record = await getRecord(app, doc, listed!.updateId)
    assert.equal(record.status, 'failed')
    assert.match(record.message ?? '', /did not answer in time/)
    assert.equal(record.previousImage, before.Spec.TaskTemplate.ContainerSpec.Image)
    assert.ok(record.image === null || record.image === after.Spec.TaskTemplate.ContainerSpec.Image, `record image ${record.image} is not Swarm's`)
  })

  test('faults: `service update` that reached Swarm and then hung (an uncertain write) is read again and followed: 200 completed', async (t) => {
    const { name, v2 } = await serviceWithNewImage(t, 'cu-f-uncertain')
    const docker = await faultyDocker(t, [{ command: 'service update', calls: [1], fault: 'run-then-hang' }])
    // Time enough for the real command to end before the hang is killed: the write surely reached Swarm.
    const app = await faultApp(t, docker, { DOCKER_COMMAND_TIMEOUT: '10' })
    const doc = await openApi(app)
    const before = await inspect(name)
    const res = await postUpdate(app, { appName: name })
    assert.equal(res.statusCode, 200, res.body)
    assertDocumented(doc, POST_UPDATE, 200, res.json())
    const record = await getRecord(app, doc, res.json().updateId)
    assert.equal(record.status, 'completed')
    const after = await inspect(name)
    assertAgrees(record, after)
    assert.equal(digestOf(record.image ?? ''), v2.digest)
    assert.equal((after.Spec.TaskTemplate.ForceUpdate ?? 0) - (before.Spec.TaskTemplate.ForceUpdate ?? 0), 1, 'one Docker update, not a second one after the hang')
    assert.deepEqual((await callsOf(docker, 'service update')).map((c) => c.fault), ['run-then-hang'])
    assert.deepEqual((await docker.calls()).filter((c) => c.phase === 'ran').map((c) => c.code), [0], 'the real `service update` ran, then the CLI hung')
  })

  test('faults: Docker daemon unreachable is 503 CU_DOCKER_UNAVAILABLE with the reason, and /readyz is 503', async (t) => {
    const { name } = await serviceWithNewImage(t, 'cu-f-down')
    const docker = await faultyDocker(t, [{ fault: 'fail', stderr: dockerErrors.unreachable }])
    const app = await faultApp(t, docker)
    const doc = await openApi(app)
    const before = await inspect(name)
    const res = await postUpdate(app, { appName: name })
    assertDocumented(doc, POST_UPDATE, 503, res.json())
    assert.match(assertErrorBody(res, 503, 'CU_DOCKER_UNAVAILABLE').message, /cannot connect to the Docker daemon/i)
    const ready = await app.inject('/readyz')
    assertDocumented(doc, READYZ, 503, ready.json())
    assert.match(assertErrorBody(ready, 503, 'CU_DOCKER_UNAVAILABLE').message, /cannot connect to the Docker daemon/i)
    assert.equal((await inspect(name)).Version.Index, before.Version.Index)
    assert.equal((await callsOf(docker, 'service update')).length, 0)
  })

  test('faults: permission denied on the socket is 503 CU_DOCKER_PERMISSION_DENIED naming --group-add, and /readyz says the same', async (t) => {
    const { name } = await serviceWithNewImage(t, 'cu-f-perm')
    const docker = await faultyDocker(t, [{ fault: 'fail', stderr: dockerErrors.permission }])
    const app = await faultApp(t, docker)
    const doc = await openApi(app)
    const res = await postUpdate(app, { appName: name })
    assertDocumented(doc, POST_UPDATE, 503, res.json())
    assert.match(assertErrorBody(res, 503, 'CU_DOCKER_PERMISSION_DENIED').message, /--group-add \d+/)
    const ready = await app.inject('/readyz')
    assertDocumented(doc, READYZ, 503, ready.json())
    assert.match(assertErrorBody(ready, 503, 'CU_DOCKER_PERMISSION_DENIED').message, /--group-add \d+/)
  })

  test('faults: "update out of sequence" on the first two update calls is retried after a fresh read: 200, one Docker update', async (t) => {
    const { name, v2 } = await serviceWithNewImage(t, 'cu-f-seq')
    const docker = await faultyDocker(t, [{ command: 'service update', first: 2, fault: 'fail', stderr: dockerErrors.outOfSequence }])
    const app = await faultApp(t, docker)
    const doc = await openApi(app)
    const before = await inspect(name)
    const res = await postUpdate(app, { appName: name })
    assert.equal(res.statusCode, 200, res.body)
    assertDocumented(doc, POST_UPDATE, 200, res.json())
    const after = await inspect(name)
    assertAgrees(await getRecord(app, doc, res.json().updateId), after)
    assert.equal(digestOf(res.json().image), v2.digest)
    assert.equal((after.Spec.TaskTemplate.ForceUpdate ?? 0) - (before.Spec.TaskTemplate.ForceUpdate ?? 0), 1)
    assert.equal((await callsOf(docker, 'service update')).length, 3)
  })

  test('faults: "update out of sequence" on every update call is 409 CU_OUT_OF_SEQUENCE (an error body, not a 500), the record failed', async (t) => {
    const { name } = await serviceWithNewImage(t, 'cu-f-seqall')
    const docker = await faultyDocker(t, [{ command: 'service update', fault: 'fail', stderr: dockerErrors.outOfSequence }])
    const app = await faultApp(t, docker)
    const doc = await openApi(app)
    const before = await inspect(name)
    const res = await postUpdate(app, { appName: name })
    assertDocumented(doc, POST_UPDATE, 409, res.json())
    assert.match(assertErrorBody(res, 409, 'CU_OUT_OF_SEQUENCE').message, /update out of sequence/)
    assert.equal((await inspect(name)).Version.Index, before.Version.Index)
    assert.ok((await callsOf(docker, 'service update')).length > 1, 'retried before giving up')
    const [listed] = await recordsOf(app, name)
    assert.equal((await getRecord(app, doc, listed!.updateId)).status, 'failed')
  })

  test('faults: "service X is ambiguous" from inspect is 404 CU_SERVICE_NOT_FOUND and nothing is updated', async (t) => {
    const { name } = await serviceWithNewImage(t, 'cu-f-ambig')
    const docker = await faultyDocker(t, [{ command: 'service inspect', fault: 'fail', stderr: dockerErrors.ambiguous(name) }])
    const app = await faultApp(t, docker)
    const doc = await openApi(app)
    const before = await inspect(name)
    const res = await postUpdate(app, { appName: name })
    assertDocumented(doc, POST_UPDATE, 404, res.json())
    assertErrorBody(res, 404, 'CU_SERVICE_NOT_FOUND')
    assert.equal((await inspect(name)).Version.Index, before.Version.Index)
    assert.equal((await callsOf(docker, 'service update')).length, 0)
  })

  test('faults: garbage or truncated JSON from inspect is 502 CU_DOCKER_FAILED without parser text; /readyz on garbage is 503 without it', async (t) => {
    const { name } = await serviceWithNewImage(t, 'cu-f-garbage')
    const docker = await faultyDocker(t, [{ command: 'service inspect', fault: 'garbage' }])
    const app = await faultApp(t, docker)
    const doc = await openApi(app)
    const before = await inspect(name)
    const garbled = await postUpdate(app, { appName: name })
    assertDocumented(doc, POST_UPDATE, 502, garbled.json())
    assert.match(assertErrorBody(garbled, 502, 'CU_DOCKER_FAILED').message, /unreadable answer from docker service inspect/)
    await docker.set([{ command: 'service inspect', fault: 'truncate' }])
    const truncated = await postUpdate(app, { appName: name })
    assertDocumented(doc, POST_UPDATE, 502, truncated.json())
    assertErrorBody(truncated, 502, 'CU_DOCKER_FAILED')
    await docker.set([{ command: 'info', fault: 'garbage', stdout: '{"LocalNodeState": "act' }])
    const ready = await app.inject('/readyz')
    assertDocumented(doc, READYZ, 503, ready.json())
    assert.equal(ready.statusCode, 503)
    assert.doesNotMatch(ready.json().message, /Unexpected|JSON|position/)
    assert.equal((await inspect(name)).Version.Index, before.Version.Index)
    assert.equal((await callsOf(docker, 'service update')).length, 0)
  })

  test('faults: garbage on every poll after the update started is 504 timeout (not failed); healed, the record reaches completed', async (t) => {
    const { name, v2 } = await serviceWithNewImage(t, 'cu-f-polls')
    // Call 1 is the request's own read; every read after it (the watch's polls) is garbage.
    const docker = await faultyDocker(t, [{ command: 'service inspect', from: 2, fault: 'garbage' }])
    const app = await faultApp(t, docker, { UPDATE_TIMEOUT: '8', EVENTS_STREAM: 'false' })
    const doc = await openApi(app)
    const res = await postUpdate(app, { appName: name })
    assert.equal(res.statusCode, 504, res.body)
    assertDocumented(doc, POST_UPDATE, 504, res.json())
    assert.equal(res.json().status, 'timeout')
    assert.ok((await callsOf(docker, 'service inspect')).some((c) => c.fault !== null), `the watch read garbage: ${JSON.stringify(await docker.calls())}`)
    await docker.heal()
    const record = await recordReaches(app, doc, res.json().updateId, ['completed', 'rolled_back', 'failed', 'paused'])
    assert.equal(record.status, 'completed')
    assertAgrees(record, await inspect(name))
    assert.equal(digestOf(record.image ?? ''), v2.digest)
  })
})
