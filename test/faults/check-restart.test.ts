import { before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bearer, token } from '../helper.ts'
import { APP_HTTP_PORT } from '../app-image.ts'
import { REGISTRY, createService, digestOf, freePort, pushImage, swarmSkip, uniqueName, until } from '../swarm-fixtures.ts'
import type { RecordBody } from '../fault-fixtures.ts'
import { buildOnce, startServer, type Server } from '../server-process.ts'

const FINAL = ['completed', 'rolled_back', 'paused', 'failed', 'superseded', 'cancelled']
const deploy = bearer(token({ access: 'deploy' }))

async function postUpdate (server: Server, appName: string): Promise<{ status: number, body: RecordBody }> {
  const res = await fetch(`${server.url}/update`, { method: 'POST', headers: { ...deploy, 'content-type': 'application/json' }, body: JSON.stringify({ appName, wait: false }) })
  return { status: res.status, body: await res.json() as RecordBody }
}

async function reaches (server: Server, updateId: string, states: string[]): Promise<RecordBody> {
  return until(`${updateId} to reach ${states.join('|')}`, async () => {
    const body = await (await fetch(`${server.url}/updates/${updateId}`, { headers: deploy })).json() as RecordBody
    return states.includes(String(body.status)) ? body : undefined
  }, 180_000, 250)
}

/** The post-rollout check across a restart (docs/API.md, "Post-rollout check"): the server as it ships, killed and started again. */
describe('faults: post-rollout check across a restart', { skip: swarmSkip }, () => {
  before(buildOnce, { timeout: 300_000 })

  test('faults: a check resumed after SIGKILL holds its lane: a request arriving meanwhile queues behind it, and the checked update ends completed', async (t) => {
    const name = uniqueName('cu-check-restart')
    const port = await freePort()
    await pushImage(name, 'latest', 'http-200')
    await createService(t, name, `${REGISTRY}/${name}:latest`, [
      '--publish', `mode=host,target=${APP_HTTP_PORT},published=${port}`,
      '--label', `container-updater.check.url=http://127.0.0.1:${port}/cgi-bin/status`,
      '--label', 'container-updater.check.for=20s',
      '--label', 'container-updater.check.interval=1s'
    ])
    const v2 = await pushImage(name, 'latest', 'http-200')
    const data = await mkdtemp(join(tmpdir(), 'cu-check-data-'))
    t.after(() => rm(data, { recursive: true, force: true }))
    const env = { UPDATE_TIMEOUT: '120', DATA_DIR: data, EVENTS_STREAM: 'false' }

    const first = await startServer(t, env)
    const started = await postUpdate(first, name)
    assert.equal(started.status, 202, JSON.stringify(started.body))
    await reaches(first, started.body.updateId, ['verifying'])
    first.child.kill('SIGKILL')
    await first.exited

    const second = await startServer(t, env)
    const v3 = await pushImage(name, 'latest', 'http-200')
    const next = await postUpdate(second, name)
    assert.equal(next.status, 202, JSON.stringify(next.body))
    assert.equal(next.body.status, 'queued', 'it waits behind the resumed check')
    const checked = await reaches(second, started.body.updateId, FINAL)
    assert.equal(checked.status, 'completed', JSON.stringify(checked))
    assert.equal(digestOf(String(checked.image)), v2.digest)
    const after = await reaches(second, next.body.updateId, FINAL)
    assert.equal(after.status, 'completed', JSON.stringify(after))
    assert.equal(digestOf(String(after.image)), v3.digest)
    second.child.kill('SIGTERM')
    await second.exited
  })
})
