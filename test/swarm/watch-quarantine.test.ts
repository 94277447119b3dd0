import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import pino from 'pino'
import { bearer, build, token } from '../helper.ts'
import { distributionEvent } from '../unit/hooks-payloads.ts'
import { callsOf, faultyDocker } from '../fault-fixtures.ts'
import { createService, inspect, pushImage, REGISTRY, swarmSkip, uniqueName, until } from '../swarm-fixtures.ts'
import { checkCycle, landsOn, noticeReceiver, watchLabels, watchOf } from '../watch-fixtures.ts'

/**
 * DESIGN §7's quarantine on the real Swarm: a crashing image pushed under a watched tag is rolled
 * out once, rolled back by Swarm, and quarantined; the next cycles start no update (every
 * `docker service update` counted through a DOCKER_BIN wrapper that delegates to the real CLI); an
 * explicit POST /update lifts it (and its own rollback quarantines the digest again, whoever
 * asked); a newer good push lifts it and rolls out.
 */
test('swarm: a crashing image under a watched tag: one update, rolled_back, quarantined; no update in later cycles; a newer good push rolls out', { skip: swarmSkip }, async (t) => {
  const repo = uniqueName('cu-wq')
  const name = uniqueName('cu-wq')
  const image = `${REGISTRY}/${repo}:stable`
  await pushImage(repo, 'stable')
  await createService(t, name, image, [...watchLabels('true'), '--label', 'container-updater.on-push=true'])
  const before = (await inspect(name)).Spec.TaskTemplate.ContainerSpec.Image
  const crash = (await pushImage(repo, 'stable', 'crash')).digest

  const docker = await faultyDocker(t)
  const updates = async (): Promise<number> => (await callsOf(docker, 'service update')).length
  const receiver = await noticeReceiver(t)
  const lines: Array<{ msg?: string, hook?: { examples?: Array<{ skipped?: Array<{ service: string, reason: string }> }> } }> = []
  const logs = new Writable({ write (chunk: Buffer, _encoding, done) { lines.push(JSON.parse(String(chunk))); done() } })
  const app = await build(t, { DOCKER_BIN: docker.bin, DOCKER_COMMAND_TIMEOUT: '30', WATCH: 'true', WATCH_INTERVAL: '1h', UPDATE_TIMEOUT: '180', NOTIFY_URLS: `json+${receiver.url}` }, { loggerInstance: pino({ level: 'info' }, logs) })

  await checkCycle(app, [name])
  const quarantined = await until('the quarantine', async () => {
    const view = await watchOf(app, name)
    return view?.state === 'quarantined' ? view : undefined
  }, 240_000, 500)
  assert.equal(quarantined.quarantined?.digest, crash)
  const [first] = (await app.inject({ method: 'GET', url: `/updates?service=${name}`, headers: bearer() })).json().updates as Array<{ updateId: string, status: string, trigger: string }>
  assert.equal(first?.status, 'rolled_back')
  assert.equal(first?.trigger, 'watch')
  assert.equal(quarantined.quarantined?.updateId, first?.updateId)
  assert.equal((await inspect(name)).Spec.TaskTemplate.ContainerSpec.Image, before, 'Swarm rolled back to the good image')
  assert.equal(await updates(), 1)
  await until('the quarantined notification', () => receiver.notices.find((n) => n.event === 'quarantined'))
  const notice = receiver.notices.find((n) => n.event === 'quarantined')!
  assert.deepEqual([notice.body.service, notice.body.digest, notice.body.updateId], [name, crash, first?.updateId])

  // The next cycles: the crash digest is still what the tag names, and nothing is started.
  await checkCycle(app, [name])
  await checkCycle(app, [name])
  assert.equal((await watchOf(app, name))?.state, 'quarantined')
  assert.equal(await updates(), 1, 'no update in the cycles after the quarantine')

  // A push hook announcing that digest does not roll the service onto it either.
  const hook = await app.inject({
    method: 'POST',
    url: '/hooks/distribution',
    headers: { ...bearer(token({ sub: 'registry' })), 'content-type': 'application/vnd.docker.distribution.events.v1+json' },
    payload: { events: [distributionEvent({ repository: repo, tag: 'stable', digest: crash, host: REGISTRY })] }
  })
  assert.equal(hook.statusCode, 202, hook.body)
  // One summary line per delivery (src/hooks/push-summary.ts): its example names the skipped service and why.
  const skipped = await until('the hook\'s decision', () => lines.find((l) => l.msg === 'push events: nothing to update')?.hook?.examples?.[0]?.skipped)
  assert.deepEqual(skipped.map((s) => s.service), [name])
  assert.match(skipped[0]!.reason, /quarantined/)
  assert.equal(await updates(), 1, 'the push hook started no update')

  // An explicit POST /update is a person's decision: it lifts the quarantine; its own rollback
  // (trigger api) quarantines the digest again.
  const explicit = await app.inject({ method: 'POST', url: '/update', headers: bearer(), payload: { appName: name } })
  assert.equal(explicit.json().status, 'rolled_back', explicit.body)
  assert.equal(explicit.json().trigger, 'api')
  const again = await until('the quarantine by the explicit update', async () => {
    const q = (await watchOf(app, name))?.quarantined
    return q !== null && q?.updateId === explicit.json().updateId ? q : undefined
  }, 60_000, 250)
  assert.equal(again.digest, crash)
  assert.equal(await updates(), 2)

  // A newer good image under the tag: the quarantine ends and the watcher rolls it out.
  const good = (await pushImage(repo, 'stable')).digest
  await checkCycle(app, [name])
  await landsOn(name, (img) => img === `${image}@${good}`, 'the new good digest')
  await checkCycle(app, [name])
  const view = await watchOf(app, name)
  assert.equal(view?.state, 'up_to_date')
  assert.equal(view?.quarantined, null)
  assert.equal(await updates(), 3)
})
