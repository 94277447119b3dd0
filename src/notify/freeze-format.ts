import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signBody, type NotificationMessage } from './format.js'
import type { FreezeEvent, NotifyFormat } from './targets.js'

/** What a freeze notification tells (the freeze as GET /freezes shows it). */
export interface FreezeNotice {
  freezeId: string
  services: string[]
  until: string
  reason: string
  createdBy?: string
}

const utf8 = new TextEncoder()

/**
 * A freeze began (`frozen`) or ended (`unfrozen`): json sends `{ event, freeze }` with the event in
 * the event header (signed like update notifications); Slack and Discord get one line of text.
 */
export function formatFreezeNotification (format: NotifyFormat, event: FreezeEvent, freeze: FreezeNotice, deliveryId: string, secret?: string): NotificationMessage {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'container-updater', [DELIVERY_HEADER]: deliveryId }
  if (format === 'json') {
    const { freezeId, services, until, reason, createdBy } = freeze
    const body = utf8.encode(JSON.stringify({ event, freeze: { freezeId, services, until, reason, ...(createdBy !== undefined && { createdBy }) } }))
    headers[EVENT_HEADER] = event
    if (secret !== undefined && secret !== '') headers[SIGNATURE_HEADER] = signBody(body, secret)
    return { body, headers }
  }
  const services = freeze.services.map((s) => '`' + s.replace(/`/g, "'") + '`').join(', ')
  const text = event === 'frozen'
    ? `🧊 Updates of ${services} are frozen until ${freeze.until}: ${freeze.reason}`
    : `🌤️ The freeze of ${services} ended (${freeze.reason})`
  const safe = format === 'slack' ? text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;') : text.slice(0, 2000)
  return { body: utf8.encode(JSON.stringify(format === 'slack' ? { text: safe } : { content: safe, allowed_mentions: { parse: [] } })), headers }
}
