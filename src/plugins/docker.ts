import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { execFileRunner, type CommandRunner } from '../docker/cli.js'
import { dockerConfigPath, registryAuthCheck, type RegistryAuthCheck } from '../docker/registry-auth.js'
import { Swarm } from '../docker/swarm.js'
import { ServiceUpdater, type UpdateRecord } from '../docker/updater.js'
import type { Config } from '../config.js'

declare module 'fastify' {
  interface FastifyInstance {
    updater: ServiceUpdater
  }
}

export interface DockerPluginOptions {
  config: Config
  /** replaces the Docker CLI, for unit tests of cases Docker cannot produce on demand */
  runner?: CommandRunner
  registryAuth?: RegistryAuthCheck
  onSettled?: (record: UpdateRecord) => void
}

/**
 * Decorates the service updater, which owns every Docker call, and lets running updates finish
 * when the app closes.
 * @see ../docker/updater.ts
 */
async function docker (app: FastifyInstance, options: DockerPluginOptions): Promise<void> {
  const { config } = options
  const cli = { bin: config.DOCKER_BIN, dockerHost: config.DOCKER_HOST }
  const runner = options.runner ?? execFileRunner({ ...cli, timeoutMs: config.DOCKER_COMMAND_TIMEOUT * 1000 })
  const updater = new ServiceUpdater({
    swarm: new Swarm(runner, cli),
    registryAuth: options.registryAuth ?? registryAuthCheck(dockerConfigPath()),
    updateTimeoutMs: config.UPDATE_TIMEOUT * 1000,
    pollIntervalMs: config.POLL_INTERVAL_MS,
    maxConcurrentUpdates: config.MAX_CONCURRENT_UPDATES,
    historySize: config.UPDATE_HISTORY,
    requiredLabel: config.UPDATE_REQUIRE_LABEL,
    ...(options.onSettled !== undefined && { onSettled: options.onSettled })
  })
  app.decorate('updater', updater)
  app.addHook('onClose', async () => updater.close())
}

export default fp(docker, { fastify: '5.x', name: 'docker' })
