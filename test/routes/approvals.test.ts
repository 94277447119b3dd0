import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { FakeDocker } from '../fake-docker.ts'
import { bearer, build, postUpdate, token } from '../helper.ts'
import { assertDocumented, openApi } from '../openapi.ts'
import { until } from '../wait.ts'

const IMAGE = '127.0.0.1:5000/web:latest@sha256:' + 'a'.repeat(64)
const admin = bearer(token({ access: 'admin', sub: 'ops' }))
const APPROVE = { method: 'post', path: '/updates/{updateId}/approve' }
const REJECT = { method: 'post', path: '/updates/{updateId}/reject' }
const DAY = 86_400_000
const NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']

async function setup (t: Parameters<typeof build>[0], env: Record<string, string> = {}) {
  const docker = new FakeDocker()
  docker.registry.set('127.0.0.1:5000/web:latest', 'sha256:' + 'b'.repeat(64))
  const web = docker.addService('web', IMAGE, { labels: { 'container-updater.approve': 'true' } })
  const app = await build(t, env, { runner: docker.runner })
  const service = await app.engine.resolve('web', () => {})
  /** what a registry hook or the watcher asks */
  const automatic = (trigger: 'hook' | 'watch' = 'hook') => app.updater.submit(service, { appName: 'web', trigger, requestedBy: trigger })
  return { app, docker, web, automatic, doc: await openApi(app) }
}

const post = async (app: Awaited<ReturnType<typeof setup>>['app'], url: string, headers = admin) => await app.inject({ method: 'POST', url, headers })

test('approvals: an automatic update of a service labelled approve=true waits pending_approval (nothing reaches Docker), joined by the next; an admin approves and it completes', async (t) => {
  const { app, docker, web, automatic, doc } = await setup(t, { PUBLIC_URL: 'https://updater.example.com/' })
  const first = automatic()
  assert.equal(first.record.status, 'pending_approval')
  const id = first.record.updateId
  assert.match(first.record.message ?? '', new RegExp(`POST https://updater\\.example\\.com/updates/${id}/approve `))
  assert.equal(automatic('watch').record.updateId, id, 'a newer automatic request joins it')
  assert.equal(docker.updates(web.id), 0)

  const deploy = await post(app, `/updates/${id}/approve`, bearer(token({ access: 'deploy' })))
  assert.equal(deploy.statusCode, 403, deploy.body)
  assert.equal(deploy.json<{ code: string }>().code, 'CU_ACCESS_DENIED')
  const approved = await post(app, `/updates/${id}/approve`)
  assert.equal(approved.statusCode, 200, approved.body)
  assertDocumented(doc, APPROVE, 200, approved.json())
  assert.ok(['queued', 'updating'].includes(approved.json<{ status: string }>().status), approved.body)
  const end = await first.wait()
  assert.equal(end.record.status, 'completed')
  assert.equal(docker.updates(web.id), 1)

  const again = await post(app, `/updates/${id}/approve`)
  assert.equal(again.statusCode, 409, again.body)
  assertDocumented(doc, APPROVE, 409, again.json())
  assert.equal(again.json<{ code: string }>().code, 'CU_NOT_PENDING')
  const unknown = await post(app, '/updates/00000000-0000-4000-8000-000000000000/approve')
  assert.equal(unknown.statusCode, 404)
  assertDocumented(doc, APPROVE, 404, unknown.json())
})

