import { test } from 'node:test'
import assert from 'node:assert/strict'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { connect } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { FakeDocker } from '../fake-docker.ts'
import { bearer, build, postUpdate, token } from '../helper.ts'
import { waitFor } from '../wait.ts'
import type { UpdateRecord } from '../../src/store/records.ts'
import type { WatchEntry } from '../../src/watch/entry.ts'

interface Frame { id?: string, event?: string, data?: string }

/** A GET /events client over real HTTP that parses every frame it reads. */
class StreamClient {
  readonly frames: Frame[] = []
  status = 0
  closed = false
  #res?: IncomingMessage
  #rest = ''
  constructor (port: number, headers: Record<string, string>) {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/events', headers }, (res) => {
      this.#res = res
      this.status = res.statusCode ?? 0
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => this.#read(chunk))
      res.on('close', () => { this.closed = true })
    })
    req.on('error', () => { this.closed = true })
    req.end()
  }

  /** the records received, without their message (the 200 clients live in the test's own heap) */
  readonly records: Array<Pick<UpdateRecord, 'updateId' | 'service' | 'status'>> = []

  /** the watch events received: a service's GET /watch entry */
  readonly watches: WatchEntry[] = []

  get lastId (): string | undefined { return [...this.frames].reverse().find((f) => f.id !== undefined)?.id }

  close (): void { this.#res?.destroy() }

  #read (chunk: string): void {
    this.#rest += chunk
    const parts = this.#rest.split('\n\n')
    this.#rest = parts.pop() ?? ''
    for (const part of parts) {
      const frame: Frame = {}
      for (const line of part.split('\n')) {
        const colon = line.indexOf(': ')
        if (line.startsWith(':') || colon < 0) continue
        const key = line.slice(0, colon) as keyof Frame
        if (key === 'id' || key === 'event' || key === 'data') frame[key] = line.slice(colon + 2)
      }
      if (frame.event === 'record') {
        const { updateId, service, status } = JSON.parse(frame.data ?? '') as UpdateRecord
        this.records.push({ updateId, service, status })
        delete frame.data
      }
      if (frame.event === 'watch') this.watches.push(JSON.parse(frame.data ?? '') as WatchEntry)
      if (frame.event !== undefined || frame.id !== undefined) this.frames.push(frame)
    }
  }
}

async function listening (app: FastifyInstance): Promise<number> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  return (app.server.address() as AddressInfo).port
}

function fakeRecord (n: number, service = 'web', message = ''): UpdateRecord {
  return {
    updateId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    appName: service,
    service,
    status: 'updating',
    previousImage: null,
    image: null,
    message,
    startedAt: new Date().toISOString(),
    finishedAt: null,
    durationMs: null,
    requestedBy: 'test'
  } as unknown as UpdateRecord
}

