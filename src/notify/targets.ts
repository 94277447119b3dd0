import type { UpdateState } from '../store/records.js'

/** A freeze began or ended (POST /freezes, DELETE /freezes/:id, or its `until`). */
export type FreezeEvent = 'frozen' | 'unfrozen'

/**
 * Where notifications go (DESIGN §6, `NOTIFY_URLS` and `NOTIFY_ON`). Webhook URLs are secrets:
 * Slack and Discord carry the token in the path, other receivers in the query or the userinfo. So
 * nothing here ever prints more of a URL than its scheme, host and port.
 */
export const NOTIFY_FORMATS = ['json', 'slack', 'discord'] as const
export type NotifyFormat = typeof NOTIFY_FORMATS[number]

/**
 * What a notification can be about: the final states, `timeout` (the record goes on), an update
 * `held` or `pending_approval` (with the URL to approve), and a freeze beginning or ending.
 */
export const NOTIFY_STATES = ['completed', 'rolled_back', 'paused', 'timeout', 'failed', 'superseded', 'cancelled',
  'held', 'pending_approval', 'rejected', 'expired', 'frozen', 'unfrozen'] as const satisfies ReadonlyArray<UpdateState | FreezeEvent>
export type NotifyState = typeof NOTIFY_STATES[number]
/** The watcher's events (DESIGN §7): a newer image a `watch=notify` service could run; a digest quarantined. */
export const WATCH_EVENTS = ['available', 'quarantined'] as const
export type WatchEvent = typeof WATCH_EVENTS[number]
/** What NOTIFY_ON may name: record states and watch events. */
export const NOTIFY_EVENTS = [...NOTIFY_STATES, ...WATCH_EVENTS] as const
export type NotifyEvent = typeof NOTIFY_EVENTS[number]

export interface NotifyTarget {
  format: NotifyFormat
  /** what is fetched: the configured URL without its userinfo (fetch refuses URLs with credentials) */
  url: URL
  /** `Basic …` when the configured URL carried `user:password@` */
  authorization?: string
  /** `format+scheme://host[:port]/[redacted]`: the only form that goes to logs and metric labels */
  label: string
}

/** A bad NOTIFY_URLS or NOTIFY_ON; the message is one line and holds no secret. */
export class NotifyConfigError extends Error {
  override name = 'NotifyConfigError'
}

/**
 * `https://hooks.slack.com/services/T0/B0/xyz` → `https://hooks.slack.com/[redacted]`: scheme, host
 * and port only; userinfo, path, query and fragment dropped.
 */
export function redactTargetUrl (url: string | URL): string {
  let parsed: URL
  try {
    parsed = typeof url === 'string' ? new URL(url) : url
  } catch {
    return '[invalid URL]'
  }
  if (parsed.host === '') return `${parsed.protocol}[redacted]`
  const bare = parsed.pathname === '/' && parsed.search === '' && parsed.hash === ''
  return `${parsed.protocol}//${parsed.host}/${bare ? '' : '[redacted]'}`
}

/**
 * Parses `NOTIFY_URLS`: space-separated `FORMAT+URL` entries. Unset or blank means no targets.
 * Two targets on one host get `#2`, `#3` … in their labels so that their metrics stay apart.
 */
export function parseNotifyUrls (value: string | undefined): NotifyTarget[] {
  const entries = (value ?? '').split(/\s+/).filter((entry) => entry !== '')
  const targets: NotifyTarget[] = []
  const seen = new Map<string, number>()
  entries.forEach((entry, index) => {
    const target = parseEntry(entry, index + 1)
    const count = (seen.get(target.label) ?? 0) + 1
    seen.set(target.label, count)
    targets.push(count === 1 ? target : { ...target, label: `${target.label}#${count}` })
  })
  return targets
}

function parseEntry (entry: string, position: number): NotifyTarget {
  const where = `NOTIFY_URLS entry ${position}`
  const plus = entry.indexOf('+')
  const format = plus === -1 ? '' : entry.slice(0, plus)
  const rest = plus === -1 ? entry : entry.slice(plus + 1)
  // An entry without a format is usually a bare URL: name it redacted, never in full.
  if (!/^[a-z]+$/i.test(format)) {
    throw new NotifyConfigError(`${where} (${redactTargetUrl(entry)}) must be FORMAT+URL with FORMAT one of ${NOTIFY_FORMATS.join(', ')}`)
  }
  if (!(NOTIFY_FORMATS as readonly string[]).includes(format)) {
    throw new NotifyConfigError(`${where} (${format}+${redactTargetUrl(rest)}): unknown format "${format}"; use one of ${NOTIFY_FORMATS.join(', ')}`)
  }
  let url: URL
  try {
    url = new URL(rest)
  } catch {
    throw new NotifyConfigError(`${where} (${format}+…) is not a valid URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new NotifyConfigError(`${where} (${format}+${redactTargetUrl(url)}): only http and https URLs are allowed`)
  }
  const label = `${format}+${redactTargetUrl(url)}`
  let authorization: string | undefined
  if (url.username !== '' || url.password !== '') {
    let user: string, password: string
    try {
      user = decodeURIComponent(url.username)
      password = decodeURIComponent(url.password)
    } catch {
      throw new NotifyConfigError(`${where} (${label}): the user or password is not valid percent-encoding`)
    }
    authorization = 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64')
    url = new URL(url.href)
    url.username = ''
    url.password = ''
  }
  // The fragment is never sent; dropping it keeps the URL we hold equal to what goes on the wire.
  url.hash = ''
  return { format: format as NotifyFormat, url, label, ...(authorization !== undefined && { authorization }) }
}

/** Parses `NOTIFY_ON`: comma-separated states and watch events; unset or blank means all of NOTIFY_EVENTS. */
export function parseNotifyOn (value: string | undefined): ReadonlySet<NotifyEvent> {
  const names = (value ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '')
  if (names.length === 0) return new Set(NOTIFY_EVENTS)
  for (const name of names) {
    if (!(NOTIFY_EVENTS as readonly string[]).includes(name)) {
      // States are not secret, but cap the echo: this is one line in a start-up error.
      throw new NotifyConfigError(`NOTIFY_ON: unknown state "${name.slice(0, 40)}"; use a comma-separated list of ${NOTIFY_EVENTS.join(', ')}`)
    }
  }
  return new Set(names as NotifyEvent[])
}
