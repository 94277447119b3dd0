import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac, randomUUID } from 'node:crypto'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { UpdateRecord } from '../../src/store/records.js'
import { createNotifier, type NotifierOptions, type NotifyResult } from '../../src/notify/notifier.ts'
import { parseNotifyUrls } from '../../src/notify/targets.ts'
import { parseRetryAfter, retryDelay } from '../../src/notify/attempt.ts'

/**
 * Real receivers on 127.0.0.1 (node:http). Each request is recorded with its raw bytes, then
 * answered by `answer` (which may hold it open until the test lets it go).
 */
interface Received { url: string, headers: IncomingHttpHeaders, body: Buffer }
type Answer = (index: number, request: Received, response: ServerResponse) => void | Promise<void>

async function receiver (t: TestContext, answer: Answer): Promise<{ base: string, requests: Received[], arrived: (count: number) => Promise<void> }> {
  const requests: Received[] = []
  let waiters: Array<() => void> = []
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const received = { url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) }
      const index = requests.push(received) - 1
      for (const wake of waiters) wake()
      waiters = []
      Promise.resolve(answer(index, received, res)).catch(() => res.destroy())
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => {
    server.closeAllConnections()
    server.close()
  })
  const arrived = async (count: number): Promise<void> => {
    while (requests.length < count) await new Promise<void>((resolve) => waiters.push(resolve))
  }
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, arrived }
}

const reply = (response: ServerResponse, status: number, body = '', headers: Record<string, string> = {}): void => {
  response.writeHead(status, headers).end(body)
}

/** A port nothing listens on: bound once, then released. */
async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

function makeRecord (overrides: Partial<UpdateRecord> = {}): UpdateRecord {
  const updateId = randomUUID()
  return {
    updateId,
    appName: 'api',
    service: 'api',
    status: 'rolled_back',
    previousImage: '127.0.0.1:5000/api:1@sha256:' + 'c3'.repeat(32),
    image: '127.0.0.1:5000/api:1@sha256:' + 'c3'.repeat(32),
    targetImage: '127.0.0.1:5000/api:2',
    startedAt: '2025-05-01T03:00:00.000Z',
    finishedAt: '2025-05-01T03:00:41.000Z',
    durationMs: 41_000,
    statusUrl: `/updates/${updateId}`,
    message: 'update rolled back due to failure or early termination of task q1',
    requestedBy: 'ci-deploy',
    ...overrides
  }
}

/** A notifier whose results and log lines the test reads; fast backoff, no randomness. */
function harness (notifyUrls: string, options: Partial<NotifierOptions> = {}) {
  const results: Array<[string, NotifyResult]> = []
  const logs: Array<{ level: string, obj: object, msg: string }> = []
  const notifier = createNotifier({
    targets: parseNotifyUrls(notifyUrls),
    backoffMs: 20,
    closeTimeoutMs: 30_000,
    random: () => 0,
    log: {
      warn: (obj, msg) => logs.push({ level: 'warn', obj, msg }),
      debug: (obj, msg) => logs.push({ level: 'debug', obj, msg })
    },
    onResult: (target, result) => results.push([target, result]),
    ...options
  })
  return { notifier, results, logs, outcomes: () => results.map(([, result]) => result) }
}

