import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { bearer, postUpdate } from '../helper.ts'
import { APP_HTTP_PORT } from '../app-image.ts'
import { REGISTRY, createService, digestOf, freePort, inspect, pushImage, swarmSkip, uniqueName } from '../swarm-fixtures.ts'
import { assertDocumented, assertErrorBody, callsOf, faultApp, faultyDocker, getRecord, openApi, serviceWithNewImage } from '../fault-fixtures.ts'

const daemonError = 'Error response from daemon: rpc error: code = Unknown desc = raft: proposal dropped'
const postRollback = async (app: FastifyInstance, body: unknown) =>
  app.inject({ method: 'POST', url: '/rollback', headers: { 'content-type': 'application/json', ...bearer() }, payload: JSON.stringify(body) })

/** Safe rollouts (POST /rollback, the post-rollout check, the pre-flight) when Docker fails, on the real Swarm. */
describe('faults: safe rollouts', { skip: swarmSkip, concurrency: true }, () => {
  test('faults: `service rollback` refused by Docker is 502 CU_DOCKER_FAILED with Docker\'s reason, the record failed, the service untouched', async (t) => {
    const { name, v2 } = await serviceWithNewImage(t, 'cu-f-rb')
    const docker = await faultyDocker(t)
    const app = await faultApp(t, docker)
    const doc = await openApi(app)
    assert.equal((await postUpdate(app, { appName: name })).statusCode, 200)
    await docker.set([{ command: 'service rollback', fault: 'fail', stderr: daemonError }])
    const before = await inspect(name)
    const res = await postRollback(app, { appName: name })
    assertDocumented(doc, { method: 'post', path: '/rollback' }, 502, res.json())
    assert.match(assertErrorBody(res, 502, 'CU_DOCKER_FAILED').message, /raft: proposal dropped/)
    const after = await inspect(name)
    assert.equal(after.Version.Index, before.Version.Index)
    assert.equal(digestOf(after.Spec.TaskTemplate.ContainerSpec.Image), v2.digest)
    assert.equal((await callsOf(docker, 'service rollback')).length, 1)
  })

  test('faults: a failed post-rollout check whose rollback Docker refuses ends failed, naming both reasons', async (t) => {
    const name = uniqueName('cu-f-check')
    const port = await freePort()
    await pushImage(name, 'latest', 'http-200')
    await createService(t, name, `${REGISTRY}/${name}:latest`, [
      '--publish', `mode=host,target=${APP_HTTP_PORT},published=${port}`,
      '--label', `container-updater.check.url=http://127.0.0.1:${port}/cgi-bin/status`,
      '--label', 'container-updater.check.for=3s', '--label', 'container-updater.check.interval=1s'
    ])
    const v2 = await pushImage(name, 'latest', 'http-500')
    const docker = await faultyDocker(t, [{ command: 'service rollback', fault: 'fail', stderr: daemonError }])
    const app = await faultApp(t, docker)
    const doc = await openApi(app)
    const res = await postUpdate(app, { appName: name })
    assertDocumented(doc, { method: 'post', path: '/update' }, 502, res.json())
    assert.match(assertErrorBody(res, 502, 'CU_DOCKER_FAILED').message, /raft: proposal dropped/)
    const [listed] = (await app.inject({ url: `/updates?service=${name}`, headers: bearer() })).json<{ updates: Array<{ updateId: string }> }>().updates
    const record = await getRecord(app, doc, listed!.updateId)
    assert.equal(record.status, 'failed')
    assert.match(record.message ?? '', /^post-rollout check failed: the check URL answered 500 .*; docker service rollback failed: .*raft: proposal dropped/)
    assert.equal(digestOf((await inspect(name)).Spec.TaskTemplate.ContainerSpec.Image), v2.digest, 'Swarm still runs the new image: the record does not say otherwise')
  })

  test('faults: the swarm\'s nodes cannot be read: the update goes on, its record warns that the pre-flight was not made', async (t) => {
    const { name, v2 } = await serviceWithNewImage(t, 'cu-f-nodes')
    const docker = await faultyDocker(t, [{ command: 'node ls', fault: 'fail', stderr: daemonError }])
    const app = await faultApp(t, docker)
    const res = await postUpdate(app, { appName: name })
    assert.equal(res.statusCode, 200, res.body)
    assert.match(res.json().warning, /^pre-flight: the swarm's nodes could not be read \(Docker failed: .*raft: proposal dropped\)/)
    assert.equal(digestOf(res.json().image), v2.digest)
  })
})
