import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { publicRecord, type StoredBatch } from '../../src/store/records.js'
import Database from 'better-sqlite3'
import { DATABASE_FILE, openSqliteStore } from '../../src/store/sqlite-store.js'
import { migrate, SCHEMA_VERSION } from '../../src/store/migrations.js'
import { record, sqliteStore, tempDir, uuid } from './store-fixtures.ts'

test('a saved record reads back exactly, optional fields absent rather than null', (t) => {
  const store = sqliteStore(t)
  const bare = record(1, { previousImage: null, image: null, finishedAt: null, durationMs: null, status: 'queued' })
  const full = record(2, {
    targetImage: 'registry.test/web:2',
    message: 'rollback completed: task: non-zero exit (3)',
    warning: 'registry unreachable',
    supersededBy: uuid(3),
    requestedBy: 'ci',
    batchId: uuid(99),
    baseVersion: 42,
    baseStatusStartedAt: '2026-03-01T00:00:00.5Z',
    trigger: 'watch',
    reason: 'semver:minor 1.2.3 → 1.3.0',
    action: 'update',
    heldUntil: '2026-03-01T22:00:00.000Z',
    status: 'rolled_back'
  })
  store.save(bare)
  store.save(full)
  assert.deepEqual(store.get(bare.updateId), bare)
  assert.deepEqual(store.get(full.updateId), full)
  assert.equal('message' in store.get(bare.updateId)!, false)
  for (const field of ['trigger', 'reason', 'action', 'heldUntil']) assert.equal(field in store.get(bare.updateId)!, false, field)
  assert.equal(store.get(uuid(1234)), undefined)
  assert.deepEqual(publicRecord(store.get(full.updateId)!).status, 'rolled_back')
  assert.equal('serviceId' in publicRecord(store.get(full.updateId)!), false)
})

test('save replaces the record with the same id (its place in the history stays)', (t) => {
  const store = sqliteStore(t)
  store.save(record(1, { status: 'updating', finishedAt: null, durationMs: null }))
  store.save(record(2))
  const done = record(1, { status: 'completed', message: 'done' })
  store.save(done)
  assert.deepEqual(store.get(uuid(1)), done)
  assert.deepEqual(store.list({ limit: 10 }).updates.map((r) => r.updateId), [uuid(2), uuid(1)])
})

test('a record with a startedAt that is not a date is a bug of the caller, not a store failure', (t) => {
  const store = sqliteStore(t)
  assert.throws(() => store.save(record(1, { startedAt: 'yesterday' })), TypeError)
})

test('batches read back as saved', (t) => {
  const store = sqliteStore(t)
  const batch: StoredBatch = {
    batchId: uuid(50),
    target: { image: 'registry.test/web' },
    updateIds: [uuid(1), uuid(2)],
    skipped: [{ service: 'db', reason: 'not enabled' }],
    createdAt: '2026-03-01T00:00:00.000Z',
    requestedBy: 'ci'
  }
  store.saveBatch(batch)
  assert.deepEqual(store.getBatch(batch.batchId), batch)
  const { requestedBy: _r, ...anonymous } = { ...batch, batchId: uuid(51) }
  store.saveBatch(anonymous)
  assert.deepEqual(store.getBatch(uuid(51)), anonymous)
  assert.equal(store.getBatch(uuid(52)), undefined)
})

test('unfinished: queued, updating and timeout records, oldest first', (t) => {
  const store = sqliteStore(t)
  const states = ['completed', 'timeout', 'queued', 'rolled_back', 'updating', 'paused', 'failed', 'superseded', 'cancelled'] as const
  states.forEach((status, i) => store.save(record(i, { status })))
  assert.deepEqual(store.unfinished().map((r) => r.status), ['timeout', 'queued', 'updating'])
})