test('failing then recovering (500, 500, 200): delivered on the third attempt with identical signed bytes', async (t) => {
  const receiving = await receiver(t, (index, _request, response) => reply(response, index < 2 ? 500 : 200, 'ok'))
  const secret = 'notify-secret-' + randomUUID()
  const { notifier, outcomes, results } = harness(`json+http://bot:hunter2@${receiving.base.slice('http://'.length)}/hooks/in?token=abc`, { secret })
  const record = makeRecord()
  notifier.notify(record)
  await notifier.close()

  assert.deepEqual(outcomes(), ['retried', 'retried', 'delivered'])
  assert.equal(results[0]![0], `json+${receiving.base}/[redacted]`)
  assert.equal(receiving.requests.length, 3)
  const [first] = receiving.requests
  for (const request of receiving.requests) {
    assert.ok(request.body.equals(first!.body), 'every attempt sends the same bytes')
    assert.equal(request.url, '/hooks/in?token=abc')
    assert.equal(request.headers['content-type'], 'application/json')
    assert.equal(request.headers['x-container-updater-event'], 'rolled_back')
    assert.equal(request.headers['x-container-updater-delivery'], first!.headers['x-container-updater-delivery'])
    assert.equal(request.headers.authorization, 'Basic ' + Buffer.from('bot:hunter2').toString('base64'))
    const signature = 'sha256=' + createHmac('sha256', secret).update(request.body).digest('hex')
    assert.equal(request.headers['x-container-updater-signature'], signature)
  }
  assert.deepEqual(JSON.parse(first!.body.toString('utf8')), record)
})

test('slow receiver (answers only after the timeout): the attempt is abandoned, retried and counted', async (t) => {
  let release = (): void => {}
  const held = new Promise<void>((resolve) => { release = resolve })
  t.after(() => release())
  const receiving = await receiver(t, async (index, _request, response) => {
    if (index === 0) await held
    reply(response, 204)
  })
  const { notifier, outcomes, logs } = harness(`json+${receiving.base}/slow`, { timeoutMs: 200 })
  notifier.notify(makeRecord())
  await notifier.close()
  release()

  assert.deepEqual(outcomes(), ['retried', 'delivered'])
  assert.equal(receiving.requests.length, 2)
  const retry = logs.find((line) => line.msg === 'notification will be retried')
  assert.match(String((retry?.obj as { reason?: string }).reason), /no answer within 200 ms/)
})

test('refusing receiver: failed after the retries, counted, logged without the secret parts of the URL', async () => {
  const port = await closedPort()
  const { notifier, outcomes, results, logs } = harness(`json+http://user:PASSWORD-SECRET@127.0.0.1:${port}/hooks/PATH-SECRET?token=QUERY-SECRET`, { retries: 2 })
  notifier.notify(makeRecord())
  await notifier.close()

  assert.deepEqual(outcomes(), ['retried', 'retried', 'failed'])
  assert.ok(results.every(([target]) => target === `json+http://127.0.0.1:${port}/[redacted]`))
  const warnings = logs.filter((line) => line.level === 'warn')
  assert.equal(warnings.length, 1)
  assert.equal(warnings[0]!.msg, 'notification not delivered')
  assert.equal((warnings[0]!.obj as { attempts: number }).attempts, 3)
  assert.match((warnings[0]!.obj as { reason: string }).reason, /ECONNREFUSED/)
  const everything = JSON.stringify(logs)
  assert.ok(everything.includes(`127.0.0.1:${port}/[redacted]`))
  assert.doesNotMatch(everything, /SECRET|hooks|token/)
})

test('a 4xx other than 429 is final; 429 honours Retry-After; a redirect is not followed', async (t) => {
  const receiving = await receiver(t, (_index, request, response) => {
    if (request.url === '/bad') reply(response, 400, 'invalid_payload\n')
    else if (request.url === '/moved') reply(response, 301, '', { location: '/elsewhere' })
    else if (request.url === '/busy' && receiving.requests.filter((r) => r.url === '/busy').length === 1) reply(response, 429, '', { 'retry-after': '0' })
    else reply(response, 200)
  })
  const { notifier, results, logs } = harness(`json+${receiving.base}/bad slack+${receiving.base}/busy discord+${receiving.base}/moved`)
  notifier.notify(makeRecord())
  await notifier.close()

  const byTarget = (label: string): NotifyResult[] => results.filter(([target]) => target.startsWith(label)).map(([, result]) => result)
  assert.deepEqual(byTarget('json+'), ['failed'])
  assert.deepEqual(byTarget('slack+'), ['retried', 'delivered'])
  assert.deepEqual(byTarget('discord+'), ['failed'])
  assert.deepEqual(receiving.requests.map((r) => r.url).sort(), ['/bad', '/busy', '/busy', '/moved'])
  const reasons = logs.filter((line) => line.level === 'warn').map((line) => (line.obj as { reason: string }).reason).sort()
  assert.deepEqual(reasons, ['HTTP 301: redirects are not followed; configure the URL it points to', 'HTTP 400: invalid_payload'])
})

