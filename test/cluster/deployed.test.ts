import { before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { chmodSync, mkdtempSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { SECRET, token } from '../helper.ts'
import {
  LOGGED_IN_CONFIG, MANAGER_HOST, clusterSkip, createService, curlIn, docker, inspect, postUpdate, pushImage,
  removeDir, socketOf, startUpdater, uniqueName, waitFor
} from '../cluster-fixtures.ts'
import { digestOf, runningTasks, assertVersionsSettle } from '../cluster-tasks.ts'

/**
 * The production image deployed with deploy/stack.yml on the cluster's manager (host network, the
 * manager's own socket), updating a service whose tasks run only on the workers. The image is
 * built from the real Dockerfile on the machine's engine, against the local bases of
 * scripts/test-image-bases.sh, exactly as test/image/ builds it, then loaded into the manager.
 */
const exec = promisify(execFile)
const IMAGE = 'cu-test/updater:cluster'
const NODE_BASE = process.env.CU_TEST_NODE_BASE ?? 'cu-test/node:24-headers'
const CLI_BASE = process.env.CU_TEST_DOCKER_CLI_BASE ?? 'cu-test/docker-cli:host'
const HUB = 'cu-cluster-hub'
const MANAGER_ADDR = '198.18.0.11'

/** `docker save` from the machine's engine into `docker load` on the manager, unless it has it. */
async function loadIntoManager (image: string): Promise<void> {
  const id = (await exec('docker', ['image', 'inspect', '--format', '{{.Id}}', image])).stdout.trim()
  if (await docker('image', 'inspect', '--format', '{{.Id}}', image).then((have) => have === id, () => false)) return
  const save = spawn('docker', ['save', image], { stdio: ['ignore', 'pipe', 'inherit'] })
  const load = spawn('docker', ['load', '--quiet'], { env: { ...process.env, DOCKER_HOST: MANAGER_HOST }, stdio: ['pipe', 'ignore', 'inherit'] })
  save.stdout.pipe(load.stdin)
  const [[saved], [loaded]] = await Promise.all([once(save, 'exit'), once(load, 'exit')])
  if (saved !== 0 || loaded !== 0) throw new Error(`docker save | docker load failed (${saved}, ${loaded})`)
}

describe('cluster: the updater deployed on the manager', { skip: clusterSkip }, () => {
  before(async () => {
    await exec('docker', ['build', '--network', 'host', '--build-arg', `NODE_IMAGE=${NODE_BASE}`, '--build-arg', `DOCKER_CLI_IMAGE=${CLI_BASE}`, '-t', IMAGE, '.'],
      { cwd: join(import.meta.dirname, '..', '..'), env: { ...process.env, DOCKER_BUILDKIT: '0' }, maxBuffer: 64 * 1024 * 1024, timeout: 600_000 })
    await loadIntoManager(IMAGE)
  })

  test('cluster: deploy/stack.yml on the manager updates a service that runs only on workers', async (t) => {
    const name = uniqueName('cu-workers')
    const v1 = await pushImage(name, 'latest')
    // The deployed updater holds no registry credentials: the ones stored here let the workers pull.
    await createService(t, name, v1.ref, {
      extra: ['--replicas', '2', '--replicas-max-per-node', '1', '--constraint', 'node.role==worker', '--update-parallelism', '0'],
      withRegistryAuth: true
    })
    const v2 = await pushImage(name, 'latest')

    const stack = uniqueName('cucl')
    const secret = `${stack}-jwt`
    const dir = mkdtempSync(join(tmpdir(), 'cu-cluster-secret-'))
    t.after(async () => removeDir(dir))
    writeFileSync(join(dir, 'jwt'), SECRET)
    chmodSync(join(dir, 'jwt'), 0o600)
    await docker('secret', 'create', secret, join(dir, 'jwt'))
    t.after(() => docker('secret', 'rm', secret).catch(() => ''))
    t.after(() => docker('stack', 'rm', stack).catch(() => ''))
    const port = 20000 + Math.floor(Math.random() * 10000)
    await exec('docker', ['stack', 'deploy', '--resolve-image', 'never', '-c', 'deploy/stack.yml', stack], {
      cwd: join(import.meta.dirname, '..', '..'),
      env: {
        ...process.env,
        DOCKER_HOST: MANAGER_HOST,
        // Inside the manager's namespace /var/run/docker.sock is the manager's socket (same group).
        DOCKER_GID: String(statSync(socketOf('node1')).gid),
        UPDATER_IMAGE: IMAGE,
        UPDATER_PORT: String(port),
        UPDATER_JWT_SECRET: secret
      }
    })
    // Host network: the updater listens on the manager's own address, reached from the hub.
    const url = `http://${MANAGER_ADDR}:${port}`
    await waitFor('the deployed updater to be ready', async () => (await curlIn(HUB, [`${url}/readyz`])).status === 200, 90)
    const placed = await runningTasks(`${stack}_updater`)
    assert.deepEqual(placed.map((task) => task.node), ['cu-node1'])

    const res = await curlIn(HUB, ['-X', 'POST', `${url}/update`, '-H', `authorization: Bearer ${token()}`,
      '-H', 'content-type: application/json', '--data', JSON.stringify({ appName: name })])
    const json = JSON.parse(res.body) as Record<string, string>
    assert.equal(res.status, 200, res.body)
    assert.equal(json.status, 'completed')
    const tasks = await runningTasks(name)
    assert.deepEqual(tasks.map((task) => task.node).sort(), ['cu-node2', 'cu-node3'])
    await assertVersionsSettle(name, v2.version, ['node2', 'node3'])
    // Without credentials of its own the updater cannot have the tag resolved: Swarm is handed the
    // tag, each worker resolves it (README: give the updater credentials to pin the digest).
    if (digestOf(json.image!) === undefined) t.diagnostic(`answered image ${json.image!} (no digest: the updater has no registry credentials)`)
    else assert.equal(digestOf(json.image!), v2.digest)
  })

  test('cluster: an updater pointed at a worker is not ready (503, not a manager) and updates nothing', async (t) => {
    const name = uniqueName('cu-onworker')
    const v1 = await pushImage(name, 'latest')
    await createService(t, name, v1.ref, { withRegistryAuth: true })
    const onWorker = await startUpdater(t, LOGGED_IN_CONFIG, { DOCKER_HOST: `unix://${socketOf('node2')}` })
    const ready = await fetch(`${onWorker.url}/readyz`)
    assert.equal(ready.status, 503)
    assert.equal((await ready.json() as { code: string }).code, 'CU_NOT_SWARM_MANAGER')
    const res = await postUpdate(onWorker.url, { appName: name })
    assert.equal(res.status, 503, JSON.stringify(res.json))
    assert.equal(res.json.code, 'CU_NOT_SWARM_MANAGER')
    assert.equal(digestOf((await inspect(name)).Spec.TaskTemplate.ContainerSpec.Image), v1.digest)
  })
})
