import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compareNatural, parseVersion, selectGlob, selectSemver, selectTag } from '../../src/watch/tag-rules.ts'
import { currentImage, parsePolicy, watchSettings } from '../../src/watch/policies.ts'
import { formatDuration, parseDuration } from '../../src/watch/durations.ts'

const pushed = ['1.2.3', '1.2.4', '1.3.0', '2.0.0', '1.3.0-alpine', '1.4.0-rc1']

test('semver: patch, minor and major move exactly where DESIGN §7 says', () => {
  assert.equal(selectSemver('1.2.3', pushed, 'patch'), '1.2.4')
  assert.equal(selectSemver('1.2.3', pushed, 'minor'), '1.3.0')
  assert.equal(selectSemver('1.2.3', pushed, 'major'), '2.0.0')
  assert.equal(selectSemver('2.0.0', pushed, 'major'), undefined)
  assert.equal(selectSemver('1.2.4', pushed, 'patch'), undefined)
})

test('semver: the same suffix only (1.2.3-alpine → 1.3.0-alpine, never 1.3.0 or an rc)', () => {
  const tags = [...pushed, '1.2.3-alpine']
  assert.equal(selectSemver('1.2.3-alpine', tags, 'minor'), '1.3.0-alpine')
  assert.equal(selectSemver('1.2.3-alpine', tags, 'major'), '1.3.0-alpine')
  assert.equal(selectSemver('1.2.3-alpine', tags, 'patch'), undefined)
  // No suffix never moves to a suffixed tag (1.4.0-rc1 is not a candidate of 1.3.0).
  assert.equal(selectSemver('1.3.0', pushed, 'minor'), undefined)
  assert.equal(selectSemver('1.4.0-rc0', pushed, 'minor'), undefined)
})

test('semver: the same v and the same number of components', () => {
  const tags = ['v1.3.0', '1.3', '1.3.0', 'v2', '2', '1.25', '1.26', '2.26.1']
  assert.equal(selectSemver('v1.2.3', tags, 'minor'), 'v1.3.0')
  assert.equal(selectSemver('1.2.3', tags, 'minor'), '1.3.0')
  assert.equal(selectSemver('1.25', tags, 'minor'), '1.26')
  assert.equal(selectSemver('1', tags, 'major'), '2')
  assert.equal(selectSemver('v1', tags, 'major'), 'v2')
  // A two-component version keeps both components under patch: nothing can move.
  assert.equal(selectSemver('1.25', tags, 'patch'), undefined)
})

test('semver: numbers compare as numbers, of any length', () => {
  assert.equal(selectSemver('1.9.0', ['1.10.0', '1.9.9', '1.100.0'], 'minor'), '1.100.0')
  assert.equal(selectSemver('1.2.3', ['1.2.10', '1.2.9'], 'patch'), '1.2.10')
  const big = '1.2.99999999999999999999999999'
  assert.equal(selectSemver(big, ['1.2.100000000000000000000000000', '1.2.3'], 'patch'), '1.2.100000000000000000000000000')
  assert.equal(selectSemver('1.02.3', ['1.2.4'], 'patch'), '1.2.4')
})

test('semver: a current tag that is no version selects nothing', () => {
  for (const tag of ['latest', 'stable', '1.2.3.4', '1..2', 'v', '-1', '1.2.3-', 'V1.2.3', 'x1.2.3']) {
    assert.equal(parseVersion(tag), undefined, tag)
    assert.equal(selectSemver(tag, pushed, 'major'), undefined, tag)
  }
  assert.deepEqual(parseVersion('v2.3.1-alpine3.19'), { v: true, numbers: ['2', '3', '1'], suffix: 'alpine3.19' })
  assert.deepEqual(parseVersion('007'), { v: false, numbers: ['7'], suffix: '' })
})

test('natural order: digit runs as numbers, a total order', () => {
  assert.ok(compareNatural('build-10', 'build-9') > 0)
  assert.ok(compareNatural('a2', 'a10') < 0)
  assert.ok(compareNatural('2024-01-10', '2024-01-09') > 0)
  assert.ok(compareNatural('a', 'a1') < 0)
  assert.ok(compareNatural('01', '1') !== 0)
  assert.equal(compareNatural('x1', 'x1'), 0)
  const sorted = ['r10', 'r9', 'r1', 'r100', 'r2'].sort(compareNatural)
  assert.deepEqual(sorted, ['r1', 'r2', 'r9', 'r10', 'r100'])
})

test('glob: the greatest matching tag by natural order, if greater than the current one', () => {
  const tags = ['main-9', 'main-10', 'main-2', 'dev-99', 'main-10-debug']
  assert.equal(selectGlob('main-2', tags, 'main-*'), 'main-10-debug')
  assert.equal(selectGlob('main-2', tags, 'main-*[0-9]'), undefined) // [ ] is not special: no tag has it
  assert.equal(selectGlob('main-9', ['main-9', 'main-2'], 'main-*'), undefined)
  assert.equal(selectGlob('a-1', tags, 'dev-*'), 'dev-99') // the current tag need not match
  assert.equal(selectGlob('main-1', tags, 'dev-*'), undefined) // dev-99 sorts before main-1
  assert.equal(selectGlob('zzz', tags, '*'), undefined)
})

