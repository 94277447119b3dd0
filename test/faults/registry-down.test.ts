import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { postUpdate } from '../helper.ts'
import { createService, digestOf, docker, inspect, pushImage, swarmSkip, uniqueName } from '../swarm-fixtures.ts'
import { startRegistry } from '../registry-fixture.ts'
import { assertAgrees, assertDocumented, faultApp, faultyDocker, getRecord, openApi, recordReaches } from '../fault-fixtures.ts'

const POST_UPDATE = { method: 'post', path: '/update' }

/**
 * The registry goes away (issue #12). Before the update: Docker cannot resolve the tag, updates
 * the spec without a digest and only warns; the caller asked for the newest image and did not get
 * a verified one, so the answer must say so. During the update: the digest was pinned, the tasks
 * cannot pull it, and the answer is Swarm's real outcome.
 */
describe('faults: a registry that goes away', { skip: swarmSkip, concurrency: true }, () => {
  test('faults: registry stopped before the update: the spec loses its digest and the answer carries Docker\'s warning', async (t) => {
    const registry = await startRegistry(t)
    const name = uniqueName('cu-f-noreg')
    const v1 = await pushImage(name, 'latest', 'good', registry.address)
    await createService(t, name, `${registry.address}/${name}:latest`)
    await pushImage(name, 'latest', 'good', registry.address)
    await registry.stop()
    const app = await faultApp(t, await faultyDocker(t), { UPDATE_TIMEOUT: '90' })
    const doc = await openApi(app)
    const res = await postUpdate(app, { appName: name })
    const answer = res.json()
    assertDocumented(doc, POST_UPDATE, res.statusCode, answer)
    assert.ok('updateId' in answer, `the answer is a record: ${res.body}`)
    assert.match(answer.warning ?? '', /could not be accessed on a registry|digest/i, 'the record has Docker\'s warning')
    const tasks = await docker('service', 'ps', '--no-trunc', '--format', '{{.CurrentState}} {{.Error}}', name)
    assert.match(answer.message ?? '', /digest/i, `the message says so (${answer.status}; tasks: ${tasks})`)
    const record = await getRecord(app, doc, answer.updateId)
    assert.deepEqual(record, answer)
    const after = await inspect(name)
    assertAgrees(record, after)
    // Docker wrote the tag without a digest; the node has no image of that bare tag, so Swarm may
    // roll back to the pinned previous image (then the spec has its digest again).
    if (answer.status === 'completed') assert.equal(digestOf(after.Spec.TaskTemplate.ContainerSpec.Image), undefined, 'Swarm really has no digest in the spec')
    else assert.equal(after.Spec.TaskTemplate.ContainerSpec.Image, record.previousImage, 'rolled back to the pinned image')
    assert.notEqual(digestOf(record.previousImage ?? ''), undefined)
    assert.equal(digestOf(record.previousImage ?? ''), v1.digest)
  })

  test('faults: registry stopped once the tag is resolved: the tasks cannot pull, and the answer is Swarm\'s real outcome', async (t) => {
    const registry = await startRegistry(t)
    const name = uniqueName('cu-f-midreg')
    const v1 = await pushImage(name, 'latest', 'good', registry.address)
    await createService(t, name, `${registry.address}/${name}:latest`)
    const v2 = await pushImage(name, 'latest', 'good', registry.address)
    // The CLI resolves the digest and Swarm accepts the spec; the registry is stopped the moment
    // the new spec shows, usually before the node has pulled it.
    const faulty = await faultyDocker(t)
    const app = await faultApp(t, faulty, { UPDATE_TIMEOUT: '90', DOCKER_COMMAND_TIMEOUT: '20' })
    const doc = await openApi(app)
    const before = await inspect(name)
    const pending = postUpdate(app, { appName: name })
    // Stop the registry as soon as Swarm holds the new spec (pinned to v2's digest).
    for (let i = 0; i < 600; i++) {
      const now = await inspect(name)
      if (now.Version.Index > before.Version.Index) break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    await registry.stop()
    const res = await pending
    const answer = res.json()
    assertDocumented(doc, POST_UPDATE, res.statusCode, answer)
    const record = await recordReaches(app, doc, answer.updateId, ['completed', 'rolled_back', 'paused', 'failed'])
    const after = await inspect(name)
    assertAgrees(record, after)
    if (record.status === 'rolled_back') {
      // The usual case: the node could not pull the pinned digest, and Swarm went back to v1.
      assert.equal(res.statusCode, 409)
      assert.equal(digestOf(record.image ?? ''), v1.digest)
      assert.match(record.message ?? '', /No such image|pull/i, 'the tasks\' reason')
    } else {
      // The node pulled v2 before the registry stopped.
      assert.equal(record.status, 'completed', JSON.stringify(record))
      assert.equal(digestOf(record.image ?? ''), v2.digest)
    }
  })
})
