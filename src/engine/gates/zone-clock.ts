/**
 * Wall-clock time in an IANA zone with Intl only (no dependency): what a zone's clock shows at an
 * instant, and the first instant it shows a given wall time (DST gaps and repeats included).
 * Instants are epoch milliseconds; wall times are "local epoch" milliseconds (the wall clock's
 * fields read as if they were UTC).
 */
const formatters = new Map<string, Intl.DateTimeFormat>()

function formatter (zone: string): Intl.DateTimeFormat {
  let format = formatters.get(zone)
  if (format === undefined) {
    // Throws RangeError for a zone Intl does not know: callers validate zones with isZone.
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric'
    })
    if (formatters.size < 256) formatters.set(zone, format)
  }
  return format
}

export function isZone (zone: string): boolean {
  try {
    formatter(zone)
    return true
  } catch {
    return false
  }
}

/** What the zone's clock shows at `instant`, as a local epoch (whole seconds). */
export function wallAt (instant: number, zone: string): number {
  const fields: Record<string, number> = {}
  for (const part of formatter(zone).formatToParts(instant)) if (part.type !== 'literal') fields[part.type] = Number(part.value)
  return Date.UTC(fields.year!, fields.month! - 1, fields.day!, fields.hour!, fields.minute!, fields.second!)
}

const HOUR = 3_600_000
const MINUTE = 60_000

/**
 * Every instant at which the zone's clock shows `wall`, earliest first: one, two (a repeated hour
 * when clocks go back), or, when `wall` falls in a gap (clocks go forward), the first instant after
 * the gap (the wall clock's first moment at or past `wall`).
 */
export function instantsOf (wall: number, zone: string): number[] {
  // The offsets in force a day either side: no zone changes its offset twice within two days.
  const offsets = [...new Set([wall - 24 * HOUR, wall + 24 * HOUR].map((near) => wallAt(near, zone) - near))]
  const exact = offsets.map((offset) => wall - offset).filter((instant) => wallAt(instant, zone) === wall).sort((a, b) => a - b)
  if (exact.length > 0) return [...new Set(exact)]
  // A gap: the clock jumps over `wall` between these two instants; find the jump to the minute.
  let lo = Math.min(...offsets.map((offset) => wall - offset))
  let hi = Math.max(...offsets.map((offset) => wall - offset))
  if (wallAt(lo, zone) >= wall) return [lo]
  while (hi - lo > MINUTE) {
    const mid = lo + Math.floor((hi - lo) / 2 / MINUTE) * MINUTE
    if (wallAt(mid, zone) >= wall) hi = mid
    else lo = mid
  }
  return [hi]
}
