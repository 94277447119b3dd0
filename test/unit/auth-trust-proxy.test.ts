import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, loadConfig } from '../../src/config.ts'
import { trustProxyOption } from '../../src/auth/trust-proxy.ts'

const trustProxy = (value?: string) => loadConfig({ JWT_SECRET: 's'.repeat(32), ...(value !== undefined && { TRUST_PROXY: value }) }).TRUST_PROXY

test('TRUST_PROXY: false, true, a hop count, or proxy addresses and CIDRs', () => {
  assert.equal(trustProxy(), false)
  assert.equal(trustProxy('false'), false)
  assert.equal(trustProxy('true'), true)
  assert.equal(trustProxy('1'), 1)
  assert.equal(trustProxy('0'), 0)
  assert.deepEqual(trustProxy('10.0.0.1'), ['10.0.0.1'])
  assert.deepEqual(trustProxy('127.0.0.1, 10.0.0.0/8,fd00::/8 ,loopback'), ['127.0.0.1', '10.0.0.0/8', 'fd00::/8', 'loopback'])
  for (const bad of ['yes', '1.5', '-1', '10.0.0.0/33', 'fd00::/129', 'proxy.example', '10.0.0.1,', '10.0.0.0/8/1', '10.0.0.1/x']) {
    assert.throws(() => trustProxy(bad), (e: Error) => e instanceof ConfigError && /TRUST_PROXY/.test(e.message) && !e.message.includes('\n'), bad)
  }
})

test('a hop count trusts that many hops from the socket, as proxy-addr counts them', () => {
  const trust = trustProxyOption(2) as (address: string, hop: number) => boolean
  assert.deepEqual([0, 1, 2, 3].map((hop) => trust('192.0.2.1', hop)), [true, true, false, false])
  assert.equal(trustProxyOption(0), false)
  assert.equal(trustProxyOption(true), true)
  assert.deepEqual(trustProxyOption(['10.0.0.0/8']), ['10.0.0.0/8'])
})
