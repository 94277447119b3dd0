import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import type { StoredUpdate } from '../../src/store/records.js'
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite-store.js'

/** A fresh directory, removed when the test ends. */
export function tempDir (t: TestContext, prefix = 'cu-store-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A SQLite store in a fresh directory, closed when the test ends. */
export function sqliteStore (t: TestContext, dataDir = join(tempDir(t), 'data')): SqliteStore {
  const store = openSqliteStore({ dataDir })
  t.after(() => store.close())
  return store
}

/** A deterministic UUID for record number n. */
export const uuid = (n: number): string => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`

const BASE = Date.parse('2026-03-01T00:00:00.000Z')

/** Record n: started n seconds after a fixed instant, finished 2 s later. */
export function record (n: number, fields: Partial<StoredUpdate> = {}): StoredUpdate {
  const startedMs = BASE + n * 1000
  return {
    updateId: uuid(n),
    appName: 'web',
    service: 'web',
    status: 'completed',
    previousImage: 'registry.test/web:1@sha256:' + 'a'.repeat(64),
    image: 'registry.test/web:2@sha256:' + 'b'.repeat(64),
    startedAt: new Date(startedMs).toISOString(),
    finishedAt: new Date(startedMs + 2000).toISOString(),
    durationMs: 2000,
    statusUrl: `/updates/${uuid(n)}`,
    serviceId: 'svc' + n,
    ...fields
  }
}

/**
 * A tmpfs of `size` at a fresh directory, unmounted when the test ends; undefined where this
 * process may not mount (not root, or no CAP_SYS_ADMIN): the caller skips.
 */
export function tmpfs (t: TestContext, size: string, extra: string[] = []): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'cu-tmpfs-'))
  const mountpoint = join(dir, 'mnt')
  mkdirSync(mountpoint)
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', ['size=' + size, ...extra].join(','), 'tmpfs', mountpoint], { stdio: 'pipe' })
  } catch {
    rmSync(dir, { recursive: true, force: true })
    return undefined
  }
  t.after(() => {
    // Lazy: a database the test left open does not keep the mount busy.
    execFileSync('umount', ['-l', mountpoint], { stdio: 'pipe' })
    rmSync(dir, { recursive: true, force: true })
  })
  return mountpoint
}

export function remount (mountpoint: string, options: string): void {
  execFileSync('mount', ['-o', 'remount,' + options, mountpoint], { stdio: 'pipe' })
}
