import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { appRootfs } from '../app-image.ts'
import { pushPlatformIndex } from '../oci-index.ts'
import { startRegistry } from '../registry-fixture.ts'
import { LOGGED_IN_CONFIG, NODES, clusterSkip, createService, docker, nodeDocker, postUpdate, pushImage, startUpdater, uniqueName } from '../cluster-fixtures.ts'

/**
 * The pre-flight (docs/API.md, "Pre-flight") on the three-node rig: the updater, run as the built
 * server, refuses before anything changes an image none of the nodes can run, and an update whose
 * placement leaves no node.
 */
const versionOf = async (name: string): Promise<number> => Number(await docker('service', 'inspect', '--format', '{{.Version.Index}}', name))

describe('cluster: pre-flight', { skip: clusterSkip, concurrency: true }, () => {
  test('cluster: a tag whose manifest list lacks the nodes\' architecture is refused 409 CU_NO_SUITABLE_NODE, Version.Index unchanged', async (t) => {
    // A registry the updater (in the host's network) can ask; the nodes run v1 from their own
    // copies (imported on each, `--no-resolve-image`): the refusal must come before any pull.
    const registry = await startRegistry(t)
    const name = uniqueName('cu-pre-arch')
    const ref = `${registry.address}/${name}:v1`
    const dir = await mkdtemp(join(tmpdir(), 'cu-pre-image-'))
    t.after(() => rm(dir, { recursive: true, force: true }))
    const { tar } = await appRootfs(dir, 'v1', 'good')
    await Promise.all(NODES.map(async (node) => nodeDocker(node, ['import', '-c', 'CMD ["/bin/app"]', tar, ref])))
    t.after(() => Promise.all(NODES.map(async (node) => nodeDocker(node, ['image', 'rm', ref]).catch(() => ''))))
    await createService(t, name, ref, { extra: ['--no-resolve-image', '--replicas', '3', '--replicas-max-per-node', '1'] })
    await pushPlatformIndex(`http://${registry.address}`, name, 'v2', [{ os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 's390x' }])
    const arches = (await docker('node', 'inspect', '--format', '{{.Description.Platform.Architecture}}', ...NODES.map((node) => `cu-${node}`))).split('\n')
    assert.deepEqual([...new Set(arches)], ['x86_64'], 'the test assumes three amd64 nodes')
    const before = await versionOf(name)

    const updater = await startUpdater(t, LOGGED_IN_CONFIG)
    const res = await postUpdate(updater.url, { appName: name, tag: 'v2' })
    assert.equal(res.status, 409, JSON.stringify(res.json))
    assert.equal(res.json.code, 'CU_NO_SUITABLE_NODE')
    assert.match(res.json.message as string, /the image offers linux\/arm64, linux\/s390x, but the nodes it may run on are linux\/amd64$/)
    assert.equal(await versionOf(name), before, 'nothing changed')
    assert.equal(await docker('service', 'inspect', '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}', name), ref)
  })

  test('cluster: a placement constraint that leaves no node (its one node paused) is refused 409 naming why, Version.Index unchanged', async (t) => {
    const label = uniqueName('cu-pre-pool')
    await docker('node', 'update', '--label-add', `${label}=yes`, 'cu-node3')
    t.after(async () => {
      await docker('node', 'update', '--availability', 'active', 'cu-node3').catch(() => '')
      await docker('node', 'update', '--label-rm', label, 'cu-node3').catch(() => '')
    })
    const name = uniqueName('cu-pre-place')
    const v1 = await pushImage(name, 'latest')
    await createService(t, name, v1.ref, { extra: ['--constraint', `node.labels.${label}==yes`], withRegistryAuth: true })
    await pushImage(name, 'latest')
    // Paused: its task keeps running, but Swarm would schedule the new one nowhere.
    await docker('node', 'update', '--availability', 'pause', 'cu-node3')
    const before = await versionOf(name)

    const updater = await startUpdater(t, LOGGED_IN_CONFIG)
    const res = await postUpdate(updater.url, { appName: name })
    assert.equal(res.status, 409, JSON.stringify(res.json))
    assert.equal(res.json.code, 'CU_NO_SUITABLE_NODE')
    const message = res.json.message as string
    assert.match(message, new RegExp(`placement constraints node\\.labels\\.${label}==yes`))
    assert.match(message, /cu-node3: availability pause/)
    assert.match(message, new RegExp(`cu-node1: fails node\\.labels\\.${label}==yes`))
    assert.equal(await versionOf(name), before, 'nothing changed')
  })
})
