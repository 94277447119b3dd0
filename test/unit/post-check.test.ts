import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkSettings, parseStatusRanges, type CheckSettings } from '../../src/engine/check-settings.ts'
import { parseDuration } from '../../src/durations.ts'
import { runCheck } from '../../src/engine/verify.ts'
import { Swarm } from '../../src/docker/swarm.ts'
import { ServiceUpdater } from '../../src/engine/updater.ts'
import { openSqliteStore } from '../../src/store/sqlite-store.ts'
import type { StoredUpdate } from '../../src/store/records.ts'
import { FakeDocker } from '../fake-docker.ts'
import { waitFor } from '../wait.ts'

const P = 'container-updater.check.'

/** A local HTTP server answering the statuses of `answers` in turn (the last one repeats); counts requests. */
async function server (t: { after: (fn: () => unknown) => void }, answers: number[], delayMs = 0): Promise<{ url: string, requests: () => number }> {
  let requests = 0
  const http: Server = createServer((req, res) => {
    const status = answers[Math.min(requests++, answers.length - 1)]!
    setTimeout(() => res.writeHead(status).end('x'), delayMs)
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  t.after(() => { http.closeAllConnections(); http.close() })
  return { url: `http://127.0.0.1:${(http.address() as { port: number }).port}/health?token=secret`, requests: () => requests }
}

const settings = (url: string, extra: Record<string, string> = {}): CheckSettings => {
  const parsed = checkSettings({ [`${P}url`]: url, ...extra })
  assert.ok(parsed !== undefined && !('invalid' in parsed), JSON.stringify(parsed))
  return parsed
}

test('check labels: no check.url, no check; the defaults are 200-399 for 30 s every 5 s, 5 s a request', () => {
  assert.equal(checkSettings({ 'container-updater.watch': 'true' }), undefined)
  const s = settings('http://web:8080/health')
  assert.deepEqual([s.status, s.forMs, s.intervalMs, s.timeoutMs], [[[200, 399]], 30_000, 5000, 5000])
  assert.deepEqual(parseStatusRanges('200, 204,300-302'), [[200, 200], [204, 204], [300, 302]])
  assert.equal(parseDuration('500ms'), 500)
  assert.equal(parseDuration('2m'), 120_000)
  // One parser for every duration label: a day is a day here too (the range allows 24 h).
  assert.equal(settings('http://web/h', { [`${P}for`]: '1d' }).forMs, 86_400_000)
})

test('check labels that cannot be read name the label (and never the URL, which may hold a secret)', () => {
  const invalid = (labels: Record<string, string>): string => {
    const parsed = checkSettings({ [`${P}url`]: 'http://web/h?token=s3cret', ...labels })
    assert.ok(parsed !== undefined && 'invalid' in parsed, JSON.stringify(parsed))
    assert.doesNotMatch(parsed.invalid, /s3cret/)
    return parsed.invalid
  }
  assert.match(invalid({ [`${P}url`]: 'not a url s3cret' }), /check\.url is not a URL/)
  assert.match(invalid({ [`${P}url`]: 'ftp://web/s3cret' }), /http:\/\/ or https:\/\//)
  assert.match(invalid({ [`${P}url`]: 'http://user:s3cret@web/' }), /must not carry credentials/)
  assert.match(invalid({ [`${P}status`]: '2xx' }), /check\.status="2xx"/)
  assert.match(invalid({ [`${P}status`]: '399-200' }), /check\.status/)
  assert.match(invalid({ [`${P}for`]: '30' }), /check\.for="30" is not a duration/)
  assert.match(invalid({ [`${P}interval`]: '0s' }), /check\.interval="0s" is not a duration above 0/)
  assert.match(invalid({ [`${P}timeout`]: '2d' }), /check\.timeout/)
  assert.match(invalid({ [`${P}for`]: '2d' }), /check\.for="2d" is not a duration up to 24 h/)
})

test('runCheck passes when every request answers an expected status until check.for has passed', async (t) => {
  const http = await server(t, [200, 204, 302])
  assert.equal(await runCheck(settings(http.url, { [`${P}for`]: '300ms', [`${P}interval`]: '50ms' }), new AbortController().signal), undefined)
  assert.ok(http.requests() >= 2, `asked ${http.requests()} times`)
})

test('runCheck fails at the first unexpected status, naming it and not the URL', async (t) => {
  const http = await server(t, [200, 500, 200])
  const failure = await runCheck(settings(http.url, { [`${P}for`]: '10s', [`${P}interval`]: '10ms' }), new AbortController().signal)
  assert.match(failure ?? '', /^the check URL answered 500 \(expected 200-399\) \(request 2, /)
  assert.doesNotMatch(failure ?? '', /secret|127\.0\.0\.1/)
  assert.equal(http.requests(), 2)
  assert.match(await runCheck(settings(http.url, { [`${P}status`]: '204' }), new AbortController().signal) ?? '', /answered 200 \(expected 204\)/)
})

test('runCheck fails on a refused connection and on a request that outlives check.timeout', async (t) => {
  // A port nothing listens on any more.
  const gone = createServer()
  await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve))
  const { port } = gone.address() as { port: number }
  await new Promise((resolve) => gone.close(resolve))
  const refused = await runCheck(settings(`http://127.0.0.1:${port}/`), new AbortController().signal)
  assert.match(refused ?? '', /could not be reached \(ECONNREFUSED\)/)
  const slow = await server(t, [200], 2000)
  assert.match(await runCheck(settings(slow.url, { [`${P}timeout`]: '100ms' }), new AbortController().signal) ?? '', /did not answer within 100 ms/)
})

test('runCheck stops when its watch is aborted (shutdown, a newer update)', async (t) => {
  const http = await server(t, [200])
  const watch = new AbortController()
  const running = runCheck(settings(http.url, { [`${P}for`]: '1h', [`${P}interval`]: '20ms' }), watch.signal)
  await waitFor('a request', () => http.requests() > 0, 30, 5)
  watch.abort(new Error('shutdown'))
  // It rejects: an aborted check is neither a pass nor a failure (nothing is rolled back).
  await assert.rejects(running, /shutdown|aborted/)
})

test('a verifying record left by a stopped process is resumed from SQLite: its check runs again, then it completes', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cu-verify-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const http = await server(t, [200])
  const docker = new FakeDocker()
  const image = '127.0.0.1:5000/web:latest@sha256:' + 'b'.repeat(64)
  const web = docker.addService('web', image, { labels: { [`${P}url`]: http.url, [`${P}for`]: '100ms', [`${P}interval`]: '20ms' } })
  web.updateStatus = { State: 'completed', StartedAt: '2026-01-01T00:00:00Z', CompletedAt: '2026-01-01T00:00:05Z', Message: 'update completed' }
  const record: StoredUpdate = {
    updateId: '00000000-0000-4000-8000-0000000000a1',
    appName: 'web',
    service: 'web',
    serviceId: web.id,
    status: 'verifying',
    previousImage: '127.0.0.1:5000/web:latest@sha256:' + 'a'.repeat(64),
    image: null,
    startedAt: new Date().toISOString(),
    finishedAt: null,
    durationMs: null,
    statusUrl: '/updates/00000000-0000-4000-8000-0000000000a1',
    baseVersion: web.version - 1
  }
  const first = openSqliteStore({ dataDir: dir })
  first.save(record)
  first.close()
  const store = openSqliteStore({ dataDir: dir })
  t.after(() => store.close())
  const updater = new ServiceUpdater({ swarm: new Swarm(docker.runner, { bin: 'docker' }), registryAuth: () => false, store, updateTimeoutMs: 5000, pollIntervalMs: 2 })
  t.after(() => updater.close())
  assert.equal(updater.resume(), 1, 'the verifying record is resumed, not forgotten')
  await waitFor('the resumed check to complete the record', () => store.get(record.updateId)?.status === 'completed', 30, 10)
  assert.ok(http.requests() >= 1, 'the check ran again')
  assert.match(store.get(record.updateId)?.message ?? '', /post-rollout check passed/)
  assert.equal(store.get(record.updateId)?.image, image)
})
