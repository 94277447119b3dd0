import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { UpdateRecord } from '../store/records.js'
import { formatNotification, type NotificationMessage } from './format.js'
import { NOTIFY_EVENTS, type FreezeEvent, type NotifyEvent, type NotifyTarget } from './targets.js'
import { formatFreezeNotification, type FreezeNotice } from './freeze-format.js'
import { formatWatchNotice, type WatchNotice } from './watch-format.js'
import { attemptDelivery, retryDelay } from './attempt.js'

/** The slice of a pino logger the notifier uses (a Fastify or pino logger fits). */
export interface NotifyLog {
  warn: (obj: object, msg: string) => void
  debug: (obj: object, msg: string) => void
}

export type NotifyResult = 'delivered' | 'failed' | 'retried'

export interface NotifierOptions {
  targets: readonly NotifyTarget[]
  /** the states and watch events to notify (NOTIFY_ON); default all of NOTIFY_EVENTS */
  on?: Iterable<NotifyEvent>
  /** NOTIFY_SECRET: signs json bodies */
  secret?: string
  /** per attempt, connection to end of answer */
  timeoutMs?: number
  /** attempts after the first one, on network errors, timeouts, 5xx and 429 */
  retries?: number
  /** the first retry waits about this long, each next one twice as long (with jitter) */
  backoffMs?: number
  /** the longest wait between attempts, a receiver's Retry-After included */
  maxBackoffMs?: number
  /** notifications waiting per target; beyond it the oldest is dropped and counted as failed */
  maxPending?: number
  /** how long close() lets deliveries run before it aborts them */
  closeTimeoutMs?: number
  log: NotifyLog
  /** one call per delivered or failed notification and per retry; `target` is the redacted label */
  onResult?: (target: string, result: NotifyResult) => void
  fetch?: typeof fetch
  /** in [0, 1): the jitter source (tests pass a fixed one) */
  random?: () => number
}

export interface Notifier {
  /** Queues the record for every target if its status is in NOTIFY_ON. Never throws, never waits. */
  notify: (record: UpdateRecord) => void
  /** Queues a freeze's beginning or end for every target if the event is in NOTIFY_ON. */
  notifyFreeze: (event: FreezeEvent, freeze: FreezeNotice) => void
  /** Queues a watch event (`available`, `quarantined`) if NOTIFY_ON names it. Never throws, never waits. */
  notifyWatch: (notice: WatchNotice) => void
  /** Stops taking notifications; waits for queued ones up to closeTimeoutMs, then aborts the rest. */
  close: () => Promise<void>
}

interface Delivery {
  message: NotificationMessage
  updateId: string
  status: string
}

interface Lane {
  target: NotifyTarget
  queue: Delivery[]
  /** the drain loop while it runs */
  running?: Promise<void>
}

/**
 * Sends update records to webhooks (DESIGN §6). Each target has its own queue worked in order, so
 * a receiver sees a `timeout` before the real end of the same update, and a dead receiver delays
 * nobody else. Delivery runs in the background: the caller's answer never waits for it.
 */
