import { createHmac } from 'node:crypto'
import { UpdateRecordSchema, type UpdateRecord } from '../store/records.js'
import type { NotifyFormat } from './targets.js'

/**
 * The bodies of notifications, one per format. They are built once, when the notification is
 * made, so that every retry sends the same bytes (and the record may change meanwhile).
 */
export interface NotificationMessage {
  /** UTF-8 JSON: the exact bytes that are signed and sent */
  body: Uint8Array<ArrayBuffer>
  headers: Record<string, string>
}

const utf8 = new TextEncoder()

export const EVENT_HEADER = 'x-container-updater-event'
export const SIGNATURE_HEADER = 'x-container-updater-signature'
export const DELIVERY_HEADER = 'x-container-updater-delivery'

/** `sha256=<lowercase hex HMAC-SHA256 of the exact body bytes>`, GitHub's scheme. */
export function signBody (body: Uint8Array, secret: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex')
}

/**
 * @param deliveryId the same for every attempt of one notification, so that receivers can drop
 * a repeat (a retry after a timeout may follow a delivery that did arrive)
 */
export function formatNotification (format: NotifyFormat, record: UpdateRecord, deliveryId: string, secret?: string): NotificationMessage {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'container-updater', [DELIVERY_HEADER]: deliveryId }
  if (format === 'json') {
    const body = utf8.encode(JSON.stringify(publicFields(record)))
    headers[EVENT_HEADER] = record.status
    if (secret !== undefined && secret !== '') headers[SIGNATURE_HEADER] = signBody(body, secret)
    return { body, headers }
  }
  const payload = format === 'slack' ? slackPayload(record) : discordPayload(record)
  return { body: utf8.encode(JSON.stringify(payload)), headers }
}

const PUBLIC_FIELDS = Object.keys(UpdateRecordSchema.properties)

/**
 * The record's public fields only: a stored record (with the internals the database keeps to
 * resume an update) is an UpdateRecord to TypeScript too, and must not leak them to receivers.
 */
function publicFields (record: UpdateRecord): Partial<UpdateRecord> {
  const fields: Record<string, unknown> = {}
  for (const key of PUBLIC_FIELDS) {
    const value = (record as Record<string, unknown>)[key]
    if (value !== undefined) fields[key] = value
  }
  return fields
}

const SUMMARY: Record<UpdateRecord['status'], [symbol: string, words: string]> = {
  completed: ['✅', 'updated'],
  rolled_back: ['↩️', 'rolled back by Swarm'],
  paused: ['⏸️', 'paused by Swarm'],
  timeout: ['⏱️', 'still updating after the timeout'],
  failed: ['❌', 'failed'],
  superseded: ['⏭️', 'superseded by a later update'],
  cancelled: ['⏹️', 'cancelled'],
  rejected: ['🚫', 'rejected (not approved)'],
  expired: ['⌛', 'expired waiting for approval'],
  queued: ['🕒', 'queued'],
  held: ['🕒', 'held until its window opens or its freeze ends'],
  pending_approval: ['✋', 'waiting for approval'],
  updating: ['🔄', 'updating'],
  verifying: ['🔎', 'verifying (post-rollout check)']
}

/** Discord embed colours (decimal RGB) by status: green, red, amber, grey. */
const COLOUR: Record<UpdateRecord['status'], number> = {
  completed: 0x2e_a0_43,
  rolled_back: 0xd1_24_2f,
  failed: 0xd1_24_2f,
  paused: 0xbf_87_00,
  timeout: 0xbf_87_00,
  superseded: 0x6e_77_81,
  cancelled: 0x6e_77_81,
  rejected: 0x6e_77_81,
  expired: 0x6e_77_81,
  queued: 0x6e_77_81,
  held: 0xbf_87_00,
  pending_approval: 0xbf_87_00,
  updating: 0x6e_77_81,
  verifying: 0x6e_77_81
}

