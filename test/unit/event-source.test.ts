import { test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { EventDrivenSource } from '../../src/engine/event-source.ts'
import type { ServiceEvents } from '../../src/docker/events.ts'
import type { ServicePoller } from '../../src/engine/poller.ts'
import type { ServiceState } from '../../src/docker/swarm.ts'
import type { ServiceEvent } from '../../src/docker/service-event.ts'

const updated: ServiceEvent = { serviceId: 'svc', name: 'svc', action: 'update', time: 0, timeNano: '0' }
const turns = async (n: number): Promise<void> => { for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve)) }

// The missed completion of issue #24: a superseded update's watch ended (its last read still
// running) after its successor's watch of the same service began, and took the successor's with
// it; the successor's events were dropped and, the stream being healthy, it slept to its deadline.
test('an update\'s watch of a service outlives the end of an earlier watch of the same service', async () => {
  const events = Object.assign(new EventEmitter(), { healthy: true }) as unknown as ServiceEvents
  let reads = 0
  const poller = { next: async () => { reads++; return { id: 'svc', version: reads } as ServiceState } } as unknown as ServicePoller
  const source = new EventDrivenSource(events, poller, 60_000)
  const first = new AbortController()
  const second = new AbortController()
  await source.next('svc', first.signal)
  let settled: ServiceState | undefined
  const successor = (async () => {
    await source.next('svc', second.signal)
    settled = await source.next('svc', second.signal)
  })()
  await turns(5)
  assert.equal(settled, undefined, 'without an event, the successor waits')
  const readsBefore = reads
  source.release('svc', first.signal)
  events.emit('event', updated)
  await turns(5)
  assert.ok(settled !== undefined, 'the successor read the service after its event')
  assert.ok(reads > readsBefore)
  await successor
  source.release('svc', second.signal)
  // Released: an event for nobody is ignored, and a new watcher starts with a read.
  events.emit('event', updated)
  assert.equal((await source.next('svc', first.signal)).id, 'svc')
})
