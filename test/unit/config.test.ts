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

test('only the given environment counts: the shell\'s variables are not merged back in', () => {
  const saved = { PORT: process.env.PORT, DOCKER_HOST: process.env.DOCKER_HOST, UPDATE_REQUIRE_LABEL: process.env.UPDATE_REQUIRE_LABEL }
  process.env.PORT = 'not-a-port'
  process.env.DOCKER_HOST = 'tcp://127.0.0.1:1'
  process.env.UPDATE_REQUIRE_LABEL = 'a b'
  try {
    const config = loadConfig({ JWT_SECRET: secret, UPDATE_REQUIRE_LABEL: '' })
    assert.equal(config.PORT, 3000)
    assert.equal(config.DOCKER_HOST, undefined)
    assert.equal(config.UPDATE_REQUIRE_LABEL, undefined)
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) Reflect.deleteProperty(process.env, name)
      else process.env[name] = value
    }
  }
})

test('an empty value is unset, as a stack file default-empty substitution gives it', () => {
  const config = loadConfig({ JWT_SECRET: secret, UPDATE_REQUIRE_LABEL: '', PUSH_LABEL: '', HOOK_REGISTRY_ALIASES: '', LOG_LEVEL: '' })
  assert.equal(config.UPDATE_REQUIRE_LABEL, undefined)
  assert.deepEqual(config.pushLabel, { key: 'container-updater.on-push', value: 'true' })
  assert.equal(config.LOG_LEVEL, 'info')
})

test('every configuration error names its variable and what it accepts', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['LOG_LEVEL', 'verbose', /^invalid configuration: LOG_LEVEL="verbose" must be one of fatal, error, warn, info, debug, trace, silent$/],
    ['PORT', 'http', /PORT="http" must be a whole number/],
    ['PORT', '70000', /PORT="70000" must be ≤ 65535/],
    ['JWT_REQUIRE_SCOPE', 'maybe', /JWT_REQUIRE_SCOPE="maybe" must be true or false/],
    ['UPDATE_REQUIRE_LABEL', 'a b', /UPDATE_REQUIRE_LABEL="a b" must match .*`key=value`, or `key` for any value/],
    ['HOOK_REGISTRY_ALIASES', 'foo', /^HOOK_REGISTRY_ALIASES: invalid registry alias "foo": expected host\[:port\]=host\[:port\]$/],
    ['PUSH_LABEL', '=x', /^PUSH_LABEL: invalid label "=x": expected key=value$/],
    ['NOTIFY_ON', 'sometimes', /^NOTIFY_ON: unknown state "sometimes"; use a comma-separated list of /],
    ['TRUST_PROXY', 'yes', /^TRUST_PROXY must be true, false/]
  ]
  for (const [name, value, expected] of cases) {
    assert.throws(() => loadConfig({ JWT_SECRET: secret, [name]: value }), (e: Error) => {
      assert.ok(e instanceof ConfigError, name)
      assert.match(e.message, expected)
      return true
    })
  }
})

test('a configuration error names a secret variable but never repeats its value', () => {
  const value = 'short-but-secret'
  assert.throws(() => loadConfig({ JWT_SECRET: secret, DOCKERHUB_WEBHOOK_TOKEN: value }), (e: Error) => {
    assert.match(e.message, /DOCKERHUB_WEBHOOK_TOKEN must NOT have fewer than 32 characters/)
    assert.equal(e.message.includes(value), false)
    return true
  })
})