test('glob: linear time on a hostile pattern', () => {
  const tag = 'a'.repeat(128)
  const tags = Array.from({ length: 2000 }, () => tag)
  // A backtracking matcher would not return within the test's timeout; this one answers at once.
  assert.equal(selectGlob('0', tags, '*a*a*a*a*a*a*a*a*a*a*a*b'), undefined)
  assert.equal(selectGlob('0', [...tags, tag + 'b'], '*a*a*a*a*a*a*a*a*a*a*a*b'), tag + 'b')
})

test('selectTag: digest keeps the tag; tag policies fall back to the current tag', () => {
  assert.equal(selectTag({ kind: 'digest' }, '1.2.3', pushed), '1.2.3')
  assert.equal(selectTag({ kind: 'semver', level: 'minor' }, '1.2.3', pushed), '1.3.0')
  assert.equal(selectTag({ kind: 'semver', level: 'minor' }, 'latest', pushed), 'latest')
  assert.equal(selectTag({ kind: 'glob', pattern: '1.*' }, '1.2.3', pushed), '1.4.0-rc1')
})

test('policy label: the five forms, anything else refused', () => {
  assert.deepEqual(parsePolicy('digest'), { kind: 'digest' })
  assert.deepEqual(parsePolicy('semver:minor'), { kind: 'semver', level: 'minor' })
  assert.deepEqual(parsePolicy('glob:v1.*'), { kind: 'glob', pattern: 'v1.*' })
  for (const bad of ['', 'semver', 'semver:', 'semver:build', 'glob:', 'glob:a/b', 'glob:a b', 'Digest', `glob:${'a'.repeat(129)}`]) {
    assert.equal(parsePolicy(bad), undefined, bad)
  }
})

test('durations: one number and one unit', () => {
  assert.equal(parseDuration('90s'), 90_000)
  assert.equal(parseDuration('15m'), 900_000)
  assert.equal(parseDuration('6h'), 21_600_000)
  assert.equal(parseDuration('1d'), 86_400_000)
  for (const bad of ['', '1', 'm', '1.5h', '1h30m', '-1m', '1w', '1 h', '1M']) assert.equal(parseDuration(bad), undefined, bad)
  // The one parser of src/durations.ts: the check labels' `ms` too; a range judges the rest.
  assert.equal(parseDuration('500ms'), 500)
  assert.equal(parseDuration('500ms', { min: 60_000 }), undefined)
  assert.equal(parseDuration('8d', { max: 7 * 86_400_000 }), undefined)
  assert.equal(formatDuration(1500), '1500ms')
  assert.equal(formatDuration(5_400_000), '90m')
  assert.equal(formatDuration(86_400_000), '1d')
  assert.equal(formatDuration(90_000), '90s')
})

test('labels: watch true|notify, defaults, refused values named', () => {
  const p = 'container-updater.'
  assert.equal(watchSettings({}, 3_600_000), undefined)
  assert.equal(watchSettings({ [`${p}watch`]: 'yes' }, 3_600_000), undefined)
  assert.equal(watchSettings({ [`${p}watch`]: 'false' }, 3_600_000), undefined)
  assert.deepEqual(watchSettings({ [`${p}watch`]: 'true' }, 3_600_000), {
    watch: 'true', policy: { kind: 'digest' }, policyText: 'digest', scheduleMs: 3_600_000, minAgeMs: 0, problems: []
  })
  const full = watchSettings({ [`${p}watch`]: 'notify', [`${p}policy`]: 'semver:patch', [`${p}schedule`]: '15m', [`${p}min-age`]: '2h' }, 3_600_000)
  assert.deepEqual(full, { watch: 'notify', policy: { kind: 'semver', level: 'patch' }, policyText: 'semver:patch', scheduleMs: 900_000, minAgeMs: 7_200_000, problems: [] })
  const bad = watchSettings({ [`${p}watch`]: 'true', [`${p}policy`]: 'newest', [`${p}schedule`]: '30s', [`${p}min-age`]: 'soon' }, 3_600_000)
  assert.equal(bad?.problems.length, 3)
  assert.match(bad!.problems[0]!, /policy="newest"/)
  assert.match(bad!.problems[1]!, /schedule="30s" is not a duration from 1m to 7d/)
  assert.match(bad!.problems[2]!, /min-age="soon"/)
  assert.equal(watchSettings({ [`${p}watch`]: 'true', [`${p}schedule`]: '8d' }, 1)?.problems.length, 1)
  assert.equal(watchSettings({ [`${p}watch`]: 'true', [`${p}schedule`]: '7d' }, 1)?.scheduleMs, 7 * 86_400_000)
})

test('current image: tag and digest; digest without a tag is pinned', () => {
  assert.deepEqual(currentImage('127.0.0.1:5000/app:1.2.3@sha256:' + 'a'.repeat(64)), { repository: '127.0.0.1:5000/app', tag: '1.2.3', digest: 'sha256:' + 'a'.repeat(64) })
  assert.deepEqual(currentImage('nginx'), { repository: 'nginx', tag: 'latest', digest: undefined })
  assert.deepEqual(currentImage('nginx@sha256:' + 'b'.repeat(64)), { pinned: true })
  assert.equal(currentImage(''), undefined)
})
