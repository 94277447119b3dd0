import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import type { UpdateRecord } from '../../src/store/records.js'
import { formatDuration, formatNotification, shortImage } from '../../src/notify/format.ts'

const digestA = 'sha256:' + 'a1'.repeat(32)
const digestB = 'sha256:' + 'b2'.repeat(32)
const record: UpdateRecord = {
  updateId: '3f1c2b8e-6c1d-4b7a-9a53-0d2b1f9e7c11',
  appName: 'shop_api',
  service: 'shop_api',
  status: 'rolled_back',
  previousImage: `127.0.0.1:5000/shop/api:1.4@${digestA}`,
  image: `127.0.0.1:5000/shop/api:1.4@${digestA}`,
  targetImage: '127.0.0.1:5000/shop/api:1.5',
  startedAt: '2025-05-01T03:00:00.000Z',
  finishedAt: '2025-05-01T03:01:23.000Z',
  durationMs: 83_000,
  statusUrl: '/updates/3f1c2b8e-6c1d-4b7a-9a53-0d2b1f9e7c11',
  message: 'update rolled back due to failure or early termination of task x3k9',
  requestedBy: 'ci <!channel> & @everyone'
}
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8')

test('json: the record itself, its status in a header, signed over the exact bytes when a secret is set', () => {
  const signed = formatNotification('json', record, 'delivery-1', 'notify-secret')
  assert.deepEqual(JSON.parse(text(signed.body)), record)
  assert.equal(signed.headers['content-type'], 'application/json')
  assert.equal(signed.headers['x-container-updater-event'], 'rolled_back')
  assert.equal(signed.headers['x-container-updater-delivery'], 'delivery-1')
  const expected = 'sha256=' + createHmac('sha256', 'notify-secret').update(signed.body).digest('hex')
  assert.equal(signed.headers['x-container-updater-signature'], expected)
  assert.match(expected, /^sha256=[0-9a-f]{64}$/)

  // A stored record's internals (what the database keeps to resume an update) are not sent.
  const stored = { ...record, serviceId: 'x1y2z3', baseVersion: 41, baseStatusStartedAt: '2025-05-01T02:00:00Z' }
  assert.deepEqual(formatNotification('json', stored, 'delivery-1', 'notify-secret').body, signed.body)

  const unsigned = formatNotification('json', record, 'delivery-1')
  assert.equal(unsigned.headers['x-container-updater-signature'], undefined)
  assert.deepEqual(unsigned.body, signed.body)
})

test('slack: one text with the facts, Slack control characters escaped', () => {
  const message = formatNotification('slack', record, 'd', 'notify-secret')
  assert.equal(message.headers['x-container-updater-signature'], undefined, 'only json is signed')
  const body = JSON.parse(text(message.body)) as { text: string }
  assert.deepEqual(Object.keys(body), ['text'])
  assert.equal(body.text, [
    '↩️ Service `shop_api` rolled back by Swarm',
    'Image: `127.0.0.1:5000/shop/api:1.4@sha256:a1a1a1a1a1a1 → 127.0.0.1:5000/shop/api:1.4@sha256:a1a1a1a1a1a1`',
    'Target: `127.0.0.1:5000/shop/api:1.5`',
    'Reason: update rolled back due to failure or early termination of task x3k9',
    'Requested by: ci &lt;!channel&gt; &amp; @everyone',
    'Duration: 1m 23s',
    'Update: `3f1c2b8e-6c1d-4b7a-9a53-0d2b1f9e7c11`'
  ].join('\n'))
})

test('discord: a short content line and an embed with the same facts; mentions disabled', () => {
  const completed: UpdateRecord = { ...record, status: 'completed', image: `127.0.0.1:5000/shop/api:1.5@${digestB}`, message: 'x'.repeat(5000) }
  const body = JSON.parse(text(formatNotification('discord', completed, 'd').body)) as {
    content: string, allowed_mentions: { parse: string[] }, embeds: Array<{ color: number, timestamp: string, fields: Array<{ name: string, value: string }> }>
  }
  assert.equal(body.content, '✅ Service `shop_api` updated')
  assert.deepEqual(body.allowed_mentions, { parse: [] })
  assert.equal(body.embeds.length, 1)
  const [embed] = body.embeds
  assert.equal(embed!.timestamp, completed.finishedAt)
  assert.equal(embed!.color, 0x2ea043)
  const fields = Object.fromEntries(embed!.fields.map((f) => [f.name, f.value]))
  assert.deepEqual(Object.keys(fields), ['Image', 'Reason', 'Requested by', 'Duration', 'Update'], 'no Target line once the target is reached')
  assert.equal(fields.Image, '`127.0.0.1:5000/shop/api:1.4@sha256:a1a1a1a1a1a1 → 127.0.0.1:5000/shop/api:1.5@sha256:b2b2b2b2b2b2`')
  assert.equal(fields['Requested by'], 'ci <!channel> & @everyone')
  // Discord's limits: field value 1024, embed 6000 in all.
  assert.ok(fields.Reason!.length <= 1024 && fields.Reason!.endsWith('…'))
  const total = embed!.fields.reduce((sum, f) => sum + f.name.length + f.value.length, 0)
  assert.ok(total <= 6000)
})

test('facts that are unknown are left out rather than shown empty', () => {
  const { updateId, startedAt, statusUrl } = record
  const queuedThenCancelled: UpdateRecord = { updateId, appName: 'web', service: 'web', status: 'cancelled', previousImage: null, image: null, startedAt, finishedAt: null, durationMs: null, statusUrl }
  const body = JSON.parse(text(formatNotification('slack', queuedThenCancelled, 'd').body)) as { text: string }
  assert.equal(body.text, '⏹️ Service `web` cancelled\nUpdate: `3f1c2b8e-6c1d-4b7a-9a53-0d2b1f9e7c11`')
})

test('short digests and durations', () => {
  assert.equal(shortImage(`nginx:1.27@${digestA}`), 'nginx:1.27@sha256:a1a1a1a1a1a1')
  assert.equal(shortImage('nginx:1.27'), 'nginx:1.27')
  assert.equal(formatDuration(850), '850 ms')
  assert.equal(formatDuration(12_400), '12s')
  assert.equal(formatDuration(83_000), '1m 23s')
  assert.equal(formatDuration(3_723_000), '1h 2m 3s')
})