test('hook secrets: GITEA_WEBHOOK_SECRET_FILE and QUAY_WEBHOOK_TOKEN_FILE read Docker secrets; lengths and the URL-safe token are checked; GITHUB_REGISTRY_HOST defaults to ghcr.io', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cu-hook-secrets-'))
  const gitea = join(dir, 'gitea')
  const quay = join(dir, 'quay')
  writeFileSync(gitea, 'g'.repeat(20) + '\n')
  writeFileSync(quay, 'q'.repeat(40) + '\n')
  const config = loadConfig({ JWT_SECRET: secret, GITEA_WEBHOOK_SECRET_FILE: gitea, QUAY_WEBHOOK_TOKEN_FILE: quay })
  assert.equal(config.GITEA_WEBHOOK_SECRET, 'g'.repeat(20))
  assert.equal(config.QUAY_WEBHOOK_TOKEN, 'q'.repeat(40))
  assert.equal(config.GITHUB_REGISTRY_HOST, 'ghcr.io')
  assert.equal(loadConfig({ JWT_SECRET: secret }).GITEA_WEBHOOK_SECRET, undefined)
  writeFileSync(quay, 'q'.repeat(31))
  assert.throws(() => loadConfig({ JWT_SECRET: secret, QUAY_WEBHOOK_TOKEN_FILE: quay }), /QUAY_WEBHOOK_TOKEN_FILE must hold at least 32 bytes/)
  writeFileSync(quay, 'q/'.repeat(20))
  assert.throws(() => loadConfig({ JWT_SECRET: secret, QUAY_WEBHOOK_TOKEN_FILE: quay }), /A-Za-z0-9_-/)
  assert.throws(() => loadConfig({ JWT_SECRET: secret, GITEA_WEBHOOK_SECRET: 'short' }), /GITEA_WEBHOOK_SECRET/)
  assert.throws(() => loadConfig({ JWT_SECRET: secret, GITEA_WEBHOOK_SECRET: 'g'.repeat(20), GITEA_WEBHOOK_SECRET_FILE: gitea }), /not both/)
  assert.throws(() => loadConfig({ JWT_SECRET: secret, GITHUB_REGISTRY_HOST: 'https://ghcr.io' }), /GITHUB_REGISTRY_HOST/)
})

test('hook secrets: GITHUB_WEBHOOK_SECRET_FILE and DOCKERHUB_WEBHOOK_TOKEN_FILE read Docker secrets under the inline variables\' rules, and errors never repeat the value', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cu-hook-secrets-'))
  const github = join(dir, 'github')
  const dockerhub = join(dir, 'dockerhub')
  writeFileSync(github, 'gh-secret-16char\n')
  writeFileSync(dockerhub, 'dh-token_' + 'D'.repeat(23) + '\n')
  const config = loadConfig({ JWT_SECRET: secret, GITHUB_WEBHOOK_SECRET_FILE: github, DOCKERHUB_WEBHOOK_TOKEN_FILE: dockerhub })
  assert.equal(config.GITHUB_WEBHOOK_SECRET, 'gh-secret-16char')
  assert.equal(config.DOCKERHUB_WEBHOOK_TOKEN, 'dh-token_' + 'D'.repeat(23))
  assert.equal('GITHUB_WEBHOOK_SECRET_FILE' in config || 'DOCKERHUB_WEBHOOK_TOKEN_FILE' in config, false)
  const refused = (env: Record<string, string>, expected: RegExp, value: string) => assert.throws(() => loadConfig({ JWT_SECRET: secret, ...env }), (e: Error) => {
    assert.ok(e instanceof ConfigError)
    assert.match(e.message, expected)
    assert.equal(e.message.includes(value), false, 'the message repeats the secret')
    return true
  })
  writeFileSync(github, 'gh-secret-15chr\n')
  refused({ GITHUB_WEBHOOK_SECRET_FILE: github }, /^GITHUB_WEBHOOK_SECRET_FILE must hold at least 16 bytes \(got 15\)$/, 'gh-secret-15chr')
  writeFileSync(dockerhub, 'dh-token_' + 'D'.repeat(22) + '\n')
  refused({ DOCKERHUB_WEBHOOK_TOKEN_FILE: dockerhub }, /^DOCKERHUB_WEBHOOK_TOKEN_FILE must hold at least 32 bytes \(got 31\)$/, 'dh-token_')
  writeFileSync(dockerhub, 'dh-token.' + 'D'.repeat(23) + '\n')
  refused({ DOCKERHUB_WEBHOOK_TOKEN_FILE: dockerhub }, /^DOCKERHUB_WEBHOOK_TOKEN must be made of A-Za-z0-9_- /, 'dh-token.')
  refused({ GITHUB_WEBHOOK_SECRET: 'gh-secret-16char', GITHUB_WEBHOOK_SECRET_FILE: github }, /^set GITHUB_WEBHOOK_SECRET or GITHUB_WEBHOOK_SECRET_FILE, not both$/, 'gh-secret-16char')
  refused({ DOCKERHUB_WEBHOOK_TOKEN: 'd'.repeat(32), DOCKERHUB_WEBHOOK_TOKEN_FILE: dockerhub }, /^set DOCKERHUB_WEBHOOK_TOKEN or DOCKERHUB_WEBHOOK_TOKEN_FILE, not both$/, 'd'.repeat(32))
  refused({ GITHUB_WEBHOOK_SECRET_FILE: join(dir, 'missing') }, /^GITHUB_WEBHOOK_SECRET_FILE .*missing cannot be read \(ENOENT\)$/, 'gh-secret')
})