test('GET /events: 200 clients and one that stops reading: the others get every event, the stalled one is dropped and counted, memory comes back', async (t) => {
  const app = await build(t, {}, { runner: new FakeDocker().runner })
  const port = await listening(app)
  const headers = bearer()
  const clients = Array.from({ length: 199 }, () => new StreamClient(port, headers))
  await waitFor('every client greeted', () => clients.every((c) => c.frames.some((f) => f.event === 'hello')), 60, 20)
  // The stalled client: sends its request and never reads a byte of the answer.
  const stalled = connect(port, '127.0.0.1')
  stalled.pause()
  stalled.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${headers.authorization}\r\n\r\n`)
  await waitFor('200 clients attached', () => app.recordStream.clients === 200, 60, 20)
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const message = 'x'.repeat(8 * 1024)
  let sent = 0
  // Warm up (sockets' buffers, the replay ring's first events) before the level is taken.
  for (let i = 0; i < 4; i++) app.recordStream.publish(fakeRecord(++sent, 'web', message))
  await waitFor('warm-up events', () => clients.every((c) => c.records.length === sent), 60, 20)
  gc()
  // What the process holds (the V8 heap and buffers outside it), not RSS: Node 24 keeps freed heap
  // pages mapped after a GC (RSS grew by 214 MB there while what is held came back), Node 20 returns them.
  const held = (): number => { const m = process.memoryUsage(); return m.heapUsed + m.external }
  const baseline = held()
  const rssBefore = process.memoryUsage().rss
  // Steps of 4 events (32 KiB, under the 64 KiB a client may have unsent), each waited for by the readers, until the stalled socket's buffer overflows.
  while (app.recordStream.dropped === 0) {
    assert.ok(sent < 20_000, 'the stalled client was never dropped')
    assert.equal(app.recordStream.dropped + app.recordStream.clients, 200, 'a reader was dropped')
    for (let i = 0; i < 4; i++) app.recordStream.publish(fakeRecord(++sent, 'web', message))
    await waitFor(`every reader has ${sent} events`, () => clients.every((c) => c.records.length === sent), 60, 20)
  }
  for (let i = 0; i < 4; i++) app.recordStream.publish(fakeRecord(++sent, 'web', message))
  await waitFor('readers keep getting events after the drop', () => clients.every((c) => c.records.length === sent), 60, 20)
  assert.equal(app.recordStream.dropped, 1)
  assert.equal(app.recordStream.clients, 199)
  assert.ok(clients.every((c) => !c.closed), 'no reader was dropped')
  for (const c of clients) assert.deepEqual(c.records.map((r) => r.updateId), Array.from({ length: sent }, (_, i) => fakeRecord(i + 1).updateId))
  const metrics = await app.inject({ url: '/metrics' })
  assert.match(metrics.body, /^container_updater_events_dropped_total 1$/m)
  assert.match(metrics.body, /^container_updater_events_clients 199$/m)
  stalled.destroy()
  for (const c of clients) c.close()
  await waitFor('clients gone', () => app.recordStream.clients === 0, 60, 20)
  // Closed sockets free their buffers over a few turns of the loop: collect until what is held settles.
  let after = Infinity
  for (let i = 0; i < 5; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    gc()
    after = Math.min(after, held())
  }
  const mb = (n: number): number => Math.round(n / 1048576)
  // The replay ring keeps the last events (here up to 488 of 8 KiB, with their records): 35-38 MB held on
  // Node 24 under load, so the bound is 64 MB; buffers kept per event and client (488 × 8 KiB × 200,
  // about 780 MB) would exceed it many times over.
  assert.ok(after - baseline < 64 * 1024 * 1024, `memory held grew by ${mb(after - baseline)} MB (RSS by ${mb(process.memoryUsage().rss - rssBefore)} MB) after ${sent} events of 8 KiB to 200 clients`)
})

test('GET /events: a scoped token never receives another service\'s record; an unscoped one sees both', async (t) => {
  const docker = new FakeDocker()
  docker.addService('web', `127.0.0.1:5000/web:latest@sha256:${'a'.repeat(64)}`)
  docker.addService('api', `127.0.0.1:5000/api:latest@sha256:${'a'.repeat(64)}`)
  const app = await build(t, {}, { runner: docker.runner })
  const port = await listening(app)
  const scoped = new StreamClient(port, bearer(token({ services: ['web'] })))
  const all = new StreamClient(port, bearer())
  t.after(() => { scoped.close(); all.close() })
  await waitFor('both attached', () => app.recordStream.clients === 2, 60, 20)
  for (const name of ['web', 'api']) assert.equal((await postUpdate(app, { appName: name })).statusCode, 200)
  // Absence proven by the unscoped client: it has seen api's final record, which came after web's.
  await waitFor('api completed on the unscoped stream', () => all.records.some((r) => r.service === 'api' && r.status === 'completed'), 60, 20)
  await waitFor('web completed on the scoped stream', () => scoped.records.some((r) => r.service === 'web' && r.status === 'completed'), 60, 20)
  assert.deepEqual([...new Set(all.records.map((r) => r.service))].sort(), ['api', 'web'])
  assert.deepEqual(scoped.records.filter((r) => r.service !== 'web'), [])
  assert.ok(scoped.records.some((r) => r.status === 'updating'), 'the updating state is pushed, not only the end')
})

test('GET /events: Last-Event-ID resumes with exactly the missed events; one too old gets a reset; no token is a 401', async (t) => {
  const app = await build(t, {}, { runner: new FakeDocker().runner })
  const port = await listening(app)
  const first = new StreamClient(port, bearer())
  await waitFor('greeted', () => first.frames.length > 0, 60, 20)
  for (let i = 1; i <= 3; i++) app.recordStream.publish(fakeRecord(i))
  await waitFor('three events', () => first.records.length === 3, 60, 20)
  const seen = first.lastId
  assert.ok(seen !== undefined)
  first.close()
  await waitFor('first gone', () => app.recordStream.clients === 0, 60, 20)
  for (let i = 4; i <= 6; i++) app.recordStream.publish(fakeRecord(i))
  const again = new StreamClient(port, { ...bearer(), 'last-event-id': seen })
  t.after(() => again.close())
  await waitFor('the missed three', () => again.records.length === 3, 60, 20)
  assert.deepEqual(again.records.map((r) => r.updateId), [4, 5, 6].map((n) => fakeRecord(n).updateId))
  for (let i = 7; i <= 1010; i++) app.recordStream.publish(fakeRecord(i))
  const late = new StreamClient(port, { ...bearer(), 'last-event-id': '1' })
  t.after(() => late.close())
  await waitFor('reset', () => late.frames.some((f) => f.event === 'reset'), 60, 20)
  assert.equal(late.records.length, 0)
  const refused = new StreamClient(port, {})
  await waitFor('answered', () => refused.status !== 0, 60, 20)
  assert.equal(refused.status, 401)
})

test('GET /events: watch events: a service\'s GET /watch entry when what it shows changes (not at every listing), scoped like records, replayed after Last-Event-ID', async (t) => {
  const docker = new FakeDocker()
  const labels = { 'container-updater.watch': 'notify' }
  const web = docker.addService('web', `127.0.0.1:5000/web:latest@sha256:${'a'.repeat(64)}`, { labels })
  docker.addService('api', `127.0.0.1:5000/api:latest@sha256:${'a'.repeat(64)}`, { labels })
  const app = await build(t, {}, { runner: docker.runner })
  const port = await listening(app)
  const scoped = new StreamClient(port, bearer(token({ services: ['web'] })))
  const all = new StreamClient(port, bearer())
  t.after(() => { scoped.close(); all.close() })
  await waitFor('both attached', () => app.recordStream.clients === 2, 60, 20)
  // The scheduler is off in route tests (WATCH=false): one listing by hand, as its timer would.
  await app.watch.scheduler.tick()
  await waitFor('both services on the unscoped stream', () => all.watches.length === 2, 60, 20)
  const listed = await app.inject({ url: '/watch', headers: bearer() })
  assert.deepEqual(all.watches.sort((a, b) => a.service.localeCompare(b.service)), listed.json().services.sort((a: WatchEntry, b: WatchEntry) => a.service.localeCompare(b.service)), 'a watch event is the service\'s GET /watch entry')
  await waitFor('web on the scoped stream', () => scoped.watches.length === 1, 60, 20)
  const resumeAt = scoped.lastId
  assert.ok(resumeAt !== undefined)
  // A listing that changes nothing sends nothing; a quarantine (what the row shows) is sent at once.
  await app.watch.scheduler.tick()
  const digest = `sha256:${'b'.repeat(64)}`
  app.watch.store.quarantine({ serviceId: web.id, service: 'web', digest, updateId: 'u1', sinceMs: 1 })
  app.watch.announce()
  await waitFor('the quarantine on the unscoped stream', () => all.watches.length === 3, 60, 20)
  assert.deepEqual(all.watches.map((w) => w.service), ['api', 'web', 'web'])
  assert.equal(all.watches[2]?.quarantined?.digest, digest)
  // Absence proven by the unscoped client, which got the same events and more.
  await waitFor('the quarantine on the scoped stream', () => scoped.watches.length === 2, 60, 20)
  assert.deepEqual(scoped.watches.map((w) => w.service), ['web', 'web'])
  assert.equal(scoped.watches[1]?.quarantined?.digest, digest)
  // Lifting it (DELETE /watch/web/quarantine) is sent too; then a resumed scoped client gets exactly what it missed.
  assert.equal((await app.inject({ method: 'DELETE', url: '/watch/web/quarantine', headers: bearer(token({ access: 'admin' })) })).statusCode, 204)
  await waitFor('the lift on the unscoped stream', () => all.watches.length === 4, 60, 20)
  assert.equal(all.watches[3]?.quarantined, null)
  const resumed = new StreamClient(port, { ...bearer(token({ services: ['web'] })), 'last-event-id': resumeAt })
  t.after(() => resumed.close())
  await waitFor('the two missed web events', () => resumed.watches.length === 2, 60, 20)
  assert.deepEqual(resumed.watches.map((w) => [w.service, w.quarantined?.digest ?? null]), [['web', digest], ['web', null]])
  assert.deepEqual(resumed.records, [])
})
