import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  LOGGED_IN_CONFIG, NODES, REGISTRY, clusterSkip, createService, emptyDockerConfig, inspect, nodeDocker,
  postUpdate, pullEverywhere, pushImage, removeDir, startUpdater, uniqueName, Cleanup, type Updater
} from '../cluster-fixtures.ts'
import { assertVersionsSettle, digestOf, runningTasks } from '../cluster-tasks.ts'

/**
 * A three-node Swarm whose workers pull from a registry that wants credentials: the updater must
 * roll every node onto the new digest, hand its credentials to the swarm when it has them, report
 * the pull failure truthfully when it has none, and never wipe credentials a service already holds.
 */
const spread = ['--replicas', '3', '--replicas-max-per-node', '1', '--update-parallelism', '0']

/** Every task runs, one per node, on this digest. */
async function assertOnEveryNode (name: string, digest: string): Promise<void> {
  const tasks = await runningTasks(name)
  assert.equal(tasks.length, 3, JSON.stringify(tasks))
  assert.deepEqual(new Set(tasks.map((task) => task.node)), new Set(NODES.map((node) => `cu-${node}`)))
  for (const task of tasks) {
    assert.equal(task.state, 'running', JSON.stringify(task))
    assert.equal(digestOf(task.image), digest, JSON.stringify(task))
  }
}

// The cases touch only their own services: they run side by side (most of their time is waiting).
describe('cluster: rolling a multi-node service from a private registry', { skip: clusterSkip, concurrency: true }, () => {
  let withCredentials: Updater
  let withoutCredentials: Updater
  const cleanup = new Cleanup()
  before(async () => {
    withCredentials = await startUpdater(cleanup, LOGGED_IN_CONFIG)
    const empty = emptyDockerConfig()
    cleanup.after(async () => removeDir(empty))
    withoutCredentials = await startUpdater(cleanup, empty)
  })
  after(() => cleanup.run())

  test('cluster: a 3-replica service spread over 3 nodes rolls onto the new digest on every node', async (t) => {
    const name = uniqueName('cu-spread')
    const v1 = await pushImage(name, 'latest')
    await createService(t, name, v1.ref, { extra: spread, withRegistryAuth: true })
    await assertOnEveryNode(name, v1.digest)
    const v2 = await pushImage(name, 'latest')

    const res = await postUpdate(withCredentials.url, { appName: name })
    assert.equal(res.status, 200, JSON.stringify(res.json))
    assert.equal(res.json.status, 'completed')
    assert.equal(digestOf(res.json.image as string), v2.digest)
    assert.equal(digestOf(res.json.previousImage as string), v1.digest)
    await assertOnEveryNode(name, v2.digest)
    await assertVersionsSettle(name, v2.version)
  })

  test('cluster: with credentials the updater passes them on (--with-registry-auth) and every worker pulls', async (t) => {
    const name = uniqueName('cu-auth')
    const v1 = await pushImage(name, 'latest')
    // The spec holds no credentials: the nodes get v1 beforehand, by digest (no tag to fall back
    // on), and the service names that digest (without credentials the CLI cannot resolve the tag).
    await pullEverywhere(name, v1.digest)
    await createService(t, name, `${v1.ref}@${v1.digest}`, { extra: spread })
    await assertOnEveryNode(name, v1.digest)
    const v2 = await pushImage(name, 'latest')

    const res = await postUpdate(withCredentials.url, { appName: name })
    assert.equal(res.status, 200, JSON.stringify(res.json))
    assert.equal(digestOf(res.json.image as string), v2.digest)
    await assertOnEveryNode(name, v2.digest)
  })

  for (const [failureAction, expected] of [['pause', 'paused'], ['rollback', 'rolled_back']] as const) {
    test(`cluster: without credentials the workers cannot pull: 409 ${expected} naming the pull failure, never 200`, async (t) => {
      const name = uniqueName(`cu-noauth-${failureAction}`)
      const v1 = await pushImage(name, 'latest')
      await pullEverywhere(name, v1.digest)
      await createService(t, name, `${v1.ref}@${v1.digest}`, { extra: [...spread, '--update-failure-action', failureAction] })
      await pushImage(name, 'latest')

      const res = await postUpdate(withoutCredentials.url, { appName: name })
      assert.equal(res.status, 409, JSON.stringify(res.json))
      assert.equal(res.json.status, expected)
      assert.match(res.json.message as string, /No such image/, JSON.stringify(res.json))
      const state = (await inspect(name)).UpdateStatus?.State
      assert.equal(state, failureAction === 'pause' ? 'paused' : 'rollback_completed')
      if (failureAction === 'rollback') {
        assert.equal(digestOf((await inspect(name)).Spec.TaskTemplate.ContainerSpec.Image), v1.digest)
        await assertVersionsSettle(name, v1.version)
      }
    })
  }

  test('cluster: credentials stored in the service survive an update by an updater that has none', async (t) => {
    const name = uniqueName('cu-keepauth')
    const v1 = await pushImage(name, 'latest')
    await createService(t, name, v1.ref, { extra: spread, withRegistryAuth: true })
    const v2 = await pushImage(name, 'latest')

    // No credentials here: the stored ones must be what lets the workers pull v2.
    const res = await postUpdate(withoutCredentials.url, { appName: name })
    assert.equal(res.status, 200, JSON.stringify(res.json))
    await assertVersionsSettle(name, v2.version)

    // Later, an operator's plain update (no credentials, no --with-registry-auth): the workers
    // still pull the new image with what the spec holds.
    const v3 = await pushImage(name, 'latest')
    const config = emptyDockerConfig()
    t.after(() => removeDir(config))
    await nodeDocker('node1', ['service', 'update', '--quiet', '--detach=false', '--force', '--image', `${REGISTRY}/${name}:latest`, name], { DOCKER_CONFIG: config })
    assert.equal((await inspect(name)).UpdateStatus?.State, 'completed')
    await assertVersionsSettle(name, v3.version)
  })
})
