import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { NODES, docker, nodeDocker, type NodeName } from './cluster-fixtures.ts'

/** What runs where in the test cluster: Swarm's view of a service's tasks, and each node's own. */

export interface TaskView { id: string, node: string, state: string, desired: string, image: string, error?: string }

/** The service's tasks meant to run now: on which node (hostname), in which state, with which image. */
export async function runningTasks (name: string): Promise<TaskView[]> {
  const ids = (await docker('service', 'ps', '--quiet', '--no-trunc', '--filter', 'desired-state=running', name)).split('\n').filter(Boolean)
  if (ids.length === 0) return []
  const nodes = new Map((await docker('node', 'ls', '--format', '{{.ID}} {{.Hostname}}')).split('\n').map((line) => line.split(' ') as [string, string]))
  const tasks = JSON.parse(await docker('inspect', '--type', 'task', ...ids)) as Array<{
    ID: string, NodeID: string, DesiredState: string, Status: { State: string, Err?: string }, Spec: { ContainerSpec: { Image: string } }
  }>
  return tasks.map((task) => ({
    id: task.ID,
    node: nodes.get(task.NodeID) ?? task.NodeID,
    state: task.Status.State,
    desired: task.DesiredState,
    image: task.Spec.ContainerSpec.Image,
    ...(task.Status.Err !== undefined && { error: task.Status.Err })
  }))
}

/** The /version each node's container of the service prints: what really runs, node by node. */
export async function versionsByNode (name: string, nodes: readonly NodeName[] = NODES): Promise<Record<string, string>> {
  const versions: Record<string, string> = {}
  await Promise.all(nodes.map(async (node) => {
    const ids = (await nodeDocker(node, ['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${name}`, '--filter', 'status=running'])).split('\n').filter(Boolean)
    versions[node] = ids.length === 1 ? await nodeDocker(node, ['exec', ids[0]!, 'cat', '/version']) : `${ids.length} containers`
  }))
  return versions
}

/**
 * Waits (bounded) until every node runs one container of the service, on this version, and asserts
 * it. Swarm reports an update or a rollback finished once its slots were replaced; a slot whose
 * task failed can still be waiting out its restart delay for a moment after that.
 */
export async function assertVersionsSettle (name: string, version: string, nodes: readonly NodeName[] = NODES, seconds = 30): Promise<void> {
  const expected = Object.fromEntries(nodes.map((node) => [node, version]))
  let seen: Record<string, string> = {}
  const deadline = Date.now() + seconds * 1000
  do {
    seen = await versionsByNode(name, nodes)
    if (nodes.every((node) => seen[node] === version)) return
    await sleep(250)
  } while (Date.now() < deadline)
  assert.deepEqual(seen, expected, `not every node settled on ${version} within ${seconds} s`)
}

export const digestOf = (image: string): string | undefined => /@(sha256:[0-9a-f]{64})$/.exec(image)?.[1]
