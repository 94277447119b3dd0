/**
 * Durations as labels and settings write them (DESIGN §7): a whole number and one unit, `90s`,
 * `15m`, `6h`, `1d`. Nothing else (no fractions, no compound `1h30m`): one spelling per value.
 */
const units: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const durationPattern = /^(\d{1,9})([smhd])$/

/** Milliseconds, or undefined when `text` is not a duration. */
export function parseDuration (text: string): number | undefined {
  const match = durationPattern.exec(text.trim())
  if (match === null) return undefined
  return Number(match[1]) * units[match[2]!]!
}

/** The shortest exact spelling of a whole number of seconds: 5400000 → `90m`. */
export function formatDuration (ms: number): string {
  for (const unit of ['d', 'h', 'm'] as const) {
    if (ms > 0 && ms % units[unit]! === 0) return `${ms / units[unit]!}${unit}`
  }
  return `${Math.round(ms / 1000)}s`
}

export const MIN_SCHEDULE_MS = 60_000
export const MAX_SCHEDULE_MS = 7 * 86_400_000
