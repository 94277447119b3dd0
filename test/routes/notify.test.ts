import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { FakeDocker } from '../fake-docker.ts'
import { build, postUpdate } from '../helper.ts'

const IMAGE = '127.0.0.1:5000/web:latest@sha256:' + 'a'.repeat(64)

test('an update is answered while its notification still hangs at a receiver that never answers', async (t) => {
  const held: Array<{ req: IncomingMessage, res: ServerResponse, body: string }> = []
  const receiver = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => { body += String(chunk) })
    req.on('end', () => held.push({ req, res, body })) // never answered
  }).listen(0, '127.0.0.1')
  await once(receiver, 'listening')
  t.after(async () => {
    for (const h of held) h.res.destroy()
    receiver.closeAllConnections()
    await new Promise((resolve) => receiver.close(resolve))
  })
  const docker = new FakeDocker()
  docker.addService('web', IMAGE)
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/updates`
  const app = await build(t, { NOTIFY_URLS: `json+${url}`, NOTIFY_SECRET: 'notification-secret-1234', NOTIFY_TIMEOUT: '60000' }, { runner: docker.runner })

  const res = await postUpdate(app, { appName: 'web' })
  assert.equal(res.statusCode, 200, 'the answer does not wait for the delivery')
  for (let i = 0; i < 400 && held.length === 0; i++) await sleep(10)
  assert.equal(held.length, 1, 'the notification was sent')
  assert.equal(held[0]!.res.writableEnded, false, 'and is still unanswered: the caller was answered before it')
  assert.equal(held[0]!.req.headers['x-container-updater-event'], 'completed')
  assert.match(String(held[0]!.req.headers['x-container-updater-signature']), /^sha256=[0-9a-f]{64}$/)
  assert.equal(JSON.parse(held[0]!.body).updateId, res.json().updateId)
})
