import { before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { bearer } from '../helper.ts'
import { REGISTRY, digestOf, inspect, pushImage, swarmSkip, until } from '../swarm-fixtures.ts'
import { buildOnce, startServer, type Server } from '../server-process.ts'
import {
  assertAgrees, assertDocumented, callsOf, faultyDocker, midUpdate, serviceWithNewImage, type OpenApiDoc, type RecordBody
} from '../fault-fixtures.ts'

const POST_UPDATE = { method: 'post', path: '/update' }
const FINAL = ['completed', 'rolled_back', 'paused', 'failed', 'superseded', 'cancelled']

const headers = { ...bearer(), 'content-type': 'application/json' }

async function post (server: Server, body: unknown): Promise<{ status: number, body: Record<string, unknown> }> {
  const res = await fetch(`${server.url}/update`, { method: 'POST', headers, body: JSON.stringify(body) })
  return { status: res.status, body: await res.json() as Record<string, unknown> }
}

async function records (server: Server, query: string): Promise<RecordBody[]> {
  const res = await fetch(`${server.url}/updates?${query}`, { headers: bearer() })
  assert.equal(res.status, 200)
  return (await res.json() as { updates: RecordBody[] }).updates
}

/**
 * The process around the engine (issue #12): SIGTERM while Docker hangs, and SIGKILL mid-update
 * followed by a restart on the same DATA_DIR. The server runs as it ships, from dist/.
 */
describe('faults: the updater process', { skip: swarmSkip, concurrency: true }, () => {
  before(buildOnce, { timeout: 300_000 })

  test('faults: SIGTERM while Docker hangs: the in-flight update is answered before SHUTDOWN_GRACE, the queued one 503 without reaching Docker, exit 0', async (t) => {
    // Swarm watches the new tasks for 30 s: the update is surely still rolling at SIGTERM.
    const { name } = await serviceWithNewImage(t, 'cu-f-term', ['--update-monitor', '30s'])
    await pushImage(name, 'v2')
    const docker = await faultyDocker(t)
    const data = await mkdtemp(join(tmpdir(), 'cu-f-data-'))
    t.after(() => rm(data, { recursive: true, force: true }))
    const server = await startServer(t, { DOCKER_BIN: docker.bin, SHUTDOWN_GRACE: '5', UPDATE_TIMEOUT: '120', DOCKER_COMMAND_TIMEOUT: '60', DATA_DIR: data })
    const doc = await (await fetch(`${server.url}/docs/json`)).json() as OpenApiDoc
    const before = await inspect(name)
    const inFlight = post(server, { appName: name })
    await midUpdate(name, before.Version.Index, inFlight.then((r) => ({ statusCode: r.status, body: JSON.stringify(r.body) })))
    // A second target for the same service waits for the running update.
    const queued = post(server, { appName: name, tag: 'v2' })
    await until('the second request to be queued', async () => (await records(server, `service=${name}&status=queued`)).length === 1 ? true : undefined)
    // From now on every Docker call hangs (the events stream already running stays up).
    await docker.set([{ fault: 'hang' }])
    server.child.kill('SIGTERM')

    const [a, b] = await Promise.all([inFlight, queued])
    assertDocumented(doc, POST_UPDATE, a.status, a.body)
    assert.ok(a.status === 504 || a.status === 200, `the in-flight update gets its real state or timeout: ${a.status} ${JSON.stringify(a.body)}`)
    if (a.status === 504) assert.equal(a.body.status, 'timeout')
    assertDocumented(doc, POST_UPDATE, b.status, b.body)
    assert.equal(b.status, 503, JSON.stringify(b.body))
    assert.equal(b.body.code, 'CU_SHUTTING_DOWN')
    const [code, signal] = await server.exited
    assert.equal(signal, null, server.output())
    assert.equal(code, 0, `exits 0 within SHUTDOWN_GRACE: ${server.output()}`)

    const updates = await callsOf(docker, 'service update')
    assert.equal(updates.length, 1, `the queued update never reached Docker: ${JSON.stringify(updates)}`)
    const after = await inspect(name)
    assert.match(after.Spec.TaskTemplate.ContainerSpec.Image, new RegExp(`^${REGISTRY}/${name}:latest@`), 'Swarm has the in-flight update, not the cancelled one')
    if (a.status === 504) assert.equal(after.UpdateStatus?.State, 'updating', 'the record\'s timeout agrees: Swarm is still rolling it')
  })

  for (const kind of ['good', 'crash'] as const) {
    test(`faults: SIGKILL mid-update and a restart on the same DATA_DIR: the record reaches its real end (${kind === 'good' ? 'completed' : 'rolled_back'})`, async (t) => {
      const { name, v1 } = await serviceWithNewImage(t, `cu-f-kill-${kind}`, ['--update-monitor', '6s'])
      const v2 = await pushImage(name, 'latest', kind)
      const docker = await faultyDocker(t)
      const data = await mkdtemp(join(tmpdir(), 'cu-f-data-'))
      t.after(() => rm(data, { recursive: true, force: true }))
      const env = { DOCKER_BIN: docker.bin, UPDATE_TIMEOUT: '120', DATA_DIR: data, EVENTS_STREAM: 'false' }
      const first = await startServer(t, env)
      const before = await inspect(name)
      const cut = post(first, { appName: name }) // cut by the kill
      await midUpdate(name, before.Version.Index, cut.then((r) => ({ statusCode: r.status, body: JSON.stringify(r.body) })))
      const [running] = await until('the record to say updating', async () => {
        const found = await records(first, `service=${name}&status=updating`)
        return found.length === 1 ? found : undefined
      })
      first.child.kill('SIGKILL')
      await first.exited

      const second = await startServer(t, env)
      const doc = await (await fetch(`${second.url}/docs/json`)).json() as OpenApiDoc
      let record: RecordBody | undefined
      for (let i = 0; i < 240; i++) {
        const res = await fetch(`${second.url}${running!.statusUrl}`, { headers: bearer() })
        assert.equal(res.status, 200, `the record outlived the process (DATA_DIR): ${res.status} ${await res.clone().text()}`)
        record = await res.json() as RecordBody
        assertDocumented(doc, { method: 'get', path: '/updates/{updateId}' }, 200, record)
        if (FINAL.includes(record.status)) break
        await sleep(250)
      }
      assert.equal(record?.status, kind === 'good' ? 'completed' : 'rolled_back', JSON.stringify(record))
      assertAgrees(record!, await inspect(name))
      assert.equal(digestOf(record!.image ?? ''), kind === 'good' ? v2.digest : v1.digest)
      second.child.kill('SIGTERM')
      assert.deepEqual(await second.exited, [0, null])
    })
  }
})
