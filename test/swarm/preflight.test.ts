import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { FastifyInstance } from 'fastify'
import { build, postUpdate } from '../helper.ts'
import { pushPlatformIndex } from '../oci-index.ts'
import { REGISTRY, createService, digestOf, docker, inspect, pushImage, swarmSkip, uniqueName } from '../swarm-fixtures.ts'

/** The pre-flight (docs/API.md, "Pre-flight") on the real single-node Swarm and its registry. */
describe('swarm: pre-flight', { skip: swarmSkip, concurrency: true }, () => {
  const app = async (t: Parameters<typeof build>[0]): Promise<FastifyInstance> => build(t, { POLL_INTERVAL_MS: '200', UPDATE_TIMEOUT: '90' })
  const nodeArch = async (): Promise<string> => docker('node', 'inspect', 'self', '--format', '{{.Description.Platform.Architecture}}')

  test('swarm: a tag whose index lacks the node\'s architecture is refused 409 CU_NO_SUITABLE_NODE, Version.Index unchanged', async (t) => {
    const name = uniqueName('cu-pre-arch')
    const v1 = await pushImage(name, 'v1')
    await createService(t, name, `${REGISTRY}/${name}:v1`)
    await pushPlatformIndex(`http://${REGISTRY}`, name, 'v2', [{ os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 's390x' }])
    const before = await inspect(name)
    const res = await postUpdate(await app(t), { appName: name, tag: 'v2' })
    assert.equal(res.statusCode, 409, res.body)
    const body = res.json<{ code: string, message: string }>()
    assert.equal(body.code, 'CU_NO_SUITABLE_NODE')
    assert.match(body.message, /the image offers linux\/arm64, linux\/s390x, but the nodes it may run on are linux\/amd64/)
    assert.equal((await nodeArch()), 'x86_64', 'the test assumes an amd64 node')
    const after = await inspect(name)
    assert.equal(after.Version.Index, before.Version.Index, 'nothing changed')
    assert.equal(digestOf(after.Spec.TaskTemplate.ContainerSpec.Image), v1.digest)
  })

  test('swarm: an index that includes the node\'s architecture passes the pre-flight', async (t) => {
    const name = uniqueName('cu-pre-multi')
    await pushImage(name, 'v1')
    await createService(t, name, `${REGISTRY}/${name}:v1`)
    const v2 = await pushImage(name, 'v2')
    const res = await postUpdate(await app(t), { appName: name, tag: 'v2' })
    assert.equal(res.statusCode, 200, res.body)
    assert.equal(res.json().warning, undefined, 'the registry was asked: no warning')
    assert.equal(digestOf((await inspect(name)).Spec.TaskTemplate.ContainerSpec.Image), v2.digest)
  })

  test('swarm: a placement constraint that leaves no node is refused 409 naming it, Version.Index unchanged', async (t) => {
    const name = uniqueName('cu-pre-place')
    await pushImage(name, 'latest')
    // The constraint holds no node: Swarm created the service, its task is pending.
    t.after(() => docker('service', 'rm', name).catch(() => ''))
    await docker('service', 'create', '--quiet', '--detach', '--name', name, '--label', 'container-updater.test=1', '--constraint', 'node.labels.cu-test-zone==nowhere', `${REGISTRY}/${name}:latest`)
    await pushImage(name, 'latest')
    const before = await inspect(name)
    const res = await postUpdate(await app(t), { appName: name })
    assert.equal(res.statusCode, 409, res.body)
    const body = res.json<{ code: string, message: string }>()
    assert.equal(body.code, 'CU_NO_SUITABLE_NODE')
    assert.match(body.message, /placement constraints node\.labels\.cu-test-zone==nowhere .*fails node\.labels\.cu-test-zone==nowhere/)
    assert.equal((await inspect(name)).Version.Index, before.Version.Index)
  })
})
