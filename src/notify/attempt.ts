import type { NotificationMessage } from './format.js'
import type { NotifyTarget } from './targets.js'

/** One POST to a receiver and what it means for the next step. */
export type AttemptOutcome =
  | { kind: 'delivered' }
  | { kind: 'retry', reason: string, retryAfterMs?: number }
  | { kind: 'final', reason: string }

/**
 * Sends the message once. Never throws: every failure becomes an outcome. Network errors,
 * timeouts, 5xx and 429 are worth another attempt; other answers will not change on a retry.
 * @param timeoutMs from the request to the end of the answer's headers
 * @param shutdown aborts the attempt when the notifier closes
 */
export async function attemptDelivery (fetchFn: typeof fetch, target: NotifyTarget, message: NotificationMessage, timeoutMs: number, shutdown: AbortSignal): Promise<AttemptOutcome> {
  const controller = new AbortController()
  const timeout = AbortSignal.timeout(timeoutMs)
  const abort = (): void => controller.abort()
  // Not AbortSignal.any: listeners we remove ourselves cannot pile up on the long-lived shutdown signal.
  timeout.addEventListener('abort', abort, { once: true })
  shutdown.addEventListener('abort', abort, { once: true })
  try {
    const headers = target.authorization === undefined ? message.headers : { ...message.headers, authorization: target.authorization }
    const response = await fetchFn(target.url, {
      method: 'POST',
      headers,
      body: message.body,
      signal: controller.signal,
      // A redirected POST turns into a GET on the way (301/302): the notification would be lost.
      redirect: 'manual'
    })
    const status = response.status
    if (status >= 200 && status < 300) {
      // Read the answer so that the connection can be reused; a late body does not undo delivery.
      await response.arrayBuffer().catch(() => undefined)
      return { kind: 'delivered' }
    }
    if (status === 429 || status >= 500) {
      await response.body?.cancel().catch(() => undefined)
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'))
      return { kind: 'retry', reason: `HTTP ${status}`, ...(retryAfterMs !== undefined && { retryAfterMs }) }
    }
    if (status >= 300 && status < 400) {
      await response.body?.cancel().catch(() => undefined)
      return { kind: 'final', reason: `HTTP ${status}: redirects are not followed; configure the URL it points to` }
    }
    // The receiver's explanation (Slack: `invalid_payload`, Discord: a JSON error) helps the operator.
    const text = await response.text().catch(() => '')
    const said = text.replace(/\s+/g, ' ').trim().slice(0, 200)
    return { kind: 'final', reason: `HTTP ${status}${said === '' ? '' : `: ${said}`}` }
  } catch (error) {
    if (shutdown.aborted) return { kind: 'final', reason: 'aborted: the updater is shutting down' }
    if (timeout.aborted) return { kind: 'retry', reason: `no answer within ${timeoutMs} ms` }
    return { kind: 'retry', reason: describeNetworkError(error) }
  } finally {
    timeout.removeEventListener('abort', abort)
    shutdown.removeEventListener('abort', abort)
  }
}

/** undici says `fetch failed` and keeps the useful part (`connect ECONNREFUSED …`) in `cause`. */
function describeNetworkError (error: unknown): string {
  const { message, cause } = error as { message?: string, cause?: { message?: string } }
  return cause?.message ?? message ?? String(error)
}

/** `Retry-After`: delay-seconds (decimals tolerated: Discord sends them) or an HTTP date. */
export function parseRetryAfter (value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined
  const text = value.trim()
  if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000)
  const date = Date.parse(text)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/**
 * Exponential backoff with "equal jitter" (half fixed, half random, so receivers that failed
 * together do not retry together), at least the receiver's Retry-After, at most `maxMs`.
 * @param attempt the attempt that just failed, from 1
 */
export function retryDelay (attempt: number, baseMs: number, maxMs: number, retryAfterMs: number | undefined, random: () => number): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** (attempt - 1))
  const jittered = exponential / 2 + random() * exponential / 2
  return Math.round(Math.min(maxMs, Math.max(jittered, retryAfterMs ?? 0)))
}
