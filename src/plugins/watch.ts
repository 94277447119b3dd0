import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import { dockerConfigPath } from '../docker/registry-auth.js'
import { checkTagDigest } from '../docker/registry-digest.js'
import { TokenCache } from '../docker/registry-session.js'
import { listTags } from '../docker/registry-tags.js'
import type { SqliteStore } from '../store/sqlite-store.js'
import { RegistryBudget, RequestLimiter } from '../watch/budget.js'
import { parseDuration } from '../watch/durations.js'
import { LABEL_PREFIX } from '../watch/policies.js'
import { WatchScheduler } from '../watch/scheduler.js'
import { openWatchStore, type WatchStore } from '../watch/watch-store.js'

declare module 'fastify' {
  interface FastifyInstance {
    watch: { scheduler: WatchScheduler, store: WatchStore, budget: RegistryBudget, enabled: boolean }
  }
}

/**
 * The registry watcher (DESIGN §7): its store in the record database, its scheduler started in
 * onReady and stopped in onClose. Decisions go to the engine like any request (`requestedBy:
 * "watch"`); an update it started that ends `rolled_back` or `paused` quarantines its digest.
 * @see docs/WATCH.md
 */
async function watch (app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  const intervalMs = parseDuration(config.WATCH_INTERVAL)!
  const timeoutMs = parseDuration(config.WATCH_TIMEOUT)!
  const file = (app.updater.store as Partial<SqliteStore>).file ?? ':memory:'
  const store = openWatchStore(file)
  const budget = new RegistryBudget({ maxBackoffMs: intervalMs })
  const tokens = new TokenCache()
  const log = app.log.child({ component: 'watch' })
  const registry = { dockerConfigPath: dockerConfigPath(), timeoutMs, tokens }
  const scheduler = new WatchScheduler({
    store,
    budget,
    limiter: new RequestLimiter(config.WATCH_CONCURRENCY),
    checkDigest: (image) => checkTagDigest(image, registry),
    listTags: (image) => listTags(image, registry),
    defaultScheduleMs: intervalMs,
    listServices: () => app.swarm.listServices(`${LABEL_PREFIX}watch`),
    submit: (service, tag, reason, digest) => {
      const { record, wait } = app.updater.submit(service, { appName: service.name, tag, requestedBy: 'watch', trigger: 'watch' })
      log.info({ service: service.name, updateId: record.updateId, reason }, 'watch: update submitted')
      wait().then(({ record: end }) => {
        if (end.status !== 'rolled_back' && end.status !== 'paused') return
        store.quarantine({ serviceId: service.id, service: service.name, digest, updateId: end.updateId, sinceMs: Date.now() })
        log.warn({ service: service.name, updateId: end.updateId, digest }, 'watch: digest quarantined')
      }).catch((error: unknown) => log.error({ err: error }, 'watch: quarantine not recorded'))
    },
    notifyAvailable: (service, image, reason) => log.info({ service: service.name, image, reason }, 'watch: update available'),
    onCycle: (views, durationMs) => log.debug({ services: views.length, durationMs }, 'watch: cycle'),
    onError: (error) => log.warn({ reason: (error as Error).message }, 'watch: listing failed; next try at the next tick')
  })
  app.decorate('watch', { scheduler, store, budget, enabled: config.WATCH })
  app.addHook('onReady', async () => { if (config.WATCH) scheduler.start() })
  app.addHook('onClose', async () => {
    await scheduler.stop()
    store.close()
  })
}

export default fp(watch, { fastify: '5.x', name: 'watch', dependencies: ['docker'] })
