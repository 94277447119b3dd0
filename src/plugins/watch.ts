import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import { dockerConfigPath } from '../docker/registry-auth.js'
import { RegistryWorker } from '../docker/registry-worker.js'
import { RegistryBudget, RequestLimiter } from '../watch/budget.js'
import { parseDuration } from '../watch/durations.js'
import { LABEL_PREFIX } from '../watch/policies.js'
import { quarantineOnFailure, RECHECK_AFTER } from '../watch/quarantine.js'
import { storeSnapshot, WatchAnnouncer } from '../watch/entry.js'
import { WatchScheduler } from '../watch/scheduler.js'
import { openWatchStore, type WatchStore } from '../watch/watch-store.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** `announce`: sends the services whose GET /watch entry changed on GET /events (`event: watch`) */
    watch: { scheduler: WatchScheduler, store: WatchStore, budget: RegistryBudget, enabled: boolean, announce: () => void }
  }
}

/**
 * The registry watcher (DESIGN §7): its store in the record database, its scheduler started in
 * onReady and stopped in onClose. It reaches Docker and the updater only through the engine
 * (`app.engine`): one listing per tick, decisions submitted like any request (`trigger: "watch"`,
 * `requestedBy: "watch"`, a `reason`), and every final record seen so that an update that ends
 * `rolled_back` or `paused`, whoever asked for it, quarantines its digest (../watch/quarantine.ts).
 * @see docs/WATCH.md
 */
async function watch (app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  const intervalMs = parseDuration(config.WATCH_INTERVAL)!
  const timeoutMs = parseDuration(config.WATCH_TIMEOUT)!
  const store = openWatchStore(app.engine.storeFile)
  const budget = new RegistryBudget({ maxBackoffMs: intervalMs })
  const log = app.log.child({ component: 'watch' })
  // The registry requests run in a thread of their own, off the event loop that answers HTTP.
  const registry = new RegistryWorker({ dockerConfigPath: dockerConfigPath(), timeoutMs, onThreadError: (error) => log.error({ err: error }, 'watch: the registry client thread failed') })
  /** the service and digest of each update the watcher started (Docker's own answer is preferred) */
  const submitted = new Map<string, { serviceId: string, digest: string }>()
  // GET /events: a service's entry is sent when what it shows changes (not at every cycle).
  const announcer = new WatchAnnouncer((entry) => { if (app.hasDecorator('recordStream')) app.recordStream.publishWatch(entry) },
    { views: () => scheduler.views(), store: () => storeSnapshot(store, (id) => scheduler.lastCheck(id)) })
  const announce = (): void => {
    announcer.announce().catch((error: unknown) => log.warn({ reason: (error as Error).message }, 'watch: state changes not announced'))
  }
  // Forward reference: the quarantine below, which the scheduler asks before deciding.
  let settling = (_service: string): boolean => false
  const scheduler = new WatchScheduler({
    store,
    budget,
    limiter: new RequestLimiter(config.WATCH_CONCURRENCY),
    checkDigest: async (image) => await registry.checkDigest(image),
    listTags: async (image) => await registry.listTags(image),
    defaultScheduleMs: intervalMs,
    settling: (service) => settling(service.name),
    listServices: () => app.engine.listServices(`${LABEL_PREFIX}watch`),
    submit: (service, tag, reason, digest) => {
      const { record } = app.engine.update(service, { appName: service.name, tag, requestedBy: 'watch', trigger: 'watch', reason })
      submitted.set(record.updateId, { serviceId: service.id, digest })
      log.info({ service: service.name, updateId: record.updateId, reason }, 'watch: update submitted')
      return record
    },
    notifyAvailable: (service, image, reason, digest) => {
      log.info({ service: service.name, image, reason }, 'watch: update available')
      app.notifier.notifyWatch({ event: 'available', service: service.name, image, digest, reason, at: new Date().toISOString() })
    },
    onCycle: (views, durationMs) => log.debug({ services: views.length, durationMs }, 'watch: cycle'),
    onListed: () => announce(),
    onError: (error) => log.warn({ reason: (error as Error).message }, 'watch: listing failed; next try at the next tick')
  })
  const quarantine = quarantineOnFailure({
    store,
    failedDigest: async (record) => await app.engine.failedDigest(record).catch(() => undefined) ?? submitted.get(record.updateId),
    // Every update of a watched service that ends is followed by a check of it: GET /watch tells
    // the outcome (up to date, quarantined) now, not at its next scheduled check.
    settled: (record) => {
      submitted.delete(record.updateId)
      if (config.WATCH && RECHECK_AFTER.has(record.status)) scheduler.recheck(record.service)
    },
    onQuarantine: (q, record) => {
      log.warn({ service: q.service, updateId: q.updateId, digest: q.digest }, 'watch: digest quarantined')
      announce()
      app.notifier.notifyWatch({ event: 'quarantined', service: q.service, image: record.targetImage ?? record.image ?? '', digest: q.digest, reason: record.message ?? record.status, updateId: q.updateId, at: new Date(q.sinceMs).toISOString() })
    },
    onError: (error) => log.error({ err: error }, 'watch: quarantine not recorded')
  })
  settling = quarantine.settling
  app.engine.onRecord(quarantine.listener)
  // An explicit POST /update of a service is a person's or a pipeline's decision: it lifts the quarantine.
  app.engine.onExplicitUpdate((service) => {
    try {
      if (store.lift(service.id)) {
        log.info({ service: service.name }, 'watch: quarantine lifted by an explicit update')
        announce()
      }
    } catch (error) {
      log.error({ err: error }, 'watch: quarantine not lifted')
    }
  })
  // New, removed and relabelled services: a listing soon after the event (else at the next tick).
  app.engine.onServicesChanged(() => { if (config.WATCH) scheduler.relist() })
  app.decorate('watch', { scheduler, store, budget, enabled: config.WATCH, announce })
  app.addHook('onReady', async () => { if (config.WATCH) scheduler.start() })
  app.addHook('onClose', async () => {
    await scheduler.stop()
    // The registry thread first: a request hung on a registry ends now, before the store its answer would reach.
    await registry.close()
    store.close()
  })
}

export default fp(watch, { fastify: '5.x', name: 'watch', dependencies: ['docker', 'notify'] })
