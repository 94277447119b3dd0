import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger } from 'fastify'
import { isOnDigest, matchesPush, pushedImage, type PushEvent, type PushOrigin } from './events.js'
import type { RegistryAliases } from '../docker/image-match.js'
import { hasLabel, type LabelSelector } from '../docker/labels.js'
import type { ServiceState } from '../docker/swarm.js'
import type { UpdateEngine } from '../engine/engine.js'
import { DigestsInFlight } from './digests-in-flight.js'
import { SharedRead, type Read } from './shared-read.js'
import { PushSummary, type Skipped } from './push-summary.js'

export interface PushOptions {
  engine: UpdateEngine
  log: FastifyBaseLogger
  aliases: RegistryAliases
  pushLabel: LabelSelector
  /** may a credential with this scope update this service? (the token's `services` claim) */
  allowed: (scope: string[] | undefined, service: string) => boolean
  /** forgets event ids (routes/hooks.ts remembered them), so that a redelivery of those events acts */
  forget: (source: string, ids: string[]) => void
  /** waits between attempts at reading the services; after the last one fails the ids are forgotten */
  retryDelaysMs?: readonly number[]
  /** is this digest quarantined for this service (DESIGN §7)? Such a push updates nothing */
  quarantined?: (serviceId: string, digest: string) => boolean
}

/** 1 s, then 4 s: a Docker hiccup passes; a daemon that stays down leaves the events to a redelivery. */
export const READ_RETRY_DELAYS_MS = [1000, 4000] as const

/**
 * Turns registry push events into updates (docs/API.md "POST /hooks/{source}"): every service that
 * runs the pushed repository and tag, carries the opt-in label and is in the credential's scope is
 * updated through its own lane, as one batch per event; a service already on the pushed digest, or
 * whose update to it is queued or running, is left alone (one restart per service and digest,
 * digests-in-flight.ts). An event is a trigger, not a pin: Docker resolves the tag when the update
 * runs. Returns at once (the hook has been answered 202); deliveries that arrive together share one
 * read of the services. If the services cannot be read, the read is tried again (READ_RETRY_DELAYS_MS),
 * and if it still fails the events' ids are forgotten, so the registry's or an operator's
 * redelivery is accepted and acts (an event answered 202 is not lost as a "duplicate").
 * Reaches the engine only through `app.engine` (issue #18).
 */
export function pushHandler (options: PushOptions): (events: PushEvent[], origin: PushOrigin) => void {
  const { engine, log, aliases, pushLabel, allowed, forget, retryDelaysMs = READ_RETRY_DELAYS_MS, quarantined = () => false } = options
  const inFlight = new DigestsInFlight()
  // Only labelled services can match: Docker filters them, so a large swarm is not inspected whole.
  const label = pushLabel.value === undefined ? pushLabel.key : `${pushLabel.key}=${pushLabel.value}`
  const reads = new SharedRead(async () => engine.listServices(label), () => inFlight.tick(), (seq) => inFlight.prune(seq))

  return (events, origin) => {
    handle(events, origin).catch((error: unknown) => log.error({ err: error, source: origin.source }, 'push events: handling failed'))
  }

  async function handle (events: PushEvent[], origin: PushOrigin): Promise<void> {
    const read = await readServices(events, origin)
    if (read === undefined) return
    const summary = new PushSummary(origin.source, events.length)
    for (const event of events) startBatch(event, origin, read, summary)
    summary.write(log)
  }

  async function readServices (events: PushEvent[], origin: PushOrigin): Promise<Read<ServiceState[]> | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await reads.get()
      } catch (error) {
        const delay = retryDelaysMs[attempt]
        if (delay === undefined) {
          forget(origin.source, events.map((e) => e.id))
          log.warn({ err: error, hook: { source: origin.source, events: events.length, attempts: attempt + 1 } },
            'push events: could not read the services; their ids are forgotten, so a redelivery acts')
          return undefined
        }
        log.warn({ err: error, hook: { source: origin.source, events: events.length, retryInMs: delay } }, 'push events: could not read the services; trying again')
        await sleep(delay, undefined, { ref: false })
      }
    }
  }

  /** The one place that decides which services an event updates, and why the others are left alone. */
  function selectServices (event: PushEvent, origin: PushOrigin, read: Read<ServiceState[]>): { behind: ServiceState[], current: Skipped } {
    const matching = read.value.filter((s) => matchesPush(s.image, event, aliases) && hasLabel(s.labels, pushLabel) && allowed(origin.services, s.name))
    const behind: ServiceState[] = []
    const current: Skipped = []
    for (const s of matching) {
      if (isOnDigest(s.image, event)) current.push({ service: s.name, reason: 'already runs the pushed digest' })
      else if (event.digest !== undefined && quarantined(s.id, event.digest)) current.push({ service: s.name, reason: 'the pushed digest is quarantined for this service (an update onto it ended rolled_back or paused)' })
      else if (event.digest !== undefined && inFlight.covers(s.id, event.digest, read.seq)) current.push({ service: s.name, reason: 'an update to the pushed digest is already queued or running' })
      else behind.push(s)
    }
    return { behind, current }
  }

  function startBatch (event: PushEvent, origin: PushOrigin, read: Read<ServiceState[]>, summary: PushSummary): void {
    const image = pushedImage(event)
    const { behind, current } = selectServices(event, origin, read)
    const { eligible, skipped } = engine.eligible(behind)
    skipped.unshift(...current)
    if (eligible.length === 0) return summary.idle(event, image, skipped)
    // docs/API.md: `hook:<source>`; the token's subject is in the audit line.
    const requestedBy = `hook:${origin.source}`
    let submitted: ReturnType<UpdateEngine['updateMany']>
    try {
      submitted = engine.updateMany(eligible, { target: { hook: `${origin.source}:${event.id}`, image }, tag: event.tag, requestedBy, trigger: 'hook', skipped })
    } catch (error) {
      return summary.refused(event, image, error)
    }
    const { batch, jobs } = submitted
    if (event.digest !== undefined) {
      const ids = new Map(eligible.map((s) => [s.name, s.id]))
      for (const job of jobs) {
        const serviceId = ids.get(job.record.service)
        if (serviceId !== undefined) inFlight.add(serviceId, job.record.updateId, event.digest, job.wait())
      }
    }
    summary.started()
    const { batchId, updateIds } = batch
    log.info({ audit: { event: 'accepted', source: origin.source, subject: origin.subject, eventId: event.id, pusher: event.pusher, batchId, updateIds, services: eligible.map((s) => s.name), skipped: batch.skipped } }, 'push event: updates started')
  }
}
