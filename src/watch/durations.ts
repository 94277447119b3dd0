/** The watcher's durations: the one parser (src/durations.ts) and the range of `schedule`. */
export { formatDuration, parseDuration } from '../durations.js'

export const MIN_SCHEDULE_MS = 60_000
export const MAX_SCHEDULE_MS = 7 * 86_400_000
