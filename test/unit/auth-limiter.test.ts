import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AuthFailureLimiter } from '../../src/auth/failure-limiter.ts'
import { clientKey } from '../../src/auth/client-key.ts'

test('a full table evicts the oldest window, and a renewed window counts as new', () => {
  const limiter = new AuthFailureLimiter({ limit: 2, windowMs: 1000, maxClients: 3 })
  limiter.recordFailure('a', 0)
  limiter.recordFailure('b', 500)
  // a's first window has ended; its new window (1100–2100) is now younger than b's.
  limiter.recordFailure('a', 1100)
  limiter.recordFailure('x', 1150)
  // The table is full and nothing has expired: b (window 500–1500) is the oldest and goes.
  limiter.recordFailure('c', 1200)
  assert.equal(limiter.recordFailure('a', 1300), true, 'a kept its renewed window and reaches the limit')
  assert.equal(limiter.retryAfter('a', 1300), 1)
  assert.equal(limiter.recordFailure('b', 1300), false, 'b starts again from one failure')
})

test('expired windows are dropped before any live one is evicted', () => {
  const limiter = new AuthFailureLimiter({ limit: 2, windowMs: 1000, maxClients: 3 })
  limiter.recordFailure('old', 0)
  limiter.recordFailure('live', 900)
  limiter.recordFailure('live2', 950)
  limiter.recordFailure('new', 1001) // full: "old" expired at 1000 and is the one dropped
  assert.equal(limiter.recordFailure('live', 1002), true, 'live kept its count')
  assert.equal(limiter.recordFailure('live2', 1003), true)
  assert.equal(limiter.size, 3)
})

test('a full table of 100k live addresses keeps taking new ones, each evicting the oldest', () => {
  const max = 100_000
  const limiter = new AuthFailureLimiter({ limit: 3, windowMs: 3_600_000, maxClients: max })
  for (let i = 0; i < max; i++) limiter.recordFailure(`10.0.${i >> 8}.${i & 255}`, i)
  const started = process.hrtime.bigint()
  for (let i = 0; i < max; i++) limiter.recordFailure(`10.1.${i >> 8}.${i & 255}`, max + i)
  process.stdout.write(`# 100k new addresses into a full table: ${Number(process.hrtime.bigint() - started) / 1e6} ms\n`)
  assert.equal(limiter.size, max)
  assert.equal(limiter.recordFailure('10.1.0.0', 3 * max), false, 'the newest addresses are still counted (2 failures)')
  assert.equal(limiter.recordFailure('10.1.0.0', 3 * max), true)
  assert.equal(limiter.recordFailure('10.0.0.0', 3 * max), false, 'the oldest were evicted (1 failure)')
})

test('client keys: IPv4 as is, IPv6 by its /64, IPv4-mapped IPv6 as IPv4', () => {
  const cases: Array<[string, string]> = [
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['::FFFF:192.0.2.1', '192.0.2.1'],
    ['0:0:0:0:0:ffff:192.0.2.1', '192.0.2.1'],
    ['::ffff:c000:201', '192.0.2.1'],
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:db8::', '2001:db8:0:0::/64'],
    ['2001:db8::1:2:3:4', '2001:db8:0:0::/64'],
    ['2001:db8:1::2:3:4', '2001:db8:1:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['::', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64']
  ]
  for (const [ip, key] of cases) assert.equal(clientKey(ip), key, ip)
  // Anything unparseable is its own key (never an exception, never a shared bucket).
  for (const odd of ['', 'unknown', '1:2:3', '1::2::3', 'g::1']) assert.equal(clientKey(odd), odd, odd)
})
