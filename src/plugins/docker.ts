import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { execFileRunner, type CommandRunner, type ExecRunnerOptions } from '../docker/runner.js'
import { spawnHelperAvailable, spawnerRunner } from '../docker/spawner.js'
import { dockerConfigPath, registryAuthCheck, type RegistryAuthCheck } from '../docker/registry-auth.js'
import { Swarm } from '../docker/swarm.js'
import { ServiceEvents } from '../docker/events.js'
import { createMemoryStore } from '../store/memory-store.js'
import { openSqliteStore } from '../store/sqlite-store.js'
import { startPruning } from '../store/pruning.js'
import type { UpdateRecord, UpdateStore } from '../store/records.js'
import { ServiceUpdater } from '../engine/updater.js'
import { Preflight } from '../engine/gates/preflight.js'
import { imagePlatforms } from '../docker/registry-platforms.js'
import type { Config } from '../config.js'
import { FreezeBoard } from '../engine/gates/freezes.js'
import { openFreezeStore } from '../store/freeze-store.js'
import type { SqliteStore } from '../store/sqlite-store.js'
import { parseDuration } from '../watch/durations.js'

declare module 'fastify' {
  interface FastifyInstance {
    updater: ServiceUpdater
    swarm: Swarm
    /** the freezes in force (given to the engine: routes reach them through app.engine) */
    freezes: FreezeBoard
  }
}

export interface DockerPluginOptions {
  config: Config
  /** replaces the Docker CLI, for unit tests of cases Docker cannot produce on demand */
  runner?: CommandRunner
  registryAuth?: RegistryAuthCheck
  store?: UpdateStore
}

/**
 * Decorates the service updater, which owns every Docker call. On close it first stops starting
 * updates and answers every waiting caller within SHUTDOWN_GRACE (preClose, so that Fastify's own
 * wait for in-flight requests ends), then stops watching and kills Docker calls still running.
 * @see ../engine/updater.ts
 */
/** The spawn helper's runner (DOCKER_SPAWN_HELPER), or calls started in the updater when it is off or missing. */
function cliRunner (app: FastifyInstance, wanted: boolean, options: ExecRunnerOptions): CommandRunner {
  if (wanted && spawnHelperAvailable()) return spawnerRunner(options)
  if (wanted) app.log.warn('the spawn helper\'s program is missing from this build: Docker CLI calls start in the updater (DOCKER_SPAWN_HELPER)')
  return execFileRunner(options)
}

async function docker (app: FastifyInstance, options: DockerPluginOptions): Promise<void> {
  const { config } = options
  const cli = { bin: config.DOCKER_BIN, dockerHost: config.DOCKER_HOST }
  const calls = new AbortController()
  const runnerOptions = { ...cli, timeoutMs: config.DOCKER_COMMAND_TIMEOUT * 1000, signal: calls.signal }
  const runner = options.runner ?? cliRunner(app, config.DOCKER_SPAWN_HELPER, runnerOptions)
  const swarm = new Swarm(runner, cli)
  // Durable records in SQLite under DATA_DIR; `:memory:` keeps them in this process only (tests).
  // A store that cannot be opened stops the start with one line (server.ts).
  const store = options.store ?? (config.DATA_DIR === ':memory:' ? createMemoryStore(config.UPDATE_HISTORY) : openSqliteStore({ dataDir: config.DATA_DIR }))
  const stopPruning = startPruning(store, {
    historyDays: config.HISTORY_DAYS,
    onError: (error) => app.log.error({ code: (error as { code?: string }).code }, `pruning old records failed: ${(error as Error).message}`)
  })
  // A fake runner (unit tests) has no events to stream: those tests poll.
  const events = config.EVENTS_STREAM && options.runner === undefined
    ? new ServiceEvents({ ...cli, log: app.log.child({ component: 'docker-events' }) })
    : undefined
  // The pre-flight (gates/preflight.ts) asks the real swarm and registry: not with a fake runner.
  const preflight = options.runner === undefined
    ? new Preflight({ nodes: async () => swarm.nodes(), platforms: async (image) => imagePlatforms(image, { dockerConfigPath: dockerConfigPath() }) })
    : undefined
  // Freezes live in the record database (migration 5), through a connection of their own.
  const freezeStore = openFreezeStore((store as Partial<SqliteStore>).file ?? ':memory:')
  const freezes = new FreezeBoard({
    store: freezeStore,
    onEvent: (event, freeze) => {
      app.log.info({ audit: { event, freezeId: freeze.freezeId, services: freeze.services, until: freeze.until, reason: freeze.reason, createdBy: freeze.createdBy } }, `freeze ${event === 'frozen' ? 'began' : 'ended'}`)
      app.notifier.notifyFreeze(event, freeze)
    }
  })
  const updater = new ServiceUpdater({
    events,
    preflight,
    freezes,
    updateWindows: config.UPDATE_WINDOWS,
    approvalTtlMs: parseDuration(config.APPROVAL_TTL)!,
    publicUrl: config.PUBLIC_URL?.replace(/\/+$/, ''),
    swarm,
    store,
    registryAuth: options.registryAuth ?? registryAuthCheck(dockerConfigPath()),
    updateTimeoutMs: config.UPDATE_TIMEOUT * 1000,
    pollIntervalMs: config.POLL_INTERVAL_MS,
    maxConcurrentUpdates: config.MAX_CONCURRENT_UPDATES,
    requiredLabel: config.UPDATE_REQUIRE_LABEL,
    selfServiceId: config.SELF_SERVICE,
    onStoreError: (error) => app.log.error({ code: (error as { code?: string }).code }, `a record could not be written: ${(error as Error).message}`),
    onChange: (record) => { if (app.hasDecorator('recordStream')) app.recordStream.publish(record) },
    onRecord: (record, event) => {
      // One audit line per outcome, also for wait:false and timed-out updates (nobody waits for those).
      const what = event === 'timeout' ? 'timed out' : event === 'parked' ? (record.status === 'held' ? 'held' : 'waits for approval') : 'finished'
      app.log.info({ audit: { event: event === 'final' ? 'finished' : event === 'parked' ? record.status : event, ...auditFields(record) } }, `update ${what}`)
      // Each Docker update is counted once, at its end; a timeout is notified when it happens too.
      if (event === 'final') app.metrics.recordUpdate(record)
      app.notifier.notify(record)
    }
  })
  app.decorate('swarm', swarm)
  app.decorate('updater', updater)
  app.decorate('freezes', freezes)
  app.addHook('onReady', async () => {
    events?.start()
    freezes.start()
    const resumed = updater.resume()
    if (resumed > 0) app.log.info({ resumed }, 'watching updates an earlier process left running')
  })
  // Answer every waiting caller a little before the process is killed at SHUTDOWN_GRACE.
  const graceMs = Math.max(config.SHUTDOWN_GRACE * 1000 - 2000, config.SHUTDOWN_GRACE * 500)
  app.addHook('preClose', async () => updater.beginShutdown(graceMs))
  app.addHook('onClose', async () => {
    await updater.close()
    await events?.stop()
    calls.abort()
    stopPruning()
    freezes.close()
    freezeStore.close()
    store.close()
  })
}

function auditFields (record: UpdateRecord): Record<string, unknown> {
  const { updateId, appName, service, previousImage, image, status, durationMs, requestedBy, batchId, message, supersededBy, warning } = record
  return { updateId, appName, service, previousImage, image, status, durationMs, requestedBy, batchId, message, supersededBy, warning }
}

export default fp(docker, { fastify: '5.x', name: 'docker', dependencies: ['metrics', 'notify'] })
