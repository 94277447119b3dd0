import fp from 'fastify-plugin'
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions, HookHandlerDoneFunction } from 'fastify'
import { redactRequestUrl } from '../hooks/redact.js'

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'
type LogFn = (...args: unknown[]) => void
type Parent = FastifyBaseLogger & { isLevelEnabled?: (level: string) => boolean }

/**
 * A request's logger that makes its pino child (with the request id) only when a line is written.
 * Fastify makes one child per request; pino's child() copies bindings and serializers, which a
 * flood of refused requests (logged at debug, off by default) pays for and never uses.
 */
class LazyChild {
  readonly #parent: Parent
  readonly #bindings: Record<string, unknown>
  #child: FastifyBaseLogger | undefined

  constructor (parent: Parent, bindings: Record<string, unknown>) {
    this.#parent = parent
    this.#bindings = bindings
  }

  #made (): FastifyBaseLogger {
    this.#child ??= this.#parent.child(this.#bindings)
    return this.#child
  }

  get level (): string { return (this.#child ?? this.#parent).level }
  set level (level: string) { this.#made().level = level }
  get silent (): LogFn { return this.#parent.silent as LogFn }

  isLevelEnabled (level: string): boolean {
    const logger = (this.#child ?? this.#parent) as Parent
    return logger.isLevelEnabled?.(level) ?? true
  }

  #write (level: Level, args: unknown[]): void {
    if (!this.isLevelEnabled(level)) return
    (this.#made()[level] as LogFn)(...args)
  }

  fatal (...args: unknown[]): void { this.#write('fatal', args) }
  error (...args: unknown[]): void { this.#write('error', args) }
  warn (...args: unknown[]): void { this.#write('warn', args) }
  info (...args: unknown[]): void { this.#write('info', args) }
  debug (...args: unknown[]): void { this.#write('debug', args) }
  trace (...args: unknown[]): void { this.#write('trace', args) }
  child (bindings: Record<string, unknown>, options?: object): FastifyBaseLogger {
    return (this.#made().child as (b: object, o?: object) => FastifyBaseLogger)(bindings, options)
  }
}

/**
 * Fastify's childLoggerFactory: a lazy child (above), or pino's own child at once when the route
 * sets a log level or serializers of its own.
 */
export const lazyChildLogger: NonNullable<FastifyServerOptions['childLoggerFactory']> = function (logger, bindings, options) {
  if (options.level !== undefined || options.serializers !== undefined) return logger.child(bindings, options)
  return new LazyChild(logger as Parent, bindings) as unknown as FastifyBaseLogger
}

/**
 * The one onResponse hook: the request's HTTP metrics (by route pattern) and its access line.
 * Synchronous, and the line is built only when its level is enabled.
 */
async function accessLog (app: FastifyInstance): Promise<void> {
  app.addHook('onResponse', function onResponse (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    // The route pattern, never the raw URL: unknown paths must not create unbounded label values.
    app.metrics.recordHttp(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000)
    // Refused authentications are counted in /metrics and only logged at debug: a flood of bad
    // tokens must not become a flood of log lines (the auth plugin warns once per limited address).
    const level = request.authFailure !== undefined ? 'debug' : 'info'
    if ((request.log as Parent).isLevelEnabled?.(level) !== false) {
      request.log[level]({
        method: request.method,
        // Path only: a query string may carry a token, and a Docker Hub hook's path is its credential.
        url: redactRequestUrl(request.url, request.routeOptions.url),
        statusCode: reply.statusCode,
        responseTime: Math.round(reply.elapsedTime * 10) / 10,
        client: request.ip,
        ...(request.authFailure !== undefined && { authFailure: request.authFailure })
      }, 'request completed')
    }
    done()
  })
}

export default fp(accessLog, { fastify: '5.x', name: 'access-log', dependencies: ['metrics', 'auth'] })
