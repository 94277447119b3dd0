import { instantsOf, isZone, wallAt } from './zone-clock.js'

/**
 * Update windows (docs/API.md, "Update windows"): `DAYS HH:MM-HH:MM [IANA zone]`, comma-separated,
 * e.g. `Mon-Fri 22:00-06:00 Europe/Berlin, Sat,Sun 00:00-24:00`. A window that crosses midnight
 * belongs to the day it starts; times are the zone's wall clock across DST changes (in a repeated
 * hour both occurrences count, a start in a skipped hour opens when the clock jumps past it). The
 * zone defaults to UTC. Pure: no I/O, no dependency (Intl only).
 */
export interface Window {
  /** weekdays it starts on, 0 = Sunday */
  days: ReadonlySet<number>
  /** minutes after local midnight; end ≤ start crosses midnight; end 1440 is 24:00 */
  start: number
  end: number
  zone: string
  /** as written, for messages */
  text: string
}

export class WindowSyntaxError extends Error {}

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)'
const DAYS = `${DAY}(?:-${DAY})?(?:,${DAY}(?:-${DAY})?)*`
const TIME = '(?:[01][0-9]|2[0-4]):[0-5][0-9]'
// One window, then a comma or the end; the zone is what remains before them (validated by Intl).
const windowRe = new RegExp(`\\s*(${DAYS})\\s+(${TIME})-(${TIME})(?:\\s+([A-Za-z][A-Za-z0-9_+/-]{0,63}))?\\s*(?:,|$)`, 'iy')

const minutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3))

function parseDays (text: string): Set<number> {
  const days = new Set<number>()
  for (const range of text.split(',')) {
    const [from, to = from] = range.split('-').map((name) => DAY_NAMES.indexOf(name.toLowerCase()))
    // Mon-Fri, and a range that wraps: Fri-Mon is Fri, Sat, Sun, Mon.
    for (let day = from!; ; day = (day + 1) % 7) {
      days.add(day)
      if (day === to) break
    }
  }
  return days
}

/** Parses a window list; throws WindowSyntaxError naming the part it cannot read. */
export function parseWindows (text: string): Window[] {
  const windows: Window[] = []
  if (text.length > 1024) throw new WindowSyntaxError('window list longer than 1024 characters')
  windowRe.lastIndex = 0
  while (windowRe.lastIndex < text.length) {
    const at = windowRe.lastIndex
    const match = windowRe.exec(text)
    if (match === null) throw new WindowSyntaxError(`cannot read ${JSON.stringify(text.slice(at).trim())}: expected DAYS HH:MM-HH:MM [zone], e.g. Mon-Fri 22:00-06:00 Europe/Berlin`)
    const [whole, days, from, to, zone = 'UTC'] = match as unknown as [string, string, string, string, string | undefined]
    const start = minutes(from)
    const end = minutes(to)
    if (end > 1440) throw new WindowSyntaxError(`${whole.trim()}: ${to} is not a time of day`)
    if (start >= 1440) throw new WindowSyntaxError(`${whole.trim()}: a window cannot start at 24:00`)
    if (start === end) throw new WindowSyntaxError(`${whole.trim()}: start and end are the same time (for a whole day write 00:00-24:00)`)
    if (!isZone(zone)) throw new WindowSyntaxError(`${whole.trim()}: unknown time zone ${zone}`)
    windows.push({ days: parseDays(days), start, end, zone, text: whole.trim().replace(/,$/, '').trim() })
    if (match[0].trimEnd().endsWith(',') && windowRe.lastIndex >= text.length) throw new WindowSyntaxError('window list ends with a comma')
  }
  if (windows.length === 0) throw new WindowSyntaxError('no window given')
  return windows
}

const DAY_MS = 86_400_000

/** Is this one window open at `instant`? */
function openIn (window: Window, instant: number): boolean {
  const wall = wallAt(instant, window.zone)
  const minute = Math.floor((wall % DAY_MS + DAY_MS) % DAY_MS / 60_000)
  const weekday = new Date(wall).getUTCDay()
  if (window.end > window.start) return window.days.has(weekday) && minute >= window.start && minute < window.end
  // Crosses midnight: the evening part on its own days, the morning part on the day after.
  return (window.days.has(weekday) && minute >= window.start) || (window.days.has((weekday + 6) % 7) && minute < window.end)
}

export function isOpen (windows: readonly Window[], now: number): boolean {
  return windows.some((window) => openIn(window, now))
}

/** The window open at `now`, if any. */
export function openWindow (windows: readonly Window[], now: number): Window | undefined {
  return windows.find((window) => openIn(window, now))
}

/** The first instant at or after `now` when one of the windows is open (now itself when open). */
export function opensAt (windows: readonly Window[], now: number): number {
  if (isOpen(windows, now)) return now
  let first = Infinity
  for (const window of windows) {
    const today = Math.floor(wallAt(now, window.zone) / DAY_MS) * DAY_MS
    // A start at most a week away (and yesterday's, for a start in a gap resolved into today).
    for (let k = -1; k <= 8; k++) {
      const date = today + k * DAY_MS
      if (!window.days.has(new Date(date).getUTCDay())) continue
      for (const instant of instantsOf(date + window.start * 60_000, window.zone)) {
        if (instant >= now && instant < first && openIn(window, instant)) first = instant
      }
    }
  }
  // Every window has a day and a non-empty span, so one of them starts within the week.
  return first
}