test('notify() returns before anything reaches a dead receiver; close() then aborts the hung delivery', async (t) => {
  let returned = false
  let returnedBeforeArrival: boolean | undefined
  // Dead: it takes the request and never answers.
  const receiving = await receiver(t, () => { returnedBeforeArrival ??= returned })
  const { notifier, outcomes, logs } = harness(`json+${receiving.base}/dead`, { closeTimeoutMs: 100, timeoutMs: 60_000 })
  notifier.notify(makeRecord())
  returned = true
  assert.equal(receiving.requests.length, 0)
  await receiving.arrived(1)
  assert.equal(returnedBeforeArrival, true)

  await notifier.close()
  assert.deepEqual(outcomes(), ['failed'])
  assert.match(JSON.stringify(logs), /shutting down/)
  // After close, nothing more is sent.
  notifier.notify(makeRecord())
  assert.deepEqual(outcomes(), ['failed', 'failed'])
  assert.equal(receiving.requests.length, 1)
})

test('NOTIFY_ON filters; a timeout is sent when it happens and the real end later, in order', async (t) => {
  const receiving = await receiver(t, (_index, _request, response) => reply(response, 200))
  const only = harness(`json+${receiving.base}/only`, { on: ['rolled_back', 'timeout'] })
  only.notifier.notify(makeRecord({ status: 'completed' }))
  only.notifier.notify(makeRecord({ status: 'updating' }))
  only.notifier.notify(makeRecord({ status: 'rolled_back' }))
  await only.notifier.close()
  assert.deepEqual(receiving.requests.map((r) => r.headers['x-container-updater-event']), ['rolled_back'])

  const all = harness(`json+${receiving.base}/all`)
  const record = makeRecord({ status: 'timeout', finishedAt: null, durationMs: null, message: 'still converging after 600 s' })
  all.notifier.notify(record)
  // The engine goes on with the same object: what was sent must not change with it.
  record.status = 'completed'
  record.finishedAt = '2025-05-01T03:12:00.000Z'
  record.durationMs = 720_000
  delete record.message
  all.notifier.notify(record)
  all.notifier.notify(makeRecord({ status: 'queued' }))
  await all.notifier.close()
  const sent = receiving.requests.filter((r) => r.url === '/all').map((r) => JSON.parse(r.body.toString('utf8')) as UpdateRecord)
  assert.deepEqual(sent.map((r) => [r.status, r.durationMs]), [['timeout', null], ['completed', 720_000]])
  assert.equal(sent[0]!.message, 'still converging after 600 s')
})

test('slack and discord bodies arrive as their webhooks expect them', async (t) => {
  const receiving = await receiver(t, (_index, _request, response) => reply(response, 200))
  const { notifier, outcomes } = harness(`slack+${receiving.base}/slack discord+${receiving.base}/discord`, { secret: 'not-for-chat' })
  notifier.notify(makeRecord({ requestedBy: 'ops@example' }))
  await notifier.close()
  assert.deepEqual(outcomes(), ['delivered', 'delivered'])
  const slack = receiving.requests.find((r) => r.url === '/slack')!
  const discord = receiving.requests.find((r) => r.url === '/discord')!
  for (const request of [slack, discord]) {
    assert.equal(request.headers['content-type'], 'application/json')
    assert.equal(request.headers['x-container-updater-signature'], undefined)
  }
  const { text } = JSON.parse(slack.body.toString('utf8')) as { text: string }
  assert.match(text, /^↩️ Service `api` rolled back by Swarm\n/)
  for (const fact of ['sha256:c3c3c3c3c3c3 → ', 'Reason: update rolled back due to failure', 'Requested by: ops@example', 'Duration: 41s']) assert.ok(text.includes(fact), fact)
  const body = JSON.parse(discord.body.toString('utf8')) as { content: string, embeds: Array<{ fields: Array<{ name: string }> }> }
  assert.equal(body.content, '↩️ Service `api` rolled back by Swarm')
  assert.deepEqual(body.embeds[0]!.fields.map((f) => f.name), ['Image', 'Target', 'Reason', 'Requested by', 'Duration', 'Update'])
})

