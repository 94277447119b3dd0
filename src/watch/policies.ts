import { parseImageRef } from '../docker/image-ref.js'
import { formatDuration, MAX_SCHEDULE_MS, MIN_SCHEDULE_MS, parseDuration } from './durations.js'
import type { Policy } from './tag-rules.js'

export type { Policy } from './tag-rules.js'

/**
 * What a service's labels ask of the watcher (DESIGN §7). Labels are the service's own (the spec's,
 * not the containers'), prefix `container-updater.`. A label that does not parse makes the service's
 * state `error` with the reason; it never falls back silently to something the operator did not write.
 */
export const LABEL_PREFIX = 'container-updater.'

export type WatchMode = 'true' | 'notify'

export interface WatchSettings {
  watch: WatchMode
  policy: Policy
  /** as written on the label (or `digest`), for GET /watch */
  policyText: string
  scheduleMs: number
  minAgeMs: number
  /** why a label was refused: the service is then in state `error` and is not checked */
  problems: string[]
}

const globPattern = /^[A-Za-z0-9_.*-]{1,128}$/

export function parsePolicy (text: string): Policy | undefined {
  if (text === 'digest') return { kind: 'digest' }
  if (text === 'semver:patch' || text === 'semver:minor' || text === 'semver:major') {
    return { kind: 'semver', level: text.slice('semver:'.length) as 'patch' | 'minor' | 'major' }
  }
  if (text.startsWith('glob:') && globPattern.test(text.slice(5))) return { kind: 'glob', pattern: text.slice(5) }
  return undefined
}

/**
 * The watch settings of a service, or undefined when it is not watched (`watch` absent or neither
 * `true` nor `notify`).
 */
export function watchSettings (labels: Record<string, string>, defaultScheduleMs: number): WatchSettings | undefined {
  const label = (name: string): string | undefined => Object.hasOwn(labels, LABEL_PREFIX + name) ? labels[LABEL_PREFIX + name]!.trim() : undefined
  const watch = label('watch')
  if (watch !== 'true' && watch !== 'notify') return undefined
  const problems: string[] = []
  const policyText = label('policy') ?? 'digest'
  let policy = parsePolicy(policyText)
  if (policy === undefined) {
    problems.push(`label ${LABEL_PREFIX}policy=${JSON.stringify(policyText)} is not digest, semver:patch, semver:minor, semver:major or glob:<pattern>`)
    policy = { kind: 'digest' }
  }
  let scheduleMs = defaultScheduleMs
  const schedule = label('schedule')
  if (schedule !== undefined) {
    const ms = parseDuration(schedule)
    if (ms === undefined || ms < MIN_SCHEDULE_MS || ms > MAX_SCHEDULE_MS) {
      problems.push(`label ${LABEL_PREFIX}schedule=${JSON.stringify(schedule)} is not a duration from ${formatDuration(MIN_SCHEDULE_MS)} to ${formatDuration(MAX_SCHEDULE_MS)} (e.g. 90s, 15m, 6h, 1d)`)
    } else {
      scheduleMs = ms
    }
  }
  let minAgeMs = 0
  const minAge = label('min-age')
  if (minAge !== undefined) {
    const ms = parseDuration(minAge)
    if (ms === undefined) problems.push(`label ${LABEL_PREFIX}min-age=${JSON.stringify(minAge)} is not a duration (e.g. 90s, 15m, 6h, 1d)`)
    else minAgeMs = ms
  }
  return { watch, policy, policyText, scheduleMs, minAgeMs, problems }
}

/**
 * The tag and pinned digest of a spec image. `pinned`: a digest without a tag, never checked.
 * Invalid references are `undefined` (state `error`).
 */
export function currentImage (image: string): { repository: string, tag: string, digest: string | undefined } | { pinned: true } | undefined {
  let ref
  try {
    ref = parseImageRef(image)
  } catch {
    return undefined
  }
  if (ref.tag === undefined && ref.digest !== undefined) return { pinned: true }
  return { repository: ref.repository, tag: ref.tag ?? 'latest', digest: ref.digest }
}
