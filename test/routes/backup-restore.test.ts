import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { FakeDocker } from '../fake-docker.ts'
import { bearer, build } from '../helper.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/**
 * docs/OPERATIONS.md's backup and restore, as written there: SQLite's online backup of a running
 * updater's database, taken with the image's own node and better-sqlite3 (the command of
 * OPERATIONS.md, read from it), copied as `updates.db` into a new, empty DATA_DIR; an updater
 * started on it reads the same history.
 */
test('a backup taken while the updater runs, restored into a new DATA_DIR, serves the same history', async (t) => {
  const dirs = [mkdtempSync(join(tmpdir(), 'cu-live-')), mkdtempSync(join(tmpdir(), 'cu-backups-')), mkdtempSync(join(tmpdir(), 'cu-restored-'))]
  t.after(() => { for (const dir of dirs) rmSync(dir, { recursive: true, force: true }) })
  const [live, backups, restored] = dirs as [string, string, string]
  const docker = new FakeDocker()
  docker.addService('web', `127.0.0.1:5000/web:latest@sha256:${'a'.repeat(64)}`)
  const app = await build(t, { DATA_DIR: live }, { runner: docker.runner })
  const res = await app.inject({ method: 'POST', url: '/update', headers: { ...bearer(), 'content-type': 'application/json' }, payload: { appName: 'web' } })
  assert.equal(res.statusCode, 200, res.body)
  const history = (await app.inject({ method: 'GET', url: '/updates', headers: bearer() })).json()
  assert.equal(history.updates.length, 1)

  const backup = join(backups, 'updates-backup.db')
  const doc = readFileSync(join(ROOT, 'docs/OPERATIONS.md'), 'utf8')
  const script = /docker exec updater node -e "([^"]+)"/.exec(doc)?.[1]
  assert.ok(script !== undefined, 'docs/OPERATIONS.md shows the backup command')
  execFileSync('node', ['-e', script.replaceAll('/app/data/updates.db', join(live, 'updates.db')).replaceAll('/app/data/backup.db', backup)], { cwd: ROOT })
  copyFileSync(backup, join(restored, 'updates.db'))
  const again = await build(t, { DATA_DIR: restored }, { runner: new FakeDocker().runner })
  const read = await again.inject({ method: 'GET', url: '/updates', headers: bearer() })
  assert.equal(read.statusCode, 200, read.body)
  assert.deepEqual(read.json(), history)
  const one = await again.inject({ method: 'GET', url: `/updates/${res.json().updateId as string}`, headers: bearer() })
  assert.equal(one.statusCode, 200, one.body)
  assert.equal(one.json().status, 'completed')
})
