import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { bearer, build, postUpdate } from '../helper.ts'
import { REGISTRY, createService, digestOf, docker, inspect, pushImage, runningVersion, swarmSkip, uniqueName } from '../swarm-fixtures.ts'

/** The contract of POST /update, proven against the real Swarm (docs/API.md §1 and §2). */
describe('swarm: POST /update', { skip: swarmSkip, concurrency: true }, () => {
  const app = async (t: Parameters<typeof build>[0], env: Record<string, string> = {}): Promise<FastifyInstance> =>
    build(t, { POLL_INTERVAL_MS: '200', UPDATE_TIMEOUT: '90', ...env })

  test('swarm: a new image pushed under the same tag is rolled out (plain --force keeps the old digest)', async (t) => {
    const name = uniqueName('cu-roll')
    const v1 = await pushImage(name, 'latest')
    await createService(t, name, `${REGISTRY}/${name}:latest`)
    assert.equal(await runningVersion(name), v1.version)

    const v2 = await pushImage(name, 'latest')
    // The trap: a plain forced update restarts the tasks on the digest pinned in the spec.
    await docker('service', 'update', '--quiet', '--detach=false', '--force', name)
    assert.equal(digestOf((await inspect(name)).Spec.TaskTemplate.ContainerSpec.Image), v1.digest)
    assert.equal(await runningVersion(name), v1.version)

    const res = await postUpdate(await app(t), { appName: name })
    assert.equal(res.statusCode, 200, res.body)
    const record = res.json()
    assert.equal(record.status, 'completed')
    assert.equal(record.service, name)
    assert.equal(digestOf(record.previousImage), v1.digest)
    assert.equal(digestOf(record.image), v2.digest)
    assert.equal(digestOf((await inspect(name)).Spec.TaskTemplate.ContainerSpec.Image), v2.digest)
    assert.equal(await runningVersion(name), v2.version, 'the running container runs the new image')
  })

  test('swarm: a new image whose tasks crash gives 409 and the service is back on the old digest', async (t) => {
    const name = uniqueName('cu-crash')
    const v1 = await pushImage(name, 'latest')
    await createService(t, name, `${REGISTRY}/${name}:latest`)
    await pushImage(name, 'latest', 'crash')
    const res = await postUpdate(await app(t), { appName: name })
    assert.equal(res.statusCode, 409, res.body)
    const record = res.json()
    assert.equal(record.status, 'rolled_back')
    assert.match(record.message, /non-zero exit \(3\)/)
    assert.equal(digestOf(record.image), v1.digest)
    const service = await inspect(name)
    assert.equal(service.UpdateStatus?.State, 'rollback_completed')
    assert.equal(digestOf(service.Spec.TaskTemplate.ContainerSpec.Image), v1.digest)
    assert.equal(await runningVersion(name), v1.version)
  })

  test('swarm: a paused update (failure action pause) gives 409 paused', async (t) => {
    const name = uniqueName('cu-pause')
    await pushImage(name, 'latest')
    await createService(t, name, `${REGISTRY}/${name}:latest`, ['--update-failure-action', 'pause'])
    await pushImage(name, 'latest', 'crash')
    const res = await postUpdate(await app(t), { appName: name })
    assert.equal(res.statusCode, 409, res.body)
    assert.equal(res.json().status, 'paused')
    assert.equal((await inspect(name)).UpdateStatus?.State, 'paused')
  })

  test('swarm: tag rolls onto another tag of the same repository', async (t) => {
    const name = uniqueName('cu-tag')
    await pushImage(name, 'v1')
    await createService(t, name, `${REGISTRY}/${name}:v1`)
    const v2 = await pushImage(name, 'v2')
    const res = await postUpdate(await app(t), { appName: name, tag: 'v2' })
    assert.equal(res.statusCode, 200, res.body)
    assert.equal(res.json().image, `${REGISTRY}/${name}:v2@${v2.digest}`)
    assert.equal(await runningVersion(name), v2.version)
  })

  test('swarm: a prefix of a service name or of its ID gives 404 and changes nothing', async (t) => {
    const name = uniqueName('cu-prefix')
    await pushImage(name, 'latest')
    const id = await createService(t, name, `${REGISTRY}/${name}:latest`)
    const before = await inspect(name)
    const server = await app(t)
    for (const appName of [name.slice(0, -3), id.slice(0, 10), id]) {
      const res = await postUpdate(server, { appName })
      assert.equal(res.statusCode, 404, `${appName}: ${res.body}`)
    }
    assert.equal((await inspect(name)).Version.Index, before.Version.Index)
  })

  test('swarm: the stack convention <app>_<app> is found', async (t) => {
    const app1 = uniqueName('cu-stack')
    const name = `${app1}_${app1}`
    await pushImage(app1, 'latest')
    await createService(t, name, `${REGISTRY}/${app1}:latest`)
    const res = await postUpdate(await app(t), { appName: app1 }, bearer())
    assert.equal(res.statusCode, 200, res.body)
    assert.equal(res.json().service, name)
    assert.equal(res.json().appName, app1)
  })

  test('swarm: past UPDATE_TIMEOUT the answer is 504 and statusUrl tells the end', async (t) => {
    const name = uniqueName('cu-slow')
    await pushImage(name, 'latest')
    await createService(t, name, `${REGISTRY}/${name}:latest`, ['--update-monitor', '4s'])
    await pushImage(name, 'latest')
    const server = await app(t, { UPDATE_TIMEOUT: '1' })
    const res = await postUpdate(server, { appName: name })
    assert.equal(res.statusCode, 504, res.body)
    assert.equal(res.json().status, 'timeout')
    let record = res.json()
    for (let i = 0; i < 150 && record.status === 'timeout'; i++) {
      await sleep(200)
      record = (await server.inject({ url: res.json().statusUrl, headers: bearer() })).json()
    }
    assert.equal(record.status, 'completed')
    assert.equal(record.image, (await inspect(name)).Spec.TaskTemplate.ContainerSpec.Image)
  })

  test('swarm: wait:false answers 202 and GET /updates/:id reaches completed', async (t) => {
    const name = uniqueName('cu-async')
    await pushImage(name, 'latest')
    await createService(t, name, `${REGISTRY}/${name}:latest`)
    const v2 = await pushImage(name, 'latest')
    const server = await app(t)
    const res = await postUpdate(server, { appName: name, wait: false })
    assert.equal(res.statusCode, 202, res.body)
    assert.equal((await server.inject({ url: res.json().statusUrl })).statusCode, 401)
    let record = res.json()
    for (let i = 0; i < 150 && !['completed', 'rolled_back', 'failed'].includes(record.status); i++) {
      await sleep(200)
      record = (await server.inject({ url: res.json().statusUrl, headers: bearer() })).json()
    }
    assert.equal(record.status, 'completed')
    assert.equal(digestOf(record.image), v2.digest)
  })

  test('swarm: /readyz is 200 on a manager; a dead DOCKER_HOST gives 503 while /healthz stays 200', async (t) => {
    assert.equal((await (await app(t)).inject('/readyz')).statusCode, 200)
    const dead = await app(t, { DOCKER_HOST: 'unix:///tmp/cu-no-such-docker.sock' })
    const res = await postUpdate(dead, { appName: 'anything' })
    assert.equal(res.statusCode, 503)
    assert.match(res.json().message, /cu-no-such-docker\.sock/)
    assert.equal((await dead.inject('/healthz')).statusCode, 200)
    assert.equal((await dead.inject('/readyz')).statusCode, 503)
  })
})
