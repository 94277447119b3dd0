import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../../src/config.ts'

const secret = 's'.repeat(32)

test('defaults follow docs/API.md §4', () => {
  const config = loadConfig({ JWT_SECRET: secret })
  assert.equal(config.PORT, 3000)
  assert.equal(config.HOST, '0.0.0.0')
  assert.equal(config.LOG_LEVEL, 'info')
  assert.equal(config.UPDATE_TIMEOUT, 600)
  assert.equal(config.JWT_REQUIRE_SCOPE, false)
  assert.equal(config.DOCKER_HOST, undefined)
  assert.ok(config.AUTH_FAILURE_LIMIT <= 30)
})

test('a missing or short secret names the variable', () => {
  assert.throws(() => loadConfig({}), (e: Error) => e instanceof ConfigError && /JWT_SECRET/.test(e.message))
  assert.throws(() => loadConfig({ JWT_SECRET: 's'.repeat(31) }), /JWT_SECRET must hold at least 32 bytes \(got 31\)/)
  assert.throws(() => loadConfig({ JWT_SECRET: '' }), /JWT_SECRET/)
})

test('JWT_SECRET_FILE reads a Docker secret, without its trailing newline', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cu-config-'))
  const file = join(dir, 'secret')
  writeFileSync(file, secret + '\n')
  assert.equal(loadConfig({ JWT_SECRET_FILE: file }).JWT_SECRET, secret)
  writeFileSync(file, 'short\n')
  assert.throws(() => loadConfig({ JWT_SECRET_FILE: file }), /JWT_SECRET_FILE must hold at least 32 bytes/)
  assert.throws(() => loadConfig({ JWT_SECRET_FILE: join(dir, 'missing') }), /JWT_SECRET_FILE .* cannot be read \(ENOENT\)/)
  assert.throws(() => loadConfig({ JWT_SECRET_FILE: file, JWT_SECRET: secret }), /not both/)
})

test('invalid values stop the process with one line', () => {
  for (const [name, value] of [['PORT', 'http'], ['PORT', '70000'], ['UPDATE_TIMEOUT', '0'], ['LOG_LEVEL', 'loud'], ['JWT_REQUIRE_SCOPE', 'maybe']]) {
    assert.throws(() => loadConfig({ JWT_SECRET: secret, [name!]: value }), (e: Error) => {
      assert.ok(e instanceof ConfigError)
      assert.match(e.message, new RegExp(name!))
      assert.equal(e.message.includes('\n'), false)
      return true
    })
  }
  assert.equal(loadConfig({ JWT_SECRET: secret, PORT: '8080', JWT_REQUIRE_SCOPE: 'true' }).PORT, 8080)
})