test('prune deletes final records that finished before the date, and batches left without records', (t) => {
  const store = sqliteStore(t)
  const cut = new Date(Date.parse(record(10).startedAt))
  for (let i = 0; i < 20; i++) store.save(record(i, { batchId: i < 5 ? uuid(100) : uuid(101) }))
  // Old but not finished: kept whatever its age (the engine resolves it at start).
  store.save(record(1, { status: 'timeout', finishedAt: null, durationMs: null }))
  // Final without finishedAt (cancelled before it started): its start counts.
  store.save(record(2, { status: 'cancelled', finishedAt: null, durationMs: null }))
  store.saveBatch({ batchId: uuid(100), target: { stack: 'a' }, updateIds: [], skipped: [], createdAt: record(0).startedAt })
  store.saveBatch({ batchId: uuid(101), target: { stack: 'b' }, updateIds: [], skipped: [], createdAt: record(0).startedAt })
  store.saveBatch({ batchId: uuid(102), target: { stack: 'c' }, updateIds: [], skipped: [], createdAt: record(15).startedAt })

  // record i finished at i s + 2 s: 0..7 finished before record 10 started, except 1 (timeout).
  assert.equal(store.prune(cut, 3), 3, 'at most the limit')
  assert.equal(store.prune(cut), 4 + 1, 'the rest of the old records, then batch 100 (all of its records gone)')
  assert.deepEqual(store.list({ limit: 100 }).updates.map((r) => r.updateId).sort(), [1, ...Array.from({ length: 12 }, (_, i) => i + 8)].map(uuid).sort())
  assert.equal(store.getBatch(uuid(100)), undefined)
  assert.ok(store.getBatch(uuid(101)), 'records 8.. still belong to it')
  assert.ok(store.getBatch(uuid(102)), 'younger than the date')
  assert.equal(store.prune(cut), 0)
})

test('records survive closing and reopening the database', (t) => {
  const dataDir = join(tempDir(t), 'data')
  const first = openSqliteStore({ dataDir })
  first.save(record(1))
  first.saveBatch({ batchId: uuid(9), target: { stack: 's' }, updateIds: [uuid(1)], skipped: [], createdAt: record(1).startedAt })
  first.close()
  first.close() // twice is harmless (shutdown paths may overlap)
  assert.ok(existsSync(join(dataDir, 'updates.db')))
  const second = sqliteStore(t, dataDir)
  assert.deepEqual(second.get(uuid(1)), record(1))
  assert.deepEqual(second.getBatch(uuid(9))?.updateIds, [uuid(1)])
})

test('a record saved by a process killed with SIGKILL right after is there on reopen', async (t) => {
  const dataDir = join(tempDir(t), 'data')
  // The child saves, says so, and then hangs holding the database open (no close, no checkpoint).
  const script = `
    import { openSqliteStore } from ${JSON.stringify(new URL('../../src/store/sqlite-store.ts', import.meta.url).href)}
    const store = openSqliteStore({ dataDir: ${JSON.stringify(dataDir)} })
    const base = ${JSON.stringify(record(0))}
    for (let i = 0; i < 50; i++) store.save({ ...base, updateId: '00000000-0000-4000-8000-' + i.toString(16).padStart(12, '0'), status: 'updating' })
    process.stdout.write('saved\\n')
    setInterval(() => {}, 1000)
  `
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)))
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => { if (chunk.toString().includes('saved')) resolve() })
    child.on('exit', () => reject(new Error('the child exited before saving')))
  })
  assert.ok(existsSync(join(dataDir, 'updates.db-wal')), 'the records are in the write-ahead log, not yet checkpointed')
  child.kill('SIGKILL')
  assert.equal(await exited, 'SIGKILL')

  const store = sqliteStore(t, dataDir)
  const updating = store.unfinished()
  assert.equal(updating.length, 50)
  assert.deepEqual(store.get(uuid(49)), { ...record(0), updateId: uuid(49), status: 'updating' })
})

test('a database of schema 2 is upgraded in place: its records kept, the new fields writable', (t) => {
  const dir = tempDir(t)
  const legacy = new Database(join(dir, DATABASE_FILE))
  migrate(legacy, 2)
  const old = record(7, { status: 'completed', requestedBy: 'ci' })
  legacy.prepare(`INSERT INTO updates (update_id, app_name, service, status, previous_image, image, started_at, started_ms, finished_at, finished_ms,
    duration_ms, status_url, service_id, requested_by) VALUES (@updateId, @appName, @service, @status, @previousImage, @image, @startedAt, 0, @finishedAt, NULL,
    @durationMs, @statusUrl, @serviceId, @requestedBy)`).run(old)
  assert.throws(() => legacy.prepare('SELECT trigger FROM updates').all(), /no such column/)
  legacy.close()

  const store = openSqliteStore({ dataDir: dir })
  t.after(() => store.close())
  assert.deepEqual(store.get(old.updateId), old, 'the old record reads back as it was, without the new fields')
  const held = record(8, { status: 'held', trigger: 'hook', heldUntil: '2026-03-01T22:00:00.000Z', finishedAt: null, durationMs: null })
  store.save(held)
  assert.deepEqual(store.get(held.updateId), held)
  const check = new Database(join(dir, DATABASE_FILE), { readonly: true })
  t.after(() => check.close())
  assert.equal(check.pragma('user_version', { simple: true }), SCHEMA_VERSION)
  assert.equal(SCHEMA_VERSION >= 3, true)
})