test('the queue is bounded per target: the oldest waiting notification is dropped and counted', async (t) => {
  let release = (): void => {}
  const held = new Promise<void>((resolve) => { release = resolve })
  t.after(() => release())
  const receiving = await receiver(t, async (_index, _request, response) => {
    await held
    reply(response, 200)
  })
  const { notifier, outcomes, logs } = harness(`json+${receiving.base}/q`, { maxPending: 2 })
  const records = [1, 2, 3, 4].map(() => makeRecord())
  for (const record of records) notifier.notify(record)
  assert.deepEqual(outcomes(), ['failed', 'failed'])
  assert.match(JSON.stringify(logs), /more than 2 notifications waiting/)
  release()
  await notifier.close()
  assert.deepEqual(outcomes(), ['failed', 'failed', 'delivered', 'delivered'])
  assert.deepEqual(receiving.requests.map((r) => (JSON.parse(r.body.toString('utf8')) as UpdateRecord).updateId), [records[2]!.updateId, records[3]!.updateId])
})

test('notify() never throws, not even for a broken record or a throwing result hook', async (t) => {
  const receiving = await receiver(t, (_index, _request, response) => reply(response, 200))
  const logs: string[] = []
  const notifier = createNotifier({
    targets: parseNotifyUrls(`json+${receiving.base}/x`),
    log: { warn: (_obj, msg) => logs.push(msg), debug: () => {} },
    onResult: () => { throw new Error('metrics broke') }
  })
  // JSON.stringify throws on a BigInt: a record the engine got wrong must not break the update.
  const broken = makeRecord({ durationMs: 1n as unknown as number })
  assert.doesNotThrow(() => notifier.notify(broken))
  notifier.notify(makeRecord())
  await notifier.close()
  assert.equal(receiving.requests.length, 1)
  assert.deepEqual(logs, ['notification could not be prepared', 'notification result hook failed'])
})

test('backoff doubles with jitter, honours Retry-After, and is capped', () => {
  const low = (): number => 0
  const high = (): number => 0.999999
  assert.equal(retryDelay(1, 500, 30_000, undefined, low), 250)
  assert.equal(retryDelay(1, 500, 30_000, undefined, high), 500)
  assert.equal(retryDelay(3, 500, 30_000, undefined, low), 1000)
  assert.equal(retryDelay(1, 500, 30_000, 10_000, low), 10_000)
  assert.equal(retryDelay(1, 500, 30_000, 3_600_000, low), 30_000)
  assert.equal(retryDelay(40, 500, 30_000, undefined, high), 30_000)
  assert.equal(parseRetryAfter(null), undefined)
  assert.equal(parseRetryAfter('3'), 3000)
  assert.equal(parseRetryAfter('0.25'), 250)
  assert.equal(parseRetryAfter('Thu, 01 May 2025 03:00:10 GMT', Date.parse('2025-05-01T03:00:00Z')), 10_000)
  assert.equal(parseRetryAfter('Thu, 01 May 2025 02:00:00 GMT', Date.parse('2025-05-01T03:00:00Z')), 0)
  assert.equal(parseRetryAfter('soon'), undefined)
})
