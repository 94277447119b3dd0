import { realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import closeWithGrace from 'close-with-grace'
import type { FastifyServerOptions } from 'fastify'
import { buildApp } from './app.js'
import { ConfigError, loadConfig, type Config } from './config.js'

/** pino options: JSON, pretty only on a TTY, and no credentials in any line. */
export function loggerOptions (config: Config, isTTY = process.stdout.isTTY === true): FastifyServerOptions['logger'] {
  return {
    level: config.LOG_LEVEL,
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization'], censor: '[redacted]' },
    ...(isTTY && { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:standard' } } })
  }
}

/** The process: configuration → app → listen, and a graceful close on SIGTERM/SIGINT. */
export async function startServer (env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let config: Config
  try {
    config = loadConfig(env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`container-updater: ${error.message}\n`)
    process.exit(1)
  }
  const app = await buildApp(config, { logger: loggerOptions(config) })

  // In-flight requests keep their real answer (new ones get 503 from Fastify while closing),
  // bounded by SHUTDOWN_GRACE; then the process exits 0.
  closeWithGrace({ delay: config.SHUTDOWN_GRACE * 1000 }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'closing after an unexpected error')
    else app.log.info({ signal }, 'shutting down')
    await app.close()
  })

  await app.listen({ port: config.PORT, host: config.HOST })
  // Say at once, in one line, what stops the updater from working (e.g. the socket's group id).
  app.updater.checkReady().then(
    () => app.log.info('Docker reachable; this node is a Swarm manager'),
    (error: Error) => app.log.warn({ code: (error as { code?: string }).code }, `not ready: ${error.message}`)
  )
}

function isMain (): boolean {
  const entry = process.argv[1]
  if (entry === undefined) return false
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href
  } catch {
    return false
  }
}

if (isMain()) {
  startServer().catch((error: unknown) => {
    process.stderr.write(`container-updater: cannot start: ${(error as Error).message}\n`)
    process.exit(1)
  })
}
