import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

test('fast-jwt is at a version with the algorithm-confusion and crit fixes (≥ 6.3.1)', () => {
  const { version } = require('fast-jwt/package.json') as { version: string }
  const [major = 0, minor = 0, patch = 0] = version.split('.').map(Number)
  assert.ok(major > 6 || (major === 6 && (minor > 3 || (minor === 3 && patch >= 1))), `fast-jwt ${version}`)
})

test('better-sqlite3 stays on major 12 (13 needs Node 22 and crashes on Node 20)', () => {
  const { version } = require('better-sqlite3/package.json') as { version: string }
  assert.equal(version.split('.')[0], '12', `better-sqlite3 ${version}`)
})
