import { parseDuration } from '../durations.js'

/**
 * The post-rollout check a service asks for with its labels (DESIGN §8, docs/API.md "Post-rollout
 * check"): `container-updater.check.url` turns it on; `check.status`, `check.for`,
 * `check.interval` and `check.timeout` tune it. Pure: read from the labels Swarm reported.
 */
export const CHECK_LABEL_PREFIX = 'container-updater.check.'

export interface CheckSettings {
  url: URL
  /** the statuses that pass, as inclusive ranges */
  status: Array<readonly [number, number]>
  /** the label's text, for messages */
  statusText: string
  /** keep passing this long */
  forMs: number
  intervalMs: number
  /** one request */
  timeoutMs: number
}

const defaults = { status: '200-399', for: '30s', interval: '5s', timeout: '5s' } as const
/** Bounds that keep a check meaningful: a check of a day holds its lane that long. */
const MAX_FOR_MS = 24 * 3_600_000
const MAX_REQUEST_MS = 3_600_000

/** `200-399`, `200`, `200,204,300-302` → inclusive ranges; undefined when not that. */
export function parseStatusRanges (text: string): Array<readonly [number, number]> | undefined {
  const ranges: Array<readonly [number, number]> = []
  for (const part of text.split(',')) {
    const match = /^\s*([1-5]\d\d)\s*(?:-\s*([1-5]\d\d)\s*)?$/.exec(part)
    if (match === null) return undefined
    const low = Number(match[1])
    const high = match[2] === undefined ? low : Number(match[2])
    if (high < low) return undefined
    ranges.push([low, high])
  }
  return ranges
}

/**
 * The check a service's labels ask for: undefined when it carries no `check.url`, `{ invalid }`
 * naming the first unreadable label (the check cannot be run: the caller fails closed).
 */
export function checkSettings (labels: Readonly<Record<string, string>>): CheckSettings | { invalid: string } | undefined {
  const label = (name: string): string | undefined => Object.hasOwn(labels, CHECK_LABEL_PREFIX + name) ? labels[CHECK_LABEL_PREFIX + name] : undefined
  const rawUrl = label('url')
  if (rawUrl === undefined) return undefined
  let url: URL
  try {
    url = new URL(rawUrl.trim())
  } catch {
    return { invalid: `label ${CHECK_LABEL_PREFIX}url is not a URL` }
  }
  // Never echo the URL: it may carry a secret (userinfo, a query token).
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { invalid: `label ${CHECK_LABEL_PREFIX}url must be an http:// or https:// URL` }
  if (url.username !== '' || url.password !== '') return { invalid: `label ${CHECK_LABEL_PREFIX}url must not carry credentials` }
  const statusText = (label('status') ?? defaults.status).trim()
  const status = parseStatusRanges(statusText)
  if (status === undefined) return { invalid: `label ${CHECK_LABEL_PREFIX}status=${JSON.stringify(statusText.slice(0, 64))} is not a status or range list (e.g. 200-399 or 200,204)` }
  const durations: Record<'for' | 'interval' | 'timeout', number> = { for: 0, interval: 0, timeout: 0 }
  for (const name of ['for', 'interval', 'timeout'] as const) {
    const text = label(name) ?? defaults[name]
    const max = name === 'for' ? MAX_FOR_MS : MAX_REQUEST_MS
    const ms = parseDuration(text, { min: name === 'for' ? 0 : 1, max })
    if (ms === undefined) {
      return { invalid: `label ${CHECK_LABEL_PREFIX}${name}=${JSON.stringify(text.slice(0, 64))} is not a duration${name === 'for' ? '' : ' above 0'} up to ${max / 3_600_000} h (e.g. 500ms, 5s, 2m)` }
    }
    durations[name] = ms
  }
  return { url, status, statusText, forMs: durations.for, intervalMs: durations.interval, timeoutMs: durations.timeout }
}

export const statusPasses = (settings: Pick<CheckSettings, 'status'>, status: number): boolean =>
  settings.status.some(([low, high]) => status >= low && status <= high)
