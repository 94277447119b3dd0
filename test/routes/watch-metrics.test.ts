import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { ServiceState } from '../../src/docker/swarm.ts'
import { build } from '../helper.ts'

/**
 * GET /metrics carries the watcher's figures (DESIGN §7): checks by registry and result, registry
 * requests by registry, method and status, services by watch state, cycle duration. The listing is
 * given (no Docker here); the registry is a loopback HTTP server answering what the test needs. The
 * same counters against the real registry are asserted in test/swarm/watch-registry.test.ts.
 */
const digest = 'sha256:' + 'c'.repeat(64)

test('GET /metrics: watch checks by registry and result, registry requests by method and status, services by state, cycle durations', async (t) => {
  const registry = createServer((req, res) => {
    if (req.url === '/v2/app/manifests/1.0') res.writeHead(200, { 'docker-content-digest': digest }).end()
    else res.writeHead(429, { 'retry-after': '120' }).end()
  })
  registry.listen(0, '127.0.0.1')
  await once(registry, 'listening')
  t.after(() => new Promise((resolve) => registry.close(resolve)))
  const host = `127.0.0.1:${(registry.address() as { port: number }).port}`

  const app = await build(t)
  const watched = { 'container-updater.watch': 'true' }
  const service = (id: string, image: string): ServiceState => ({ id, name: id, version: 1, image, forceUpdate: 0, labels: watched })
  const services = [
    service('web', `${host}/app:1.0@${digest}`),
    service('web2', `${host}/app:1.0@${digest}`),
    service('busy', `${host}/busy:1.0@${digest}`),
    service('fixed', `${host}/app@${digest}`)
  ]
  app.swarm.listServices = async () => services

  const scrape = async (): Promise<string> => {
    const res = await app.inject({ method: 'GET', url: '/metrics' })
    assert.equal(res.statusCode, 200)
    return res.body
  }
  const before = await scrape()
  assert.match(before, /^container_updater_watch_services\{state="up_to_date"\} 0$/m, 'zeros before any cycle')
  assert.match(before, /^container_updater_watch_cycle_duration_seconds_count 0$/m)

  app.watch.scheduler.checkNow()
  await app.watch.scheduler.tick()
  const body = await scrape()
  const value = (series: string): number | undefined => {
    const found = body.split('\n').find((l) => l.startsWith(series + ' '))
    return found === undefined ? undefined : Number(found.slice(series.length + 1))
  }
  assert.equal(value(`container_updater_watch_checks_total{registry="${host}",result="up_to_date"}`), 2)
  assert.equal(value(`container_updater_watch_checks_total{registry="${host}",result="deferred"}`), 1)
  // Two services on app:1.0 share one HEAD.
  assert.equal(value(`container_updater_watch_registry_requests_total{registry="${host}",method="HEAD",status="200"}`), 1)
  assert.equal(value(`container_updater_watch_registry_requests_total{registry="${host}",method="HEAD",status="429"}`), 1)
  assert.equal(value('container_updater_watch_services{state="up_to_date"}'), 2)
  assert.equal(value('container_updater_watch_services{state="deferred"}'), 1)
  assert.equal(value('container_updater_watch_services{state="pinned"}'), 1)
  assert.equal(value('container_updater_watch_cycle_duration_seconds_count'), 1)
  assert.equal(value('container_updater_watch_cycle_duration_seconds_bucket{le="+Inf"}'), 1)

  // A second cycle: the registry answered 429 (Retry-After), so nothing is asked of it; every
  // service on it is deferred; the request counters stay, the cycles grow.
  app.watch.scheduler.checkNow()
  await app.watch.scheduler.tick()
  const again = (await app.inject({ method: 'GET', url: '/metrics' })).body
  const valueIn = (text: string, series: string): number | undefined => {
    const found = text.split('\n').find((l) => l.startsWith(series + ' '))
    return found === undefined ? undefined : Number(found.slice(series.length + 1))
  }
  assert.equal(valueIn(again, `container_updater_watch_registry_requests_total{registry="${host}",method="HEAD",status="200"}`), 1)
  assert.equal(valueIn(again, `container_updater_watch_registry_requests_total{registry="${host}",method="HEAD",status="429"}`), 1)
  assert.equal(valueIn(again, `container_updater_watch_checks_total{registry="${host}",result="deferred"}`), 4)
  assert.equal(valueIn(again, 'container_updater_watch_services{state="deferred"}'), 3)
  assert.equal(valueIn(again, 'container_updater_watch_cycle_duration_seconds_count'), 2)
})
