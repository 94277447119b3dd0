import type { NotifyFormat } from './targets.js'
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signBody, type NotificationMessage } from './format.js'

/**
 * The watcher's notifications (DESIGN §7): `available`, a newer image a `watch=notify` service
 * could run (sent once per new tag or digest), and `quarantined`, a digest that an update rolled
 * back or paused and that the watcher and push hooks will not roll that service onto again. Built
 * like the records' (format.ts): once per notification, the same bytes for every retry.
 */
export interface WatchNotice {
  event: 'available' | 'quarantined'
  service: string
  /** available: the repo:tag the policy selects; quarantined: the repo:tag the update rolled onto */
  image: string
  digest: string
  /** e.g. `semver:minor 1.2.3 → 1.3.0`, or the record's message for a quarantine */
  reason: string
  /** quarantined: the update that ended rolled_back or paused */
  updateId?: string
  /** ISO date-time */
  at: string
}

const utf8 = new TextEncoder()

const WORDS: Record<WatchNotice['event'], [symbol: string, words: string]> = {
  available: ['🆕', 'can update'],
  quarantined: ['🚧', 'quarantined an image (rolled back or paused; not rolled out again)']
}

export function formatWatchNotice (format: NotifyFormat, notice: WatchNotice, deliveryId: string, secret?: string): NotificationMessage {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'container-updater', [DELIVERY_HEADER]: deliveryId }
  if (format === 'json') {
    const body = utf8.encode(JSON.stringify(notice))
    headers[EVENT_HEADER] = notice.event
    if (secret !== undefined && secret !== '') headers[SIGNATURE_HEADER] = signBody(body, secret)
    return { body, headers }
  }
  const [symbol, words] = WORDS[notice.event]
  const code = (text: string): string => '`' + text.replace(/`/g, "'") + '`'
  const escape = (text: string): string => format === 'slack' ? text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;') : text
  const lines = [
    `${symbol} Service ${code(escape(notice.service))} ${words}`,
    `Image: ${code(escape(`${notice.image}@${notice.digest.slice(0, 'sha256:'.length + 12)}`))}`,
    `Reason: ${escape(notice.reason.slice(0, 1000))}`,
    ...(notice.updateId !== undefined ? [`Update: ${code(notice.updateId)}`] : [])
  ]
  const payload = format === 'slack'
    ? { text: lines.join('\n') }
    : { content: lines.join('\n').slice(0, 2000), allowed_mentions: { parse: [] } }
  return { body: utf8.encode(JSON.stringify(payload)), headers }
}
