import { test } from 'node:test'
import assert from 'node:assert/strict'
import Database from 'better-sqlite3'
import { openSqliteStore } from '../../src/store/sqlite-store.ts'
import { openDeliveryStore } from '../../src/hooks/delivery-store.ts'
import { DigestsInFlight } from '../../src/hooks/digests-in-flight.ts'
import { tempDir } from './store-fixtures.ts'

test('delivery store: handled ids survive reopening; forgotten ones are accepted again; another source is another event', (t) => {
  const dir = tempDir(t)
  const records = openSqliteStore({ dataDir: dir })
  const first = openDeliveryStore(records.file)
  assert.deepEqual(first.remember('distribution', ['a', 'b', 'a']), [true, true, false])
  first.forget('distribution', ['b'])
  first.close()
  records.close()

  const again = openDeliveryStore(records.file)
  t.after(() => again.close())
  assert.deepEqual(again.remember('distribution', ['a', 'b']), [false, true], 'a is still known after the restart; b was forgotten')
  assert.deepEqual(again.remember('github', ['a']), [true])
})

test('delivery store: bounded in age and count, long ids kept as their hash', (t) => {
  const dir = tempDir(t)
  const records = openSqliteStore({ dataDir: dir })
  t.after(() => records.close())
  let now = 1_000_000
  const store = openDeliveryStore(records.file, { max: 5, ttlMs: 1000, now: () => now })
  t.after(() => store.close())
  const huge = 'h'.repeat(450 * 1024)
  assert.deepEqual(store.remember('distribution', [huge]), [true])
  assert.deepEqual(store.remember('distribution', [huge]), [false], 'the long id is recognised')
  now += 999
  assert.deepEqual(store.remember('distribution', ['x']), [true])
  now += 2
  assert.deepEqual(store.remember('distribution', [huge]), [true], 'aged out after the TTL')
  for (let n = 0; n < 20; n++) { now += 1; store.remember('distribution', [`id-${n}`]) }
  const db = new Database(records.file, { readonly: true })
  t.after(() => db.close())
  const rows = db.prepare('SELECT event_id FROM hook_deliveries').all() as Array<{ event_id: string }>
  assert.equal(rows.length, 5, 'the oldest went beyond the count')
  assert.ok(rows.every((r) => r.event_id.length <= 128), JSON.stringify(rows.map((r) => r.event_id.length)))
  assert.deepEqual(store.remember('distribution', ['id-19', 'id-0']), [false, true])
})

test('digests in flight: a (service, digest) is covered while its update runs, then only for reads begun before it ended', async () => {
  const inFlight = new DigestsInFlight()
  let end!: () => void
  const ended = new Promise<void>((resolve) => { end = resolve })
  const digest = 'sha256:' + 'a'.repeat(64)
  const other = 'sha256:' + 'b'.repeat(64)
  const before = inFlight.tick()
  inFlight.add('svc1', 'u1', digest, ended)
  assert.ok(inFlight.covers('svc1', digest, before), 'a read begun before the update started is covered')
  assert.ok(!inFlight.covers('svc1', other, before), 'another digest is not')
  assert.ok(!inFlight.covers('svc2', digest, before), 'another service is not')
  inFlight.add('svc1', 'u1', other, ended)
  assert.ok(inFlight.covers('svc1', other, inFlight.tick()), 'a request that joined the update adds its digest')
  const during = inFlight.tick()
  end()
  await ended
  await Promise.resolve()
  assert.ok(inFlight.covers('svc1', digest, during), 'a read begun while it ran is still covered once it ended')
  const after = inFlight.tick()
  assert.ok(!inFlight.covers('svc1', digest, after), 'a read begun after it ended sees Swarm as it is')
  inFlight.prune(during)
  assert.equal(inFlight.size, 1, 'kept while a read begun before its end may still be answered')
  inFlight.prune(after)
  assert.equal(inFlight.size, 0)
})
