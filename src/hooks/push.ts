import type { FastifyBaseLogger } from 'fastify'
import { hasPushLabel, isOnDigest, matchesPush, pushedImage, type PushEvent, type PushOrigin, type RegistryAliases } from './events.js'
import type { ServiceState, Swarm } from '../docker/swarm.js'
import { byRequiredLabel, submitBatch } from '../engine/batch.js'
import type { StoredBatch } from '../store/records.js'
import type { ServiceUpdater } from '../engine/updater.js'

export interface PushOptions {
  swarm: Swarm
  updater: ServiceUpdater
  log: FastifyBaseLogger
  aliases: RegistryAliases
  pushLabel: { key: string, value: string | undefined }
  /** may a credential with this scope update this service? (the token's `services` claim) */
  allowed: (scope: string[] | undefined, service: string) => boolean
  /** is this digest quarantined for this service (DESIGN §7)? Such a push updates nothing */
  quarantined?: (serviceId: string, digest: string) => boolean
}

/**
 * Turns registry push events into updates (docs/API.md "POST /hooks/{source}"): every service that
 * runs the pushed repository and tag, carries the opt-in label and is in the credential's scope is
 * updated through its own lane, as one batch per event; a service already on the pushed digest is
 * left alone. An event is a trigger, not a pin: Docker resolves the tag when the update runs.
 * Returns at once; the hook has been answered 202.
 */
export function pushHandler (options: PushOptions): (events: PushEvent[], origin: PushOrigin) => void {
  const { swarm, updater, log, aliases, pushLabel, allowed, quarantined = () => false } = options
  return (events, origin) => {
    const run = async (): Promise<void> => {
      // One read of the swarm per delivery, however many events it carries.
      const services = await swarm.listServices()
      for (const event of events) startBatch(event, origin, services)
    }
    run().catch((error: unknown) => log.warn({ err: error, source: origin.source }, 'push event: could not read the services'))
  }

  function startBatch (event: PushEvent, origin: PushOrigin, services: ServiceState[]): void {
    const image = pushedImage(event)
    const matching = services.filter((s) => matchesPush(s.image, event, aliases) && hasPushLabel(s.labels, pushLabel) && allowed(origin.services, s.name))
    const behind: ServiceState[] = []
    const current: Array<{ service: string, reason: string }> = []
    for (const s of matching) {
      if (isOnDigest(s.image, event)) current.push({ service: s.name, reason: 'already runs the pushed digest' })
      else if (event.digest !== undefined && quarantined(s.id, event.digest)) current.push({ service: s.name, reason: 'the pushed digest is quarantined for this service (an update onto it ended rolled_back or paused)' })
      else behind.push(s)
    }
    const { eligible, skipped } = byRequiredLabel(updater, behind)
    skipped.unshift(...current)
    if (eligible.length === 0) {
      log.info({ hook: { source: origin.source, eventId: event.id, image, skipped } }, 'push event: nothing to update')
      return
    }
    // docs/API.md: `hook:<source>`; the token's subject is in the audit line.
    const requestedBy = `hook:${origin.source}`
    let batch: StoredBatch
    try {
      batch = submitBatch(updater, eligible, { target: { hook: `${origin.source}:${event.id}`, image }, tag: event.tag, requestedBy, trigger: 'hook', skipped }).batch
    } catch (error) {
      log.warn({ err: error, hook: { source: origin.source, eventId: event.id, image } }, 'push event: no update could be started')
      return
    }
    const { batchId, updateIds } = batch
    log.info({ audit: { event: 'accepted', source: origin.source, subject: origin.subject, eventId: event.id, pusher: event.pusher, batchId, updateIds, services: eligible.map((s) => s.name), skipped: batch.skipped } }, 'push event: updates started')
  }
}
