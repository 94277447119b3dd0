import { globMatches } from '../auth/scope.js'

/**
 * Which tag of a repository a policy selects (DESIGN §7). Pure functions over the current tag and
 * the repository's tag list: the registry is asked elsewhere (registry-tags.ts).
 */
export type Policy =
  | { kind: 'digest' }
  | { kind: 'semver', level: 'patch' | 'minor' | 'major' }
  | { kind: 'glob', pattern: string }

export interface Version {
  v: boolean
  /** 1 to 3 numbers, as digit strings without leading zeros (so any length compares exactly) */
  numbers: string[]
  /** after the first `-`, or '' */
  suffix: string
}

// Optional v, 1-3 dot-separated numbers, optional -suffix. Linear: no nested quantifiers.
const versionPattern = /^(v?)(\d{1,32})(?:\.(\d{1,32}))?(?:\.(\d{1,32}))?(?:-([A-Za-z0-9][A-Za-z0-9._-]*))?$/

const stripZeros = (digits: string): string => digits.replace(/^0+(?=\d)/, '')

/** The tag as a version, or undefined when it is not one. */
export function parseVersion (tag: string): Version | undefined {
  const match = versionPattern.exec(tag)
  if (match === null) return undefined
  const numbers = [match[2], match[3], match[4]].filter((n): n is string => n !== undefined).map(stripZeros)
  return { v: match[1] === 'v', numbers, suffix: match[5] ?? '' }
}

/** Compares digit strings without leading zeros as numbers. */
function compareDigits (a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0
}

function compareNumbers (a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const order = compareDigits(a[i]!, b[i]!)
    if (order !== 0) return order
  }
  return a.length - b.length
}

/** Components a level keeps fixed: patch the first two, minor the first, major none. */
const kept = { patch: 2, minor: 1, major: 0 } as const

/**
 * The highest tag of the same shape as `current` (same `v`, same number of components, the same
 * suffix, the kept components equal) above it; undefined when none is, or `current` is no version.
 */
export function selectSemver (current: string, tags: readonly string[], level: keyof typeof kept): string | undefined {
  const base = parseVersion(current)
  if (base === undefined) return undefined
  let best: { tag: string, version: Version } | undefined
  for (const tag of tags) {
    const version = parseVersion(tag)
    if (version === undefined || version.v !== base.v || version.suffix !== base.suffix || version.numbers.length !== base.numbers.length) continue
    if (compareNumbers(version.numbers.slice(0, kept[level]), base.numbers.slice(0, kept[level])) !== 0) continue
    if (compareNumbers(version.numbers, base.numbers) <= 0) continue
    // Equal numbers with other spellings (1.02 and 1.2): the first listed stays.
    if (best === undefined || compareNumbers(version.numbers, best.version.numbers) > 0) best = { tag, version }
  }
  return best?.tag
}

const runPattern = /\d+|\D+/g

/**
 * Natural order: runs of digits compare as numbers, other runs by code unit; a tie (`01` and `1`)
 * falls back to plain code-unit order, so the order is total.
 */
export function compareNatural (a: string, b: string): number {
  const left = a.match(runPattern) ?? []
  const right = b.match(runPattern) ?? []
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const x = left[i]!
    const y = right[i]!
    const digits = /^\d/.test(x) && /^\d/.test(y)
    const order = digits ? compareDigits(stripZeros(x), stripZeros(y)) : x < y ? -1 : x > y ? 1 : 0
    if (order !== 0) return order
  }
  if (left.length !== right.length) return left.length - right.length
  return a < b ? -1 : a > b ? 1 : 0
}

/** The greatest tag matching `pattern` (`*` any run, linear-time) if it is greater than `current`. */
export function selectGlob (current: string, tags: readonly string[], pattern: string): string | undefined {
  let best: string | undefined
  for (const tag of tags) {
    if (!globMatches(pattern, tag) || compareNatural(tag, current) <= 0) continue
    if (best === undefined || compareNatural(tag, best) > 0) best = tag
  }
  return best
}

/**
 * The tag a policy rolls the service onto: for `digest` always the current tag (newer means another
 * digest under it); for tag policies a newer tag, or the current one when none is newer.
 */
export function selectTag (policy: Policy, current: string, tags: readonly string[]): string {
  if (policy.kind === 'semver') return selectSemver(current, tags, policy.level) ?? current
  if (policy.kind === 'glob') return selectGlob(current, tags, policy.pattern) ?? current
  return current
}