export function createNotifier (options: NotifierOptions): Notifier {
  const {
    targets, secret, log, onResult = () => {},
    timeoutMs = 5000, retries = 3, backoffMs = 500, maxBackoffMs = 30_000,
    maxPending = 1000, closeTimeoutMs = 3000, random = Math.random
  } = options
  const fetchFn = options.fetch ?? globalThis.fetch
  const on = new Set<string>(options.on ?? NOTIFY_EVENTS)
  const lanes: Lane[] = targets.map((target) => ({ target, queue: [] }))
  // Aborted by close() once its grace is over: cuts in-flight requests and backoff waits short.
  const shutdown = new AbortController()
  let closed = false

  const report = (lane: Lane, result: NotifyResult): void => {
    try {
      onResult(lane.target.label, result)
    } catch (error) {
      log.warn({ target: lane.target.label, err: (error as Error).message }, 'notification result hook failed')
    }
  }

  const fail = (lane: Lane, delivery: Delivery, attempts: number, reason: string): void => {
    report(lane, 'failed')
    log.warn({ target: lane.target.label, updateId: delivery.updateId, status: delivery.status, attempts, reason: scrub(reason, lane.target) }, 'notification not delivered')
  }

  async function deliver (lane: Lane, delivery: Delivery): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await attemptDelivery(fetchFn, lane.target, delivery.message, timeoutMs, shutdown.signal)
      if (outcome.kind === 'delivered') {
        report(lane, 'delivered')
        log.debug({ target: lane.target.label, updateId: delivery.updateId, status: delivery.status, attempts: attempt }, 'notification delivered')
        return
      }
      if (outcome.kind === 'final' || attempt > retries || shutdown.signal.aborted) {
        fail(lane, delivery, attempt, outcome.reason)
        return
      }
      report(lane, 'retried')
      log.debug({ target: lane.target.label, updateId: delivery.updateId, attempt, reason: scrub(outcome.reason, lane.target) }, 'notification will be retried')
      try {
        await sleep(retryDelay(attempt, backoffMs, maxBackoffMs, outcome.retryAfterMs, random), undefined, { signal: shutdown.signal })
      } catch {
        fail(lane, delivery, attempt, `${outcome.reason}; not retried: the updater is shutting down`)
        return
      }
    }
  }

  async function drain (lane: Lane): Promise<void> {
    // Yield first: `lane.running` must be assigned before this loop can end and clear it.
    await Promise.resolve()
    for (let delivery = lane.queue.shift(); delivery !== undefined; delivery = lane.queue.shift()) {
      if (shutdown.signal.aborted) {
        fail(lane, delivery, 0, 'the updater shut down before it could be sent')
        continue
      }
      try {
        await deliver(lane, delivery)
      } catch (error) {
        // attemptDelivery catches what fetch throws; this is a bug guard that keeps the lane alive.
        fail(lane, delivery, 0, (error as Error).message)
      }
    }
    lane.running = undefined
  }

  function enqueue (lane: Lane, delivery: Delivery): void {
    if (lane.queue.length >= maxPending) {
      const dropped = lane.queue.shift()!
      fail(lane, dropped, 0, `dropped: more than ${maxPending} notifications waiting for this target`)
    }
    lane.queue.push(delivery)
    lane.running ??= drain(lane)
  }

  /** One notification to every target; `id` names it in logs (an updateId or a freezeId). */
  const send = (id: string, status: string, format: (target: NotifyTarget, deliveryId: string) => NotificationMessage): void => {
    try {
      if (!on.has(status)) return
      const deliveryId = randomUUID()
      for (const lane of lanes) {
        const delivery = { message: format(lane.target, deliveryId), updateId: id, status }
        if (closed) fail(lane, delivery, 0, 'the notifier is closed')
        else enqueue(lane, delivery)
      }
    } catch (error) {
      // A notification must never break the update that caused it.
      log.warn({ updateId: id, err: (error as Error).message }, 'notification could not be prepared')
    }
  }

  return {
    notify (record) {
      send(record?.updateId, record?.status, (target, deliveryId) => formatNotification(target.format, record, deliveryId, secret))
    },

    notifyFreeze (event, freeze) {
      send(freeze.freezeId, event, (target, deliveryId) => formatFreezeNotification(target.format, event, freeze, deliveryId, secret))
    },

    notifyWatch (notice) {
      send(notice.updateId ?? '', notice.event, (target, deliveryId) => formatWatchNotice(target.format, notice, deliveryId, secret))
    },

    async close () {
      closed = true
      const idle = (): Promise<unknown> => Promise.all(lanes.map((lane) => lane.running))
      const grace = new AbortController()
      const settled = await Promise.race([
        idle().then(() => true),
        sleep(closeTimeoutMs, false, { signal: grace.signal }).catch(() => false)
      ])
      grace.abort()
      if (!settled) {
        shutdown.abort()
        await idle()
      }
    }
  }
}

/**
 * Belt and braces: an error message that quotes the request URL (undici's do for some failures)
 * must not carry the webhook's secret path into a log line.
 */
function scrub (reason: string, target: NotifyTarget): string {
  const { href, pathname, search } = target.url
  let text = reason.split(href).join(target.label)
  if (pathname.length > 1) text = text.split(pathname).join('/[redacted]')
  if (search.length > 1) text = text.split(search).join('?[redacted]')
  return text
}
