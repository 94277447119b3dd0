import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildApp } from '../../src/app.ts'
import { bearer, postUpdate, testConfig, token } from '../helper.ts'
import { REGISTRY, createService, digestOf, inspect, pushImage, swarmSkip, uniqueName, until } from '../swarm-fixtures.ts'

/**
 * `image` and `stack` targets and dry runs on the real Swarm (docs/API.md "Targets"): each service
 * through its own lane, a batch answer, nothing changed by a dry run, nothing named outside a
 * token's scope.
 */
test('swarm: image and stack targets, dry runs and scopes', { skip: swarmSkip }, async (t) => {
  const app = await buildApp(testConfig({ UPDATE_TIMEOUT: '90' }))
  t.after(() => app.close())
  await app.ready()
  const repo = uniqueName('cu-target')
  const stack = uniqueName('cutstack')
  const v1 = await pushImage(repo, 'v1')
  await pushImage(repo, 'v2')
  const image = `${REGISTRY}/${repo}:v1`
  const names = { a: `${stack}_a`, b: uniqueName('cu-target-b'), other: uniqueName('cu-target-other') }
  await Promise.all([
    createService(t, names.a, image, ['--label', `com.docker.stack.namespace=${stack}`]),
    createService(t, names.b, image),
    createService(t, names.other, `${REGISTRY}/${repo}:v2`)
  ])
  const versions = async () => Promise.all(Object.values(names).map(async (n) => (await inspect(n)).Version.Index))
  const before = await versions()

  await t.test('swarm: dry run: the plan with the registry digest; nothing changes', async () => {
    const res = await postUpdate(app, { image, dryRun: true })
    assert.equal(res.statusCode, 200, res.body)
    const body = res.json()
    assert.equal(body.dryRun, true)
    assert.deepEqual(body.plan.map((p: { service: string }) => p.service).sort(), [names.a, names.b].sort())
    for (const entry of body.plan) {
      assert.equal(entry.targetImage, image)
      assert.equal(entry.registryDigest, v1.digest)
      assert.equal(entry.upToDate, true)
      assert.equal(digestOf(entry.image), v1.digest)
    }
    const single = (await postUpdate(app, { appName: names.b, dryRun: true })).json()
    assert.equal(single.plan.length, 1)
    assert.deepEqual(await versions(), before, 'Version.Index unchanged')
  })

  const v1b = await pushImage(repo, 'v1')
  await t.test('swarm: dry run after a push: not up to date, the new digest', async () => {
    const body = (await postUpdate(app, { stack, dryRun: true })).json()
    assert.deepEqual(body.plan.map((p: { service: string }) => p.service), [names.a])
    assert.equal(body.plan[0].registryDigest, v1b.digest)
    assert.equal(body.plan[0].upToDate, false)
    assert.deepEqual(await versions(), before)
  })

  await t.test('swarm: a scoped token sees only its services: the others are neither updated nor named', async () => {
    const scoped = bearer(token({ services: [names.b] }))
    const res = await postUpdate(app, { image, dryRun: true }, scoped)
    assert.equal(res.statusCode, 200)
    assert.ok(!res.body.includes(names.a), 'a service outside the scope is not named')
    const none = await postUpdate(app, { stack }, scoped)
    const missing = await postUpdate(app, { stack: uniqueName('nosuchstack') }, scoped)
    assert.equal(none.statusCode, 404)
    assert.equal(missing.statusCode, 404)
    assert.equal(none.json().code, missing.json().code, 'same answer as for a stack that does not exist')
    assert.ok(!none.body.includes(names.a))
  })

  await t.test('swarm: image target: every service of repo:tag rolls onto the new digest; another tag is untouched', async () => {
    const res = await postUpdate(app, { image })
    assert.equal(res.statusCode, 200, res.body)
    const batch = res.json()
    assert.equal(batch.status, 'completed')
    assert.equal(batch.updates.length, 2)
    assert.equal(batch.statusUrl, `/batches/${batch.batchId}`)
    for (const record of batch.updates) {
      assert.equal(record.status, 'completed')
      assert.equal(record.batchId, batch.batchId)
      assert.equal(digestOf(record.image), v1b.digest)
      assert.equal((await inspect(record.service)).Spec.TaskTemplate.ContainerSpec.Image, record.image)
    }
    assert.equal((await inspect(names.other)).Version.Index, before[2], 'the v2 service is untouched')
    const again = (await app.inject({ method: 'GET', url: batch.statusUrl, headers: bearer() })).json()
    assert.equal(again.status, 'completed')
    assert.deepEqual(again.updates.map((r: { updateId: string }) => r.updateId).sort(), batch.updates.map((r: { updateId: string }) => r.updateId).sort())
  })

  await t.test('swarm: stack target without waiting: 202, then the batch reaches its end at statusUrl', async () => {
    const res = await postUpdate(app, { stack, wait: false })
    assert.equal(res.statusCode, 202, res.body)
    const batch = res.json()
    assert.deepEqual(batch.updates.map((r: { service: string }) => r.service), [names.a])
    const done = await until('the batch to complete', async () => {
      const now = (await app.inject({ method: 'GET', url: batch.statusUrl, headers: bearer() })).json()
      return now.status === 'completed' ? now : undefined
    }, 90_000)
    assert.equal(done.updates[0].status, 'completed')
  })

  await t.test('swarm: tag goes with appName only; exactly one target', async () => {
    assert.equal((await postUpdate(app, { image, tag: 'v2' })).statusCode, 400)
    assert.equal((await postUpdate(app, { image, stack })).statusCode, 400)
    assert.equal((await postUpdate(app, { image: `${image}@${v1.digest}` })).statusCode, 400)
  })
})