/** `repo:tag@sha256:<64 hex>` → `repo:tag@sha256:<12 hex>`, Docker's short form. */
export function shortImage (image: string): string {
  return image.replace(/@sha256:([0-9a-f]{12})[0-9a-f]{52}$/, '@sha256:$1')
}

/** 850 → `850 ms`, 83_000 → `1m 23s`, 3_723_000 → `1h 2m 3s`. */
export function formatDuration (ms: number): string {
  if (ms < 1000) return `${ms} ms`
  const total = Math.round(ms / 1000)
  const [h, m, s] = [Math.floor(total / 3600), Math.floor(total / 60) % 60, total % 60]
  if (h > 0) return `${h}h ${m}m ${s}s`
  return m > 0 ? `${m}m ${s}s` : `${s}s`
}

interface Fact { name: string, value: string, code?: boolean }

/** The facts every chat message gives (issue #9: service, from→to, status, reason, who, duration). */
function facts (record: UpdateRecord): Fact[] {
  const list: Fact[] = []
  const from = record.previousImage ?? null
  const to = record.image ?? null
  if (from !== null || to !== null) {
    list.push({ name: 'Image', value: `${from === null ? '?' : shortImage(from)} → ${to === null ? '?' : shortImage(to)}`, code: true })
  }
  if (record.targetImage !== undefined && record.status !== 'completed') list.push({ name: 'Target', value: record.targetImage, code: true })
  if (record.message !== undefined && record.message !== '') list.push({ name: 'Reason', value: record.message })
  if (record.warning !== undefined && record.warning !== '') list.push({ name: 'Warning', value: record.warning })
  if (record.requestedBy !== undefined) list.push({ name: 'Requested by', value: record.requestedBy })
  if (record.durationMs !== null) list.push({ name: 'Duration', value: formatDuration(record.durationMs) })
  list.push({ name: 'Update', value: record.updateId, code: true })
  return list
}

function title (record: UpdateRecord): string {
  const [symbol, words] = SUMMARY[record.status]
  return `${symbol} Service ${codeSpan(record.service)} ${words}`
}

/** Slack reads `&`, `<` and `>` as control characters (links, @channel): escape exactly those. */
function slackEscape (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** Backticks inside a code span would end it early. */
const codeSpan = (text: string): string => '`' + text.replace(/`/g, "'") + '`'

/**
 * Slack incoming-webhook payload. Only `text` with the formatting Slack, Mattermost and Rocket.Chat
 * share (inline code, line breaks): their bold and link syntaxes differ.
 * @see https://api.slack.com/reference/surfaces/formatting#escaping
 */
function slackPayload (record: UpdateRecord): { text: string } {
  const lines = [slackEscape(title(record))]
  for (const fact of facts(record)) {
    const value = slackEscape(truncate(fact.value, 1000))
    lines.push(`${fact.name}: ${fact.code === true ? codeSpan(value) : value}`)
  }
  return { text: lines.join('\n') }
}

/**
 * Discord execute-webhook payload: a one-line `content` (what push notifications show) and an
 * embed with the facts. Limits: content 2000, field name 256, field value 1024, 6000 in all.
 * `allowed_mentions` empty: a Docker message or a subject holding `@everyone` pings nobody.
 * @see https://discord.com/developers/docs/resources/webhook#execute-webhook
 */
function discordPayload (record: UpdateRecord): object {
  const fields = facts(record).map((fact) => {
    const value = truncate(fact.value, fact.name === 'Reason' ? 1000 : 400)
    return { name: fact.name, value: fact.code === true ? codeSpan(value) : value, inline: false }
  })
  return {
    content: truncate(title(record), 2000),
    embeds: [{ color: COLOUR[record.status], fields, timestamp: record.finishedAt ?? new Date().toISOString() }],
    allowed_mentions: { parse: [] }
  }
}

function truncate (text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max - 1) + '…'
}