test('approvals: rejected ends it rejected; a scoped admin of another service gets 404; an explicit update is the decision and supersedes what waits', async (t) => {
  const { app, docker, web, automatic, doc } = await setup(t)
  const pending = automatic()
  const other = await post(app, `/updates/${pending.record.updateId}/reject`, bearer(token({ access: 'admin', services: ['api'] })))
  assert.equal(other.statusCode, 404, other.body)
  const rejected = await post(app, `/updates/${pending.record.updateId}/reject`)
  assert.equal(rejected.statusCode, 200, rejected.body)
  assertDocumented(doc, REJECT, 200, rejected.json())
  assert.equal(rejected.json<{ status: string, message: string }>().status, 'rejected')
  assert.match(rejected.json<{ message: string }>().message, /rejected by ops/)
  assert.equal((await pending.wait()).record.status, 'rejected')

  const next = automatic()
  assert.notEqual(next.record.updateId, pending.record.updateId)
  const explicit = await postUpdate(app, { appName: 'web' })
  assert.equal(explicit.statusCode, 200, explicit.body)
  const superseded = await next.wait()
  assert.equal(superseded.record.status, 'superseded')
  assert.equal(superseded.record.supersededBy, explicit.json<{ updateId: string }>().updateId)
  assert.equal(docker.updates(web.id), 1)
})

test('approvals: unanswered for APPROVAL_TTL it ends expired', async (t) => {
  const { app, docker, web, automatic } = await setup(t, { APPROVAL_TTL: '1s' })
  const pending = automatic()
  await until('the approval to expire', () => app.updater.getRecord(pending.record.updateId)?.status === 'expired' ? true : undefined)
  const end = await pending.wait()
  assert.equal(end.record.status, 'expired')
  assert.match(end.record.message ?? '', /APPROVAL_TTL/)
  assert.equal(docker.updates(web.id), 0)
})

test('approvals: approved while the window is closed, it is held until the window opens (heldUntil)', async (t) => {
  const opens = Math.floor(Date.now() / DAY) * DAY + 3 * DAY
  const { app, docker, web, automatic } = await setup(t, { UPDATE_WINDOWS: `${NAMES[new Date(opens).getUTCDay()]} 00:00-24:00` })
  const pending = automatic()
  assert.equal(pending.record.status, 'pending_approval', 'approval is asked first')
  const approved = await post(app, `/updates/${pending.record.updateId}/approve`)
  assert.equal(approved.statusCode, 200, approved.body)
  const record = approved.json<{ status: string, heldUntil: string, message: string }>()
  assert.equal(record.status, 'held')
  assert.equal(record.heldUntil, new Date(opens).toISOString())
  assert.match(record.message, /update window opens/)
  assert.equal(docker.updates(web.id), 0)
  // Held, not pending: approving again is refused.
  assert.equal((await post(app, `/updates/${pending.record.updateId}/approve`)).statusCode, 409)
})

test('approvals and freezes are notified: pending_approval with the URL to approve, frozen and unfrozen', async (t) => {
  const received: Array<{ event: string, body: Record<string, unknown> }> = []
  const receiver = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => { body += String(chunk) })
    req.on('end', () => {
      received.push({ event: String(req.headers['x-container-updater-event']), body: JSON.parse(body) as Record<string, unknown> })
      res.end()
    })
  }).listen(0, '127.0.0.1')
  await once(receiver, 'listening')
  t.after(async () => await new Promise((resolve) => receiver.close(resolve)))
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/n`
  const { app, automatic } = await setup(t, { NOTIFY_URLS: `json+${url}`, NOTIFY_ON: 'pending_approval,frozen,unfrozen' })
  const pending = automatic()
  const created = await app.inject({ method: 'POST', url: '/freezes', headers: { ...admin, 'content-type': 'application/json' }, payload: { services: ['api'], until: new Date(Date.now() + 3600_000).toISOString(), reason: 'audit' } })
  const { freezeId } = created.json<{ freezeId: string }>()
  assert.equal((await app.inject({ method: 'DELETE', url: `/freezes/${freezeId}`, headers: admin })).statusCode, 204)
  await until('three notifications', () => received.length >= 3 ? true : undefined)
  assert.deepEqual(received.map((r) => r.event), ['pending_approval', 'frozen', 'unfrozen'])
  assert.match(String(received[0]!.body.message), new RegExp(`/updates/${pending.record.updateId}/approve`))
  assert.deepEqual((received[1]!.body.freeze as { freezeId: string }).freezeId, freezeId)
  assert.equal(received[2]!.body.event, 'unfrozen')
})
