import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { ServiceEvents, type ServiceEvent } from '../../src/docker/events.ts'
import { REGISTRY, createService, docker, inspect, pushImage, swarmSkip, uniqueName } from '../swarm-fixtures.ts'

/** The `docker events` stream against the real Swarm: what the convergence watcher will rely on. */
describe('swarm: docker events stream', { skip: swarmSkip, concurrency: true }, () => {
  async function serviceWithEvents (t: Parameters<typeof createService>[0] & { after: (fn: () => Promise<void>) => void }, bin = 'docker', env = process.env) {
    const name = uniqueName('cu-events')
    await pushImage(name, 'latest')
    const id = await createService(t, name, `${REGISTRY}/${name}:latest`)
    const events = new ServiceEvents({ bin, env })
    const seen: ServiceEvent[] = []
    events.on('event', (event) => { if (event.serviceId === id) seen.push(event) })
    t.after(() => events.stop())
    const up = once(events, 'up')
    events.start()
    await up
    return { name, id, events, seen }
  }

  test('swarm: a forced update is reported as updating, then completed, for that service ID', async (t) => {
    const { name, id, events, seen } = await serviceWithEvents(t)
    const completed = events.waitFor(id, (event) => event.updateState === 'completed')
    await docker('service', 'update', '--quiet', '--force', '--detach', name)
    const event = await completed
    assert.equal(event.serviceId, id)
    assert.equal(event.name, name)
    assert.equal(event.action, 'update')
    assert.equal(event.previousState, 'updating')
    assert.deepEqual(seen.filter((e) => e.updateState !== undefined).map((e) => e.updateState), ['updating', 'completed'])
    assert.equal((await inspect(name)).UpdateStatus?.State, 'completed')
  })

  test('swarm: after its process is SIGKILLed, the restarted stream still reports an update that completed in the gap', async (t) => {
    // A thin wrapper around the real CLI that holds a restart until the test opens the gate, so
    // the update surely completes while no `docker events` is connected.
    const gate = await mkdtemp(join(tmpdir(), 'cu-events-gate-'))
    t.after(() => rm(gate, { recursive: true, force: true }))
    const bin = join(gate, 'docker')
    await writeFile(bin, '#!/bin/sh\nif [ -e "$DOCKER_TEST_GATE/hold" ]; then\n  while [ ! -e "$DOCKER_TEST_GATE/open" ]; do sleep 0.1; done\nfi\nexec docker "$@"\n')
    await chmod(bin, 0o755)
    const { name, id, events } = await serviceWithEvents(t, bin, { ...process.env, DOCKER_TEST_GATE: gate })

    let completedSeen = false
    const completed = events.waitFor(id, (event) => event.updateState === 'completed')
    completed.then(() => { completedSeen = true }, () => {})
    const updating = events.waitFor(id, (event) => event.updateState === 'updating')
    await docker('service', 'update', '--quiet', '--force', '--detach', name)
    await updating

    await writeFile(join(gate, 'hold'), '')
    const down = once(events, 'down')
    process.kill(events.pid!, 'SIGKILL')
    const [reason] = await down as [string]
    assert.equal(reason, 'docker events was killed by SIGKILL')
    while ((await inspect(name)).UpdateStatus?.State !== 'completed') await sleep(200)
    assert.equal(completedSeen, false, 'the completion happened while no stream was connected')

    await writeFile(join(gate, 'open'), '')
    const event = await completed
    assert.equal(event.serviceId, id)
    assert.equal(event.previousState, 'updating')
    assert.equal(events.stats.spawns, 2)
    assert.equal(events.healthy, true)
  })
})
