import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import type { UpdateRecord } from '../../src/store/records.ts'
import { createNotifier } from '../../src/notify/notifier.ts'
import { parseNotifyOn, parseNotifyUrls } from '../../src/notify/targets.ts'
import { quarantineOnFailure } from '../../src/watch/quarantine.ts'
import type { Quarantine } from '../../src/watch/watch-store.ts'
import { until } from '../wait.ts'

const digest = 'sha256:' + 'c'.repeat(64)
const record = (fields: Partial<UpdateRecord>): UpdateRecord => ({
  updateId: '00000000-0000-4000-8000-000000000001',
  appName: 'web',
  service: 'web',
  status: 'completed',
  previousImage: 'r/app:1@sha256:' + 'a'.repeat(64),
  image: 'r/app:1@sha256:' + 'a'.repeat(64),
  targetImage: 'r/app:1',
  startedAt: new Date(0).toISOString(),
  finishedAt: new Date(1).toISOString(),
  durationMs: 1,
  statusUrl: '/updates/x',
  ...fields
})

function rig (found: { serviceId: string, digest: string } | null = { serviceId: 'sid', digest }) {
  const stored: Quarantine[] = []
  const told: Quarantine[] = []
  const forgotten: string[] = []
  const asked: string[] = []
  const { listener, settling } = quarantineOnFailure({
    store: { quarantine: (q) => { stored.push(q) } },
    failedDigest: async (r) => { asked.push(r.status); return found ?? undefined },
    settled: (r) => forgotten.push(r.updateId),
    onQuarantine: (q) => told.push(q),
    now: () => 42
  })
  return { listener, settling, stored, told, forgotten, asked }
}

test('quarantine: an update that ends rolled_back or paused, whoever asked, or a rejected approval, quarantines the digest it tried', async () => {
  for (const [status, trigger] of [['rolled_back', 'watch'], ['paused', 'hook'], ['rolled_back', 'api'], ['rejected', 'watch']] as const) {
    const { listener, settling, stored, told, forgotten } = rig()
    listener(record({ status, trigger }), 'final')
    assert.equal(settling('web'), true, 'the watcher decides nothing about it until the digest is known')
    await until('the quarantine', () => forgotten.length === 1 ? true : undefined)
    assert.deepEqual(stored, [{ serviceId: 'sid', service: 'web', digest, updateId: record({}).updateId, sinceMs: 42 }], `${status} by ${trigger}`)
    assert.deepEqual(told, stored, 'notified once')
    assert.equal(settling('web'), false)
  }
})

test('quarantine: nothing for a completed update, a timeout, a POST /rollback, or a digest nobody can tell', async () => {
  const cases: Array<[Partial<UpdateRecord>, 'final' | 'timeout', { serviceId: string, digest: string } | null]> = [
    [{ status: 'completed' }, 'final', { serviceId: 'sid', digest }],
    [{ status: 'failed' }, 'final', { serviceId: 'sid', digest }],
    [{ status: 'expired' }, 'final', { serviceId: 'sid', digest }],
    [{ status: 'timeout' }, 'timeout', { serviceId: 'sid', digest }],
    [{ status: 'rolled_back', action: 'rollback' }, 'final', { serviceId: 'sid', digest }],
    [{ status: 'rolled_back' }, 'final', null]
  ]
  for (const [fields, event, found] of cases) {
    const { listener, stored, forgotten } = rig(found)
    listener(record(fields), event)
    if (event === 'final') await until('the record settled', () => forgotten.length === 1 ? true : undefined)
    assert.deepEqual(stored, [], JSON.stringify(fields))
  }
})

test('watch notices: sent only when NOTIFY_ON names them, json signed like records, chat formats readable', async () => {
  const sent: Array<{ url: string, headers: Record<string, string>, body: string }> = []
  const fetchFn = (async (url: URL, init: RequestInit) => {
    sent.push({ url: String(url), headers: init.headers as Record<string, string>, body: Buffer.from(init.body as Uint8Array).toString() })
    return new Response(null, { status: 204 })
  }) as unknown as typeof fetch
  const log = { warn: () => {}, debug: () => {} }
  const notice = { event: 'available' as const, service: 'web', image: 'r/app:1.3.0', digest, reason: 'semver:minor 1.2.3 → 1.3.0', at: new Date(0).toISOString() }
  const only = createNotifier({ targets: parseNotifyUrls('json+http://127.0.0.1:9/a'), on: parseNotifyOn('rolled_back,quarantined'), log, fetch: fetchFn })
  only.notifyWatch(notice)
  await only.close()
  assert.equal(sent.length, 0, 'available is not in NOTIFY_ON')
  const all = createNotifier({ targets: parseNotifyUrls('json+http://127.0.0.1:9/a slack+http://127.0.0.1:9/s discord+http://127.0.0.1:9/d'), secret: 'sixteen-bytes-secret', log, fetch: fetchFn })
  all.notifyWatch(notice)
  all.notifyWatch({ ...notice, event: 'quarantined', reason: 'rolled back', updateId: 'u1' })
  await all.close()
  assert.equal(sent.length, 6)
  const json = sent.filter((s) => s.url.endsWith('/a'))
  assert.deepEqual(json.map((s) => s.headers['x-container-updater-event']), ['available', 'quarantined'])
  assert.deepEqual(JSON.parse(json[0]!.body), notice)
  assert.equal(json[0]!.headers['x-container-updater-signature'], 'sha256=' + createHmac('sha256', 'sixteen-bytes-secret').update(json[0]!.body).digest('hex'))
  const slack = sent.filter((s) => s.url.endsWith('/s')).map((s) => JSON.parse(s.body).text as string)
  assert.match(slack[0]!, /web.*can update[\s\S]*semver:minor 1\.2\.3 → 1\.3\.0/)
  assert.match(slack[1]!, /quarantined[\s\S]*Update: `u1`/)
  assert.deepEqual(JSON.parse(sent.find((s) => s.url.endsWith('/d'))!.body).allowed_mentions, { parse: [] })
})
