/**
 * The one way durations are read (DESIGN §7), for every label and setting that takes one (the
 * post-rollout check's `check.*`, the watcher's `schedule` and `min-age`, APPROVAL_TTL, WATCH_*):
 * a whole number and one unit, `500ms`, `90s`, `15m`, `6h`, `1d`. Nothing else (no fractions, no
 * compound `1h30m`): one spelling per value. Each caller gives its own range, so `check.for=1d`
 * and `schedule=500ms` are judged by one rule, and only the range tells them apart.
 */
const units = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
const durationPattern = /^(\d{1,9})(ms|s|m|h|d)$/

export interface DurationRange {
  /** inclusive, ms; default 0 */
  min?: number
  /** inclusive, ms; default none */
  max?: number
}

/** Milliseconds, or undefined when `text` is not a duration or is out of `range`. */
export function parseDuration (text: string, range: DurationRange = {}): number | undefined {
  const match = durationPattern.exec(text.trim())
  if (match === null) return undefined
  const ms = Number(match[1]) * units[match[2] as keyof typeof units]
  return ms < (range.min ?? 0) || ms > (range.max ?? Infinity) ? undefined : ms
}

/** The shortest exact spelling: 5400000 → `90m`, 1500 → `1500ms`. */
export function formatDuration (ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms > 0 && ms % units[unit] === 0) return `${ms / units[unit]}${unit}`
  }
  return ms === 0 ? '0s' : `${Math.round(ms)}ms`
}
