import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { buildApp } from '../../src/app.ts'
import type { PushEvent } from '../../src/hooks/events.ts'
import { FakeDocker } from '../fake-docker.ts'
import { bearer, testConfig } from '../helper.ts'
import { distributionEvent } from '../unit/hooks-payloads.ts'
import { tempDir } from '../unit/store-fixtures.ts'
import { StoreUnavailable } from '../../src/errors.ts'
import type { DeliveryMemory } from '../../src/hooks/deliveries.ts'

/** The app on a data directory, with a recording onPush; closed when the test ends. */
async function appOn (t: Parameters<typeof tempDir>[0], dataDir: string, received: PushEvent[]) {
  const app = await buildApp(testConfig({ DATA_DIR: dataDir }), { runner: new FakeDocker().runner, onPush: (events) => { received.push(...events) } })
  t.after(() => app.close())
  await app.ready()
  return app
}

const deliver = async (app: Awaited<ReturnType<typeof appOn>>, body: unknown) => {
  const res = await app.inject({ method: 'POST', url: '/hooks/distribution', headers: { ...bearer(), 'content-type': 'application/json' }, payload: JSON.stringify(body) })
  assert.equal(res.statusCode, 202, res.body)
  return res.json() as { accepted: number, ignored: number, duplicate: number }
}

test('hooks: a redelivery after a restart is still a duplicate (the ids are in the record database)', async (t) => {
  const dataDir = join(tempDir(t), 'data')
  const received: PushEvent[] = []
  const body = { events: [distributionEvent({ id: 'kept-1' })] }
  const first = await appOn(t, dataDir, received)
  assert.deepEqual(await deliver(first, body), { accepted: 1, ignored: 0, ignoredReasons: [], duplicate: 0 })
  await first.close()

  const second = await appOn(t, dataDir, received)
  assert.deepEqual(await deliver(second, body), { accepted: 0, ignored: 0, ignoredReasons: [], duplicate: 1 })
  assert.deepEqual(await deliver(second, { events: [distributionEvent({ id: 'new-2' })] }), { accepted: 1, ignored: 0, ignoredReasons: [], duplicate: 0 })
  assert.deepEqual(received.map((e) => e.id), ['kept-1', 'new-2'])
})

test('hooks: an event id of 450 kB is handed over and stored as its sha256; repeated, it is a duplicate', async (t) => {
  const dataDir = join(tempDir(t), 'data')
  const received: PushEvent[] = []
  const app = await appOn(t, dataDir, received)
  const long = 'L'.repeat(450 * 1024)
  const body = { events: [distributionEvent({ id: long })] }
  assert.deepEqual(await deliver(app, body), { accepted: 1, ignored: 0, ignoredReasons: [], duplicate: 0 })
  assert.deepEqual(await deliver(app, body), { accepted: 0, ignored: 0, ignoredReasons: [], duplicate: 1 })
  assert.equal(received.length, 1)
  assert.match(received[0]!.id, /^sha256:[0-9a-f]{64}$/, 'the engine, the batch target and the logs get the bounded id')
  const db = new Database(join(dataDir, 'updates.db'), { readonly: true })
  t.after(() => db.close())
  const rows = db.prepare('SELECT source, event_id FROM hook_deliveries').all()
  assert.deepEqual(rows, [{ source: 'distribution', event_id: received[0]!.id }])
})

test('hooks: with DATA_DIR=:memory: the ids are remembered in memory, per source', async (t) => {
  const received: PushEvent[] = []
  const app = await appOn(t, ':memory:', received)
  const body = { events: [distributionEvent({ id: 'm-1' }), distributionEvent({ id: 'm-1' })] }
  assert.deepEqual(await deliver(app, body), { accepted: 1, ignored: 0, ignoredReasons: [], duplicate: 1 }, 'one body repeating an id counts it once')
  assert.deepEqual(await deliver(app, body), { accepted: 0, ignored: 0, ignoredReasons: [], duplicate: 2 })
})

test('hooks: the handled ids cannot be read or written: 503 as documented, nothing handed over (the registry retries)', async (t) => {
  const received: PushEvent[] = []
  const broken: DeliveryMemory = {
    remember: () => { throw new StoreUnavailable('database /data/updates.db could not be written: SQLITE_FULL') },
    forget: () => {},
    close: () => {}
  }
  const app = await buildApp(testConfig(), { runner: new FakeDocker().runner, hooks: { memory: broken }, onPush: (events) => { received.push(...events) } })
  t.after(() => app.close())
  const doc = (await app.inject('/docs/json')).json() as { paths: Record<string, { post: { responses: Record<string, unknown> } }> }
  const res = await app.inject({ method: 'POST', url: '/hooks/distribution', headers: { ...bearer(), 'content-type': 'application/json' }, payload: JSON.stringify({ events: [distributionEvent()] }) })
  assert.equal(res.statusCode, 503, res.body)
  const body = res.json() as Record<string, unknown>
  assert.deepEqual(Object.keys(body).sort(), ['code', 'error', 'message', 'statusCode'], 'the error body')
  assert.equal(body.code, 'CU_STORE_UNAVAILABLE')
  assert.match(String(body.message), /SQLITE_FULL/)
  const responses = doc.paths['/hooks/distribution']!.post.responses
  assert.deepEqual(responses['503'], responses['401'], '503 is documented with the error body, as every error status')
  assert.equal(received.length, 0)
})
