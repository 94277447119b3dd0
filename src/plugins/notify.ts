import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createNotifier, type Notifier } from '../notify/notifier.js'
import type { Config } from '../config.js'

declare module 'fastify' {
  interface FastifyInstance {
    notifier: Notifier
  }
}

/**
 * Webhook notifications of final states and timeouts (NOTIFY_URLS): delivered in the background,
 * never delaying an answer; results counted in /metrics. Closed after the update engine, so that
 * what it settles while shutting down is still sent.
 * @see ../notify/notifier.ts
 */
async function notify (app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  const notifier = createNotifier({
    targets: config.notifyTargets,
    on: config.notifyOn,
    ...(config.notifySecret !== undefined && { secret: config.notifySecret }),
    timeoutMs: config.NOTIFY_TIMEOUT,
    retries: config.NOTIFY_RETRIES,
    log: app.log.child({ component: 'notify' }),
    onResult: (target, result) => app.metrics.recordNotification(target, result)
  })
  app.decorate('notifier', notifier)
  app.addHook('onClose', async () => notifier.close())
}

export default fp(notify, { fastify: '5.x', name: 'notify', dependencies: ['metrics'] })
