import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { openSqliteStore, DATABASE_FILE } from '../../src/store/sqlite-store.ts'
import { migrate, SCHEMA_VERSION } from '../../src/store/migrations.ts'
import { openWatchStore } from '../../src/watch/watch-store.ts'
import { record, tempDir } from './store-fixtures.ts'

const digestA = 'sha256:' + 'a'.repeat(64)
const digestB = 'sha256:' + 'b'.repeat(64)

test('watch state: first-seen kept from the first sighting, quarantines and checks survive reopening', (t) => {
  const dir = tempDir(t)
  const records = openSqliteStore({ dataDir: dir })
  const watch = openWatchStore(records.file)
  assert.equal(watch.firstSeen('127.0.0.1:5000/app:1', digestA, 1000), 1000)
  assert.equal(watch.firstSeen('127.0.0.1:5000/app:1', digestA, 5000), 1000, 'a later sighting keeps the first time')
  assert.equal(watch.firstSeen('127.0.0.1:5000/app:1', digestB, 5000), 5000)
  watch.quarantine({ serviceId: 'id1', service: 'web', digest: digestA, updateId: 'u1', sinceMs: 2000 })
  watch.saveCheck({ serviceId: 'id1', service: 'web', lastCheckedMs: 3000, state: 'quarantined', message: null, notified: digestB })
  watch.close()
  records.close()

  const again = openWatchStore(join(dir, DATABASE_FILE))
  t.after(() => again.close())
  assert.equal(again.firstSeen('127.0.0.1:5000/app:1', digestA, 9000), 1000)
  assert.deepEqual(again.getQuarantine('id1'), { serviceId: 'id1', service: 'web', digest: digestA, updateId: 'u1', sinceMs: 2000 })
  assert.deepEqual(again.getCheck('id1'), { serviceId: 'id1', service: 'web', lastCheckedMs: 3000, state: 'quarantined', message: null, notified: digestB })
  assert.equal(again.checks().length, 1)
  assert.equal(again.lift('id1'), true)
  assert.equal(again.lift('id1'), false, 'nothing left to lift')
  assert.equal(again.getQuarantine('id1'), undefined)
  assert.deepEqual(again.quarantines(), [])
})

test('a database of schema 1 is upgraded in place: its records kept, the watch tables added', (t) => {
  const kept = record(1)
  const fresh = tempDir(t)
  const legacy = new Database(join(fresh, DATABASE_FILE))
  legacy.pragma('journal_mode = WAL')
  migrate(legacy, 1)
  legacy.prepare(`INSERT INTO updates (update_id, app_name, service, status, previous_image, image, started_at, started_ms, finished_at, finished_ms,
    duration_ms, status_url, service_id) VALUES (?, 'web', 'web', 'completed', NULL, NULL, ?, ?, NULL, NULL, NULL, ?, 'sid')`)
    .run(kept.updateId, '2026-01-01T00:00:00.000Z', Date.parse('2026-01-01T00:00:00.000Z'), `/updates/${kept.updateId}`)
  assert.equal(legacy.pragma('user_version', { simple: true }), 1)
  assert.throws(() => legacy.prepare('SELECT * FROM quarantines').all(), /no such table/)
  legacy.close()

  const upgraded = openSqliteStore({ dataDir: fresh })
  t.after(() => upgraded.close())
  assert.equal(upgraded.get(kept.updateId)?.status, 'completed', 'the old record is still there')
  const watch = openWatchStore(upgraded.file)
  t.after(() => watch.close())
  assert.deepEqual(watch.quarantines(), [])
  assert.equal(watch.firstSeen('x/y:z', digestA, 7), 7)
  const check = new Database(join(fresh, DATABASE_FILE), { readonly: true })
  assert.equal(check.pragma('user_version', { simple: true }), SCHEMA_VERSION)
  check.close()
})

test('the watch store of a missing database is a StoreUnavailable naming the file', (t) => {
  const dir = tempDir(t)
  assert.throws(() => openWatchStore(join(dir, 'nothing.db')), (error: Error) => error.message.includes('nothing.db'))
})
