import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { loggerOptions } from '../../src/server.ts'
import { bearer, build, testConfig } from '../helper.ts'
import { REGISTRY, swarmSkip, uniqueName, until } from '../swarm-fixtures.ts'

/**
 * A Distribution batch can carry thousands of tag pushes: the log says what the delivery came to in
 * one line (counts and a few examples), not a line per event (issue #24 item 7).
 */
test('swarm: a delivery of 2,000 tag pushes that match no service logs one summary line with a few examples', { skip: swarmSkip }, async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(JSON.parse(String(chunk)) as Record<string, unknown>); done() } })
  const env = { LOG_LEVEL: 'info', EVENTS_STREAM: 'false' }
  const app = await build(t, env, { logger: { ...loggerOptions(testConfig(env), false) as object, stream } as never })
  const repo = uniqueName('cu-nomatch')
  const digest = 'sha256:' + 'e'.repeat(64)
  const events = Array.from({ length: 2000 }, (_, n) => ({ id: `n${n}`, action: 'push', target: { repository: `${repo}/r${n}`, tag: 'v1', digest }, request: { host: REGISTRY } }))
  const payload = JSON.stringify({ events })
  const res = await app.inject({ method: 'POST', url: '/hooks/distribution', headers: { ...bearer(), 'content-type': 'application/json' }, payload })
  assert.equal(res.statusCode, 202, res.body)
  assert.deepEqual(res.json(), { accepted: 2000, ignored: 0, ignoredReasons: [], duplicate: 0 })

  const summary = await until('the summary line', () => lines.find((l) => l.msg === 'push events: nothing to update'))
  const hook = summary.hook as { events: number, started: number, nothingToUpdate: number, examples: Array<{ image: string }> }
  assert.deepEqual({ events: hook.events, started: hook.started, nothingToUpdate: hook.nothingToUpdate }, { events: 2000, started: 0, nothingToUpdate: 2000 })
  assert.ok(hook.examples.length > 0 && hook.examples.length <= 3, JSON.stringify(hook.examples))
  assert.equal(hook.examples[0]!.image, `${REGISTRY}/${repo}/r0:v1`)
  const received = lines.find((l) => l.msg === 'registry push received')!
  assert.ok((received.hook as { images: string[] }).images.length <= 5, 'the received line names a few images, not 2,000')
  // Everything the delivery logged: the received line, the summary and the access line.
  const ofDelivery = lines.filter((l) => l.msg !== 'Server listening at' && JSON.stringify(l).includes(repo))
  assert.ok(ofDelivery.length <= 2, `${ofDelivery.length} lines name the pushed images`)
  assert.ok(lines.length < 20, `${lines.length} lines in all for one delivery`)
})
