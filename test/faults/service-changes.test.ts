import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { postUpdate } from '../helper.ts'
import { digestOf, docker, inspect, swarmSkip } from '../swarm-fixtures.ts'
import {
  assertAgrees, assertDocumented, assertErrorBody, faultApp, faultyDocker, getRecord, midUpdate, openApi, recordsOf, serviceWithNewImage
} from '../fault-fixtures.ts'

const POST_UPDATE = { method: 'post', path: '/update' }
// UPDATE_TIMEOUT is far longer than a test may take: an answer that waits for it shows as a timeout.
const env = { UPDATE_TIMEOUT: '120' }
const limit = { timeout: 90_000 }

/**
 * Another client changes the service while our waited update runs (issue #12): removed, relabelled
 * or scaled to zero. The answer comes when the truth is known, not at UPDATE_TIMEOUT, and says
 * what Swarm says.
 */
describe('faults: the service changes under a running update', { skip: swarmSkip, concurrency: true }, () => {
  for (const events of ['true', 'false']) {
    test(`faults: a service removed while its waited update runs is answered 404 at once (events stream ${events === 'true' ? 'on' : 'off'})`, limit, async (t) => {
      const { name } = await serviceWithNewImage(t, 'cu-f-rm', ['--update-monitor', '20s'])
      const app = await faultApp(t, await faultyDocker(t), { ...env, EVENTS_STREAM: events })
      const doc = await openApi(app)
      const before = await inspect(name)
      const pending = postUpdate(app, { appName: name })
      await midUpdate(name, before.Version.Index, pending)
      await docker('service', 'rm', name)
      const res = await pending
      assertDocumented(doc, POST_UPDATE, 404, res.json())
      assertErrorBody(res, 404, 'CU_SERVICE_NOT_FOUND')
      await assert.rejects(inspect(name), /no such service/i, 'Swarm agrees: the service is gone')
      const [listed] = await recordsOf(app, name)
      const record = await getRecord(app, doc, listed!.updateId)
      assert.equal(record.status, 'failed')
      assert.match(record.message ?? '', /removed/)
    })
  }

  test('faults: a service re-labelled by another client mid-update still gets its truthful final state', limit, async (t) => {
    const { name, v2 } = await serviceWithNewImage(t, 'cu-f-label', ['--update-monitor', '4s'])
    const app = await faultApp(t, await faultyDocker(t), { ...env, EVENTS_STREAM: 'true' })
    const doc = await openApi(app)
    const before = await inspect(name)
    const pending = postUpdate(app, { appName: name })
    await midUpdate(name, before.Version.Index, pending)
    await docker('service', 'update', '--quiet', '--detach', '--label-add', 'x=y', name)
    const res = await pending
    assert.equal(res.statusCode, 200, res.body)
    assertDocumented(doc, POST_UPDATE, 200, res.json())
    const after = await inspect(name)
    assert.equal(after.Spec.Labels?.x, 'y')
    const record = await getRecord(app, doc, res.json().updateId)
    assert.equal(record.status, 'completed')
    assertAgrees(record, after)
    assert.equal(digestOf(record.image ?? ''), v2.digest)
  })

  test('faults: a service scaled to 0 mid-update gets a truthful final state (completed), not a hang', limit, async (t) => {
    const { name, v2 } = await serviceWithNewImage(t, 'cu-f-scale', ['--update-monitor', '10s'])
    const app = await faultApp(t, await faultyDocker(t), { ...env, EVENTS_STREAM: 'true' })
    const doc = await openApi(app)
    const before = await inspect(name)
    const pending = postUpdate(app, { appName: name })
    await midUpdate(name, before.Version.Index, pending)
    await docker('service', 'scale', '--detach', `${name}=0`)
    const res = await pending
    assert.equal(res.statusCode, 200, res.body)
    assertDocumented(doc, POST_UPDATE, 200, res.json())
    const after = await inspect(name)
    const record = await getRecord(app, doc, res.json().updateId)
    assert.equal(record.status, 'completed')
    assertAgrees(record, after)
    assert.equal(digestOf(record.image ?? ''), v2.digest)
    assert.equal((await docker('service', 'ps', '-q', '--filter', 'desired-state=running', name)), '', 'Swarm runs no task')
  })
})
