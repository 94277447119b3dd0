import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { DATABASE_FILE, openSqliteStore } from '../../src/store/sqlite-store.js'
import { migrate } from '../../src/store/migrations.js'
import { openFreezeStore } from '../../src/store/freeze-store.js'
import { FreezeBoard, type FreezeEvent } from '../../src/engine/gates/freezes.js'
import { timerAt } from '../../src/engine/gates/timer-at.js'
import { record, tempDir } from './store-fixtures.ts'

const HOUR = 3600_000

test('freeze store: freezes outlive the process (same file), soonest end first; remove says whether there was one', (t) => {
  const dir = tempDir(t)
  const records = openSqliteStore({ dataDir: dir })
  const freezes = openFreezeStore(records.file)
  const later = { freezeId: 'f-2', services: ['shop_*', 'api'], until: new Date(Date.now() + 2 * HOUR).toISOString(), reason: 'release', createdAt: new Date().toISOString(), createdBy: 'ops' }
  const sooner = { freezeId: 'f-1', services: ['web'], until: new Date(Date.now() + HOUR).toISOString(), reason: 'audit', createdAt: new Date().toISOString() }
  freezes.add(later)
  freezes.add(sooner)
  freezes.close()
  records.close()

  const reopened = openSqliteStore({ dataDir: dir })
  const again = openFreezeStore(reopened.file)
  t.after(() => { again.close(); reopened.close() })
  assert.deepEqual(again.list(), [sooner, later])
  assert.equal(again.remove('f-1'), true)
  assert.equal(again.remove('f-1'), false)
  assert.deepEqual(again.list(), [later])
})

test('migration 4: a database of schema 3 gains the freezes table, its held records kept and listed as unfinished', (t) => {
  const dir = tempDir(t)
  const legacy = new Database(join(dir, DATABASE_FILE))
  migrate(legacy, 3)
  assert.throws(() => legacy.prepare('SELECT * FROM freezes').all(), /no such table/)
  legacy.close()
  const store = openSqliteStore({ dataDir: dir })
  t.after(() => store.close())
  const held = record(1, { status: 'held', trigger: 'hook', heldUntil: new Date(Date.now() + HOUR).toISOString(), finishedAt: null, durationMs: null })
  const pending = record(2, { status: 'pending_approval', trigger: 'watch', finishedAt: null, durationMs: null })
  const done = record(3, { status: 'completed' })
  for (const r of [held, pending, done]) store.save(r)
  assert.deepEqual(store.unfinished().map((r) => r.status).sort(), ['held', 'pending_approval'])
  const freezes = openFreezeStore(store.file)
  t.after(() => freezes.close())
  assert.deepEqual(freezes.list(), [])
})

test('freeze board: the freeze in force that ends last decides; one that ended while no updater ran ends at start, notified and lifted', (t) => {
  const store = openFreezeStore(':memory:')
  t.after(() => store.close())
  const now = Date.now()
  store.add({ freezeId: 'past', services: ['web'], until: new Date(now - 1000).toISOString(), reason: 'old', createdAt: new Date(now - HOUR).toISOString() })
  const events: Array<[FreezeEvent, string]> = []
  let lifted = 0
  const board = new FreezeBoard({ store, onEvent: (event, f) => events.push([event, f.freezeId]) })
  t.after(() => board.close())
  board.onLifted(() => { lifted++ })
  board.start(now)
  assert.deepEqual(events, [['unfrozen', 'past']])
  assert.equal(lifted, 1)
  assert.deepEqual(store.list(), [])

  const short = board.create({ services: ['web', 'api'], until: new Date(now + HOUR).toISOString(), reason: 'short' }, now)
  const long = board.create({ services: ['w*'], until: new Date(now + 2 * HOUR).toISOString(), reason: 'long' }, now)
  assert.equal(board.active('web', now)?.freezeId, long.freezeId)
  assert.equal(board.active('api', now)?.freezeId, short.freezeId)
  assert.equal(board.active('db', now), undefined)
  assert.equal(board.active('web', now + 3 * HOUR), undefined, 'an ended freeze holds nothing')
  assert.equal(board.remove(long.freezeId), true)
  assert.equal(board.remove(long.freezeId), false)
  assert.equal(board.active('web', now)?.freezeId, short.freezeId)
  assert.deepEqual(events.slice(1), [['frozen', short.freezeId], ['frozen', long.freezeId], ['unfrozen', long.freezeId]])
  assert.equal(lifted, 2)
})

test('timerAt: a time beyond setTimeout\'s longest delay (24.8 days) fires then, not at once', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 })
  let fired = 0
  timerAt(40 * 86_400_000, () => { fired++ })
  t.mock.timers.tick(2_147_483_647)
  assert.equal(fired, 0)
  t.mock.timers.tick(40 * 86_400_000 - 2_147_483_647 - 1)
  assert.equal(fired, 0)
  t.mock.timers.tick(1)
  assert.equal(fired, 1)
})
