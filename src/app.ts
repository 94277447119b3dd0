import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import authPlugin from './plugins/auth.js'
import { trustProxyOption } from './auth/trust-proxy.js'
import accessLogPlugin, { lazyChildLogger } from './plugins/access-log.js'
import dockerPlugin from './plugins/docker.js'
import metricsPlugin from './plugins/metrics.js'
import notifyPlugin from './plugins/notify.js'
import eventsPlugin from './plugins/events.js'
import eventsRoutes from './routes/events.js'
import uiRoutes from './routes/ui.js'
import watchPlugin from './plugins/watch.js'
import hookRoutes, { type HooksOptions } from './routes/hooks.js'
import type { PushEvent, PushOrigin } from './hooks/events.js'
import { pushHandler } from './hooks/push.js'
import { DeliveryLog } from './hooks/deliveries.js'
import { openDeliveryStore } from './hooks/delivery-store.js'
import { UpdateEngine } from './engine/engine.js'
import { serviceAllowed } from './auth/scope.js'
import healthRoutes from './routes/health.js'
import updateRoutes from './routes/update.js'
import rollbackRoutes from './routes/rollback.js'
import updatesRoutes from './routes/updates.js'
import watchRoutes from './routes/watch.js'
import freezeRoutes from './routes/freezes.js'
import approvalRoutes from './routes/approvals.js'
import whoamiRoutes from './routes/whoami.js'
import { sharedSchemas } from './schemas/update.js'
import { FreezeList, FreezeSchema } from './schemas/freezes.js'
import { answerCodes, errorBody, type ErrorExtras } from './errors.js'
import { redactRequestUrl } from './hooks/redact.js'
import type { CommandRunner } from './docker/runner.js'
import type { RegistryAuthCheck } from './docker/registry-auth.js'
import type { Config } from './config.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** what the routes ask of the engine (resolve, update, updateMany, plan): they reach Docker only through it */
    engine: UpdateEngine
  }
}

export interface AppOptions {
  logger?: FastifyServerOptions['logger']
  loggerInstance?: FastifyServerOptions['loggerInstance']
  /** replaces the Docker CLI (unit tests only) */
  runner?: CommandRunner
  registryAuth?: RegistryAuthCheck
  /** replaces the update engine's handling of push events (route tests of the hooks only) */
  onPush?: (events: PushEvent[], origin: PushOrigin) => void
  /** hook options beyond the configuration (route tests only) */
  hooks?: Partial<HooksOptions>
}

const requestIdRe = /^[A-Za-z0-9._:-]{1,128}$/

/** The caller's X-Request-Id when it is a sane one, else a new UUID. */
function requestIdOf (req: IncomingMessage): string {
  const given = req.headers['x-request-id']
  return typeof given === 'string' && requestIdRe.test(given) ? given : randomUUID()
}

/**
 * Builds the whole service: every plugin and route is registered here, in order, so this file
 * shows what the service is made of. `server.ts` owns the process around it.
 */
