import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  Cleanup, LOGGED_IN_CONFIG, cluster, clusterSkip, createService, digestOf, docker, getJson, inspect,
  postUpdate, pushImage, runningTasks, startUpdater, uniqueName, waitFor, type Answer, type Updater
} from '../cluster-fixtures.ts'

/**
 * Nodes going away mid-update: a worker's daemon killed outright, and the manager's engine
 * restarted. The updater must answer with what Swarm really did, within its deadline, and go on
 * serving; what it has answered must not change when the node comes back.
 */
const UPDATE_TIMEOUT = 45
/** Long enough that the update is still rolling when a node is stopped. */
const slowRollout = ['--replicas', '3', '--update-parallelism', '1', '--update-delay', '3s']
const finalStates = ['completed', 'paused', 'rolled_back', 'timeout']

/** POST /update, failing (instead of hanging) if no answer comes well after the deadline. */
async function postWithDeadline (url: string, body: unknown): Promise<Answer> {
  const deadline = AbortSignal.timeout((UPDATE_TIMEOUT + 30) * 1000)
  return Promise.race([
    postUpdate(url, body),
    new Promise<never>((_resolve, reject) => deadline.addEventListener('abort', () => reject(new Error(`no answer within UPDATE_TIMEOUT (${UPDATE_TIMEOUT} s) + 30 s`))))
  ])
}

const swarmState = async (name: string): Promise<string | undefined> => (await inspect(name)).UpdateStatus?.State

/** Waits until Swarm has replaced at least one task but not all: the update is mid-way. */
async function waitMidUpdate (name: string, digest: string): Promise<void> {
  await waitFor('the update to be rolling', async () => {
    const tasks = await runningTasks(name)
    return await swarmState(name) === 'updating' &&
      tasks.some((task) => task.state === 'running' && digestOf(task.image) === digest)
  }, 60)
}

/** The answer is what Swarm says now (a final state), or a timeout while Swarm still works. */
async function assertTruthful (name: string, answer: Answer, v2digest: string): Promise<void> {
  const state = await swarmState(name)
  const { status } = answer.json
  if (answer.status === 200) {
    assert.equal(status, 'completed')
    assert.equal(state, 'completed')
    assert.equal(digestOf(answer.json.image as string), v2digest)
    assert.equal(digestOf((await inspect(name)).Spec.TaskTemplate.ContainerSpec.Image), v2digest)
  } else if (answer.status === 409) {
    assert.ok(['paused', 'rolled_back'].includes(status as string), JSON.stringify(answer.json))
    assert.match(state ?? '', status === 'paused' ? /paused/ : /^rollback_/)
  } else {
    assert.equal(answer.status, 504, JSON.stringify(answer.json))
    assert.equal(status, 'timeout')
  }
}

describe('cluster: nodes failing during an update', { skip: clusterSkip }, () => {
  let updater: Updater
  const cleanup = new Cleanup()
  before(async () => {
    updater = await startUpdater(cleanup, LOGGED_IN_CONFIG, { UPDATE_TIMEOUT: String(UPDATE_TIMEOUT) })
  })
  after(async () => {
    await cleanup.run()
    // Whatever happened, leave every node running for the next test.
    await cluster('start-node', 'node2').catch(() => '')
    await cluster('start-node', 'node1').catch(() => '')
  })

  test('cluster: a worker killed mid-update: Swarm\'s real outcome within UPDATE_TIMEOUT; its return changes nothing answered', async (t) => {
    const name = uniqueName('cu-nodekill')
    const v1 = await pushImage(name, 'latest')
    await createService(t, name, v1.ref, { extra: slowRollout, withRegistryAuth: true })
    const v2 = await pushImage(name, 'latest')

    const answered = postWithDeadline(updater.url, { appName: name })
    await waitMidUpdate(name, v2.digest)
    await cluster('stop-node', 'node2', 'KILL')
    const answer = await answered
    t.diagnostic(`answer ${answer.status} ${answer.json.status as string}: ${answer.json.message as string}; Swarm: ${await swarmState(name)}`)
    assert.ok(finalStates.includes(answer.json.status as string), JSON.stringify(answer.json))
    await assertTruthful(name, answer, v2.digest)
    assert.equal((await fetch(`${updater.url}/healthz`)).status, 200)
    assert.equal((await fetch(`${updater.url}/readyz`)).status, 200)

    await cluster('start-node', 'node2')
    await waitFor('node2 to be Ready again', async () => /cu-node2 Ready/.test(await docker('node', 'ls', '--format', '{{.Hostname}} {{.Status}}')), 60)
    // Give Swarm time to reconcile the returning node's tasks before reading the record again.
    await waitFor('the service to settle', async () => (await runningTasks(name)).every((task) => task.state === 'running'), 60)
    const later = await getJson(updater.url, `/updates/${answer.json.updateId as string}`)
    assert.equal(later.status, 200)
    if (answer.json.status !== 'timeout') assert.deepEqual(later.json, answer.json)
  })

  test('cluster: the manager\'s engine restarted mid-update: /readyz 503 then 200, and a truthful answer before the deadline', async (t) => {
    const name = uniqueName('cu-mgrrestart')
    const v1 = await pushImage(name, 'latest')
    await createService(t, name, v1.ref, { extra: slowRollout, withRegistryAuth: true })
    const v2 = await pushImage(name, 'latest')

    const answered = postWithDeadline(updater.url, { appName: name })
    await waitMidUpdate(name, v2.digest)
    await cluster('stop-node', 'node1', 'TERM')
    const notReady = await fetch(`${updater.url}/readyz`)
    assert.equal(notReady.status, 503)
    assert.match((await notReady.json() as { message: string }).message, /docker|daemon|connect/i)
    await cluster('start-node', 'node1')
    await waitFor('/readyz to be 200 again', async () => (await fetch(`${updater.url}/readyz`)).status === 200, 60)

    const answer = await answered
    t.diagnostic(`answer ${answer.status} ${answer.json.status as string}: ${answer.json.message as string}; Swarm: ${await swarmState(name)}`)
    if (answer.status === 503 || answer.status === 502) {
      // Docker was unreachable when it looked: an error naming that, never a made-up state.
      assert.equal(typeof answer.json.code, 'string', JSON.stringify(answer.json))
      assert.equal(answer.json.status, undefined)
    } else {
      assert.ok(finalStates.includes(answer.json.status as string), JSON.stringify(answer.json))
      await assertTruthful(name, answer, v2.digest)
    }
    assert.equal((await fetch(`${updater.url}/healthz`)).status, 200)
  })
})
