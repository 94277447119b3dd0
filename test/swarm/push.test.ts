import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildApp } from '../../src/app.ts'
import { testConfig, token } from '../helper.ts'
import { startRegistry } from '../registry-fixture.ts'
import { createService, digestOf, docker, inspect, pushImage, swarmSkip, uniqueName, until } from '../swarm-fixtures.ts'

/**
 * Push-triggered updates end to end: a real registry announces a push to the updater, which rolls
 * every labelled service of that repo:tag onto the pushed digest, and leaves the others alone.
 */
test('swarm: a push to a real registry rolls the labelled services of that tag, and nothing else; a re-push restarts nothing', { skip: swarmSkip }, async (t) => {
  const app = await buildApp(testConfig({ UPDATE_TIMEOUT: '90' }))
  t.after(() => app.close())
  const deliveries: number[] = []
  app.addHook('onResponse', async (request, reply) => { if (request.url === '/hooks/distribution') deliveries.push(reply.statusCode) })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/hooks/distribution`
  const registry = await startRegistry(t, { url, token: token({ sub: 'registry-b' }) })

  const repo = uniqueName('cu-push')
  const v1 = await pushImage(repo, 'v1', 'good', registry.address)
  await pushImage(repo, 'v2', 'good', registry.address)
  const image = `${registry.address}/${repo}:v1`
  const label = ['--label', 'container-updater.on-push=true']
  const names = { a: uniqueName('cu-push-a'), b: uniqueName('cu-push-b'), plain: uniqueName('cu-push-plain'), other: uniqueName('cu-push-other') }
  await Promise.all([
    createService(t, names.a, image, label),
    createService(t, names.b, image, label),
    createService(t, names.plain, image),
    createService(t, names.other, `${registry.address}/${repo}:v2`, label)
  ])
  // The pushes above were announced before any service existed: let those deliveries pass.
  await until('the first deliveries', () => deliveries.length >= 2 ? true : undefined)
  await sleep(1000)
  const before = Object.fromEntries(await Promise.all(Object.entries(names).map(async ([k, n]) => [k, await inspect(n)] as const)))
  assert.equal(digestOf(before.a!.Spec.TaskTemplate.ContainerSpec.Image), v1.digest)

  const received = deliveries.length
  const v1b = await pushImage(repo, 'v1', 'good', registry.address)
  assert.notEqual(v1b.digest, v1.digest)
  for (const name of [names.a, names.b]) {
    await until(`${name} on the pushed digest`, async () => {
      const now = await inspect(name)
      return digestOf(now.Spec.TaskTemplate.ContainerSpec.Image) === v1b.digest && now.UpdateStatus?.State === 'completed' ? true : undefined
    }, 90_000)
  }
  assert.ok(deliveries.length > received && deliveries.every((s) => s === 202), `deliveries answered 202: ${deliveries.join(',')}`)
  for (const key of ['plain', 'other'] as const) {
    assert.equal((await inspect(names[key])).Version.Index, before[key]!.Version.Index, `${key} untouched`)
  }
  // The history names who asked: the registry's token subject through the hook.
  const page = (await app.inject({ method: 'GET', url: `/updates?service=${names.a}`, headers: { authorization: `Bearer ${token()}` } })).json()
  const done = await until('the record of the hook update', async () => {
    const now = (await app.inject({ method: 'GET', url: `/updates?service=${names.a}`, headers: { authorization: `Bearer ${token()}` } })).json()
    return now.updates[0]?.status === 'completed' ? now.updates[0] : undefined
  }, 30_000)
  assert.equal(done.requestedBy, 'hook:distribution')
  assert.equal(digestOf(done.image), v1b.digest)
  assert.ok(page.updates.length >= 1)

  // The same digest pushed again: announced again, but both services already run it.
  const versions = await Promise.all([names.a, names.b].map(async (n) => (await inspect(n)).Version.Index))
  const count = deliveries.length
  await docker('push', `${registry.address}/${repo}:v1`).catch(async () => {
    // pushImage removed the local tag; pull it back through the engine first.
    await docker('pull', `${registry.address}/${repo}:v1`)
    await docker('push', `${registry.address}/${repo}:v1`)
  })
  await until('the re-push delivery', () => deliveries.length > count ? true : undefined)
  await sleep(2000)
  assert.deepEqual(await Promise.all([names.a, names.b].map(async (n) => (await inspect(n)).Version.Index)), versions, 'no restart for the same digest')
})
