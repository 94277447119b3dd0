import { after, describe, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import {
  LOGGED_IN_CONFIG, NODES, cluster, clusterSkip, createService, docker, getJson, inspect, postUpdate,
  pushImage, startUpdater, uniqueName, waitFor, type Answer, type NodeName
} from '../cluster-fixtures.ts'
import { digestOf, runningTasks } from '../cluster-tasks.ts'

/**
 * Nodes going away mid-update: a worker's daemon killed outright, and the manager's engine
 * restarted. The updater must answer with what Swarm really did, within its deadline, and go on
 * serving; what it has answered must not change when the node comes back.
 */
const MANAGER_TIMEOUT = 45
/** Swarm stalls while a node holding a task it must replace is down: the answer is a timeout. */
const WORKER_TIMEOUT = 20
/** Long enough that the update is still rolling when a node is stopped. */
const slowRollout = ['--replicas', '3', '--replicas-max-per-node', '1', '--update-parallelism', '1', '--update-delay', '3s']
const finalStates = ['completed', 'paused', 'rolled_back', 'timeout']

/** POST /update, failing (instead of hanging) if no answer comes well after the deadline. */
async function postWithDeadline (url: string, body: unknown, timeout: number): Promise<Answer> {
  const deadline = AbortSignal.timeout((timeout + 30) * 1000)
  return Promise.race([
    postUpdate(url, body),
    new Promise<never>((_resolve, reject) => deadline.addEventListener('abort', () => reject(new Error(`no answer within UPDATE_TIMEOUT (${timeout} s) + 30 s`))))
  ])
}

const swarmState = async (name: string): Promise<string | undefined> => (await inspect(name)).UpdateStatus?.State

/** The record status Swarm's final UpdateStatus.State stands for. */
const recordStatusFor = (state: string | undefined): string =>
  state === 'completed' ? 'completed' : state === 'paused' || state === 'rollback_paused' ? 'paused' : 'rolled_back'

/** Waits until Swarm has replaced at least one task but not all: the update is mid-way. */
async function waitMidUpdate (name: string, digest: string): Promise<void> {
  await waitFor('the update to be rolling', async () => {
    const tasks = await runningTasks(name)
    return await swarmState(name) === 'updating' &&
      tasks.some((task) => task.state === 'running' && digestOf(task.image) === digest)
  }, 60)
}

/**
 * A slowly rolling 3-replica service, an updater with this UPDATE_TIMEOUT asked to roll it onto a
 * newly pushed image, and the moment Swarm is mid-way through: what each test then breaks.
 */
async function updateUnderway (t: TestContext, prefix: string, timeout: number) {
  const name = uniqueName(prefix)
  const v1 = await pushImage(name, 'latest')
  await createService(t, name, v1.ref, { extra: slowRollout, withRegistryAuth: true })
  const v2 = await pushImage(name, 'latest')
  const updater = await startUpdater(t, LOGGED_IN_CONFIG, { UPDATE_TIMEOUT: String(timeout) })
  const answered = postWithDeadline(updater.url, { appName: name }, timeout)
  await waitMidUpdate(name, v2.digest)
  return { name, v1, v2, updater, answered }
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
    assert.equal(recordStatusFor(state), status)
  } else {
    assert.equal(answer.status, 504, JSON.stringify(answer.json))
    assert.equal(status, 'timeout')
  }
}

describe('cluster: nodes failing during an update', { skip: clusterSkip }, () => {
  after(async () => {
    // Whatever happened, leave every node running for the next test.
    for (const node of NODES) await cluster('start-node', node).catch(() => '')
  })

  test('cluster: a worker killed mid-update: Swarm\'s real outcome within UPDATE_TIMEOUT; its return changes nothing answered', async (t) => {
    const { name, v1, v2, updater, answered } = await updateUnderway(t, 'cu-nodekill', WORKER_TIMEOUT)
    // A worker whose task is still on v1: Swarm has yet to replace a task on a node that is gone.
    const victim = (await runningTasks(name)).find((task) => task.node !== 'cu-node1' && digestOf(task.image) === v1.digest)
    assert.ok(victim !== undefined, 'a worker still runs v1')
    const node = victim.node.replace(/^cu-/, '') as NodeName
    await cluster('stop-node', node, 'KILL')
    const answer = await answered
    t.diagnostic(`killed ${node}; answer ${answer.status} ${answer.json.status as string}: ${answer.json.message as string}; Swarm: ${await swarmState(name)}`)
    assert.ok(finalStates.includes(answer.json.status as string), JSON.stringify(answer.json))
    await assertTruthful(name, answer, v2.digest)
    assert.equal((await fetch(`${updater.url}/healthz`)).status, 200)
    assert.equal((await fetch(`${updater.url}/readyz`)).status, 200)

    await cluster('start-node', node)
    await waitFor(`${node} to be Ready again`, async () => new RegExp(`cu-${node} Ready`).test(await docker('node', 'ls', '--format', '{{.Hostname}} {{.Status}}')), 60)
    await waitFor('Swarm to settle the update', async () => await swarmState(name) !== 'updating', 60)
    const settled = await swarmState(name)
    // The updater reads Swarm every POLL_INTERVAL_MS: let it see the settled state.
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const later = await getJson(updater.url, `/updates/${answer.json.updateId as string}`)
    assert.equal(later.status, 200)
    t.diagnostic(`after ${node} rejoined: Swarm ${settled}, record ${later.json.status as string}`)
    if (answer.json.status === 'timeout') {
      // A timeout is not an end: the record may go on to Swarm's real one, but what was answered
      // about the update itself stays.
      for (const field of ['updateId', 'service', 'previousImage', 'startedAt']) assert.equal(later.json[field], answer.json[field], field)
      assert.ok(['timeout', recordStatusFor(settled)].includes(later.json.status as string), JSON.stringify(later.json))
    } else {
      assert.deepEqual(later.json, answer.json)
    }
  })

  test('cluster: the manager\'s engine restarted mid-update: /readyz 503 then 200, and a truthful answer before the deadline', async (t) => {
    const { name, v2, updater, answered } = await updateUnderway(t, 'cu-mgrrestart', MANAGER_TIMEOUT)
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