export async function buildApp (config: Config, options: AppOptions = {}): Promise<FastifyInstance> {
  const logs = options.loggerInstance !== undefined || (options.logger ?? false) !== false
  const app = Fastify({
    ...(options.loggerInstance !== undefined ? { loggerInstance: options.loggerInstance } : { logger: options.logger ?? false }),
    // A request's child logger is made when it writes a line, not for every request (access-log.ts).
    ...(logs && { childLoggerFactory: lazyChildLogger }),
    // A body is three small fields; anything larger is not a request for us (413).
    bodyLimit: 4096,
    // request.ip is Fastify's, with TRUST_PROXY as its trustProxy option.
    trustProxy: trustProxyOption(config.TRUST_PROXY),
    // docs/API.md: keep-alive connections are closed after their response on shutdown, or close()
    // waits for this timeout.
    keepAliveTimeout: 72_000,
    // Waited updates take minutes: the request is received quickly, the answer comes late.
    requestTimeout: 0,
    // One access line per request, written when it completes (plugins/access-log.ts), instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestIdOf,
    // Fastify's own 414 and bad-URL 400 quote the whole path, which may hold the Docker Hub hook's
    // token: answered here, in our error body, with the path redacted (hooks/redact.ts).
    frameworkErrors: (error, request, reply) => {
      const status = error.statusCode ?? 400
      const message = `${redactRequestUrl(request.url)}: ${status === 414 ? 'a path parameter is too long' : 'the URL is malformed'}`
      const answer = reply as unknown as FastifyReply
      answer.code(status).send(errorBody(status, message, error.code))
    },
    // Fastify's defaults are too lenient for the contract: no dropping of unknown properties, no
    // type coercion ("123" stays a string, 123 is not a name).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false } }
  })
  // Only JSON bodies: text/plain is answered 415 like every other content type.
  app.removeContentTypeParser('text/plain')
  for (const schema of [...sharedSchemas, FreezeSchema, FreezeList]) app.addSchema(schema)

  // While closing, in-flight requests still get their real answer, and their keep-alive
  // connections are closed after it; otherwise close() would wait for the keep-alive timeout.
  let closing = false
  app.addHook('preClose', async () => { closing = true })
  // Synchronous: every answer passes here, a flood of refusals included.
  app.addHook('onSend', function requestIdHeader (request, reply, payload, done): void {
    reply.header('x-request-id', request.id)
    if (closing) reply.header('connection', 'close')
    done(null, payload)
  })

  app.setErrorHandler((error: FastifyError & ErrorExtras, request, reply) => {
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500
    const ours = typeof error.code === 'string' && (error.code.startsWith('CU_') || error.code.startsWith('FST_'))
    if (status >= 500) request.log.error({ err: error }, 'request failed')
    else request.log.info({ code: error.code, statusCode: status, reason: error.message }, 'request rejected')
    if (error.headers !== undefined) reply.headers(error.headers)
    // Only our own messages are shown for 5xx; anything unexpected is logged, not told.
    const message = status < 500 || ours ? error.message : 'Internal Server Error'
    const body = errorBody(status, message, typeof error.code === 'string' && (ours || status < 500) ? error.code : undefined)
    // Our refusals may say more (a 423's opensAt, the freeze): their schemas name these fields.
    return reply.code(status).send(ours && error.details !== undefined ? { ...error.details, ...body } : body)
  })

  app.setNotFoundHandler((request, reply) => reply.code(404).send(
    errorBody(404, `Route ${request.method} ${redactRequestUrl(request.url)} not found`, answerCodes.routeNotFound)))

  await app.register(swagger, {
    openapi: {
      info: { title: 'Container Updater', version: '0.1.0', description: 'Roll a Docker Swarm service onto its newest image' },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } }
    }
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })

  await app.register(metricsPlugin)
  await app.register(authPlugin, { config, onFailure: (reason) => app.metrics.recordAuthFailure(reason) })
  // The one onResponse hook: HTTP metrics and the access line.
  await app.register(accessLogPlugin)
  await app.register(notifyPlugin, { config })
  await app.register(eventsPlugin)
  await app.register(dockerPlugin, {
    config,
    ...(options.runner !== undefined && { runner: options.runner }),
    ...(options.registryAuth !== undefined && { registryAuth: options.registryAuth })
  })

  app.decorate('engine', new UpdateEngine(app.updater, app.swarm, app.freezes))
  await app.register(healthRoutes)
  await app.register(updateRoutes)
  await app.register(rollbackRoutes)
  await app.register(updatesRoutes)
  await app.register(approvalRoutes)
  await app.register(freezeRoutes)
  await app.register(eventsRoutes)
  await app.register(whoamiRoutes)
  await app.register(uiRoutes)
  await app.register(watchPlugin, { config })
  await app.register(watchRoutes)
  // Handled event ids, in the record database (migrated by the docker plugin) so that a redelivery
  // after a restart is still a duplicate; in memory with DATA_DIR=:memory:.
  const deliveries = app.engine.storeFile === ':memory:'
    ? new DeliveryLog(options.hooks?.deliveries)
    : openDeliveryStore(app.engine.storeFile, options.hooks?.deliveries)
  app.addHook('onClose', async () => deliveries.close())
  app.decorate('onPush', options.onPush ?? pushHandler({
    engine: app.engine,
    forget: (source, ids) => deliveries.forget(source, ids),
    log: app.log.child({ component: 'hooks' }),
    aliases: config.registryAliases,
    pushLabel: config.pushLabel,
    // A hook's authority: its credential's scope (if any) and the opt-in label. JWT_REQUIRE_SCOPE is
    // enforced on the bearer hooks by routes/hooks.ts; GitHub, Gitea, Docker Hub and Quay deliveries carry no token of ours.
    allowed: (services, name) => services === undefined || serviceAllowed(services, name),
    quarantined: (serviceId, digest) => app.watch.store.getQuarantine(serviceId)?.digest === digest
  }))
  await app.register(hookRoutes, {
    githubSecret: config.GITHUB_WEBHOOK_SECRET,
    githubRegistryHost: config.GITHUB_REGISTRY_HOST,
    dockerhubToken: config.DOCKERHUB_WEBHOOK_TOKEN,
    giteaSecret: config.GITEA_WEBHOOK_SECRET,
    quayToken: config.QUAY_WEBHOOK_TOKEN,
    memory: deliveries,
    ...options.hooks
  })

  return app
}
