import { test } from 'node:test'
import assert from 'node:assert/strict'
import { WindowSyntaxError, isOpen, opensAt, parseWindows } from '../../src/engine/gates/windows.ts'
import { wallAt } from '../../src/engine/gates/zone-clock.ts'

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
const NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const offsetAt = (instant: number, zone: string): number => wallAt(instant, zone) - instant

/** Every instant in [from, to) at which the zone's offset changes, to the minute, found by scanning hours. */
function transitions (zone: string, year: number): Array<{ at: number, before: number, after: number }> {
  const found = []
  const end = Date.UTC(year + 1, 0, 1)
  for (let t = Date.UTC(year, 0, 1); t < end; t += HOUR) {
    const before = offsetAt(t, zone)
    const after = offsetAt(t + HOUR, zone)
    if (before === after) continue
    let lo = t
    let hi = t + HOUR
    while (hi - lo > MIN) {
      const mid = lo + Math.floor((hi - lo) / 2 / MIN) * MIN
      if (offsetAt(mid, zone) === before) lo = mid
      else hi = mid
    }
    found.push({ at: hi, before, after })
  }
  return found
}

const hhmm = (minutes: number): string => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`
const minuteOfDay = (wall: number): number => Math.floor((wall % DAY) / MIN)

test('window lists parse as documented; bad ones are refused naming the part', () => {
  const [berlin, weekend] = parseWindows('Mon-Fri 22:00-06:00 Europe/Berlin, Sat,Sun 00:00-24:00')
  assert.deepEqual([...berlin!.days].sort(), [1, 2, 3, 4, 5])
  assert.deepEqual([berlin!.start, berlin!.end, berlin!.zone, berlin!.text], [1320, 360, 'Europe/Berlin', 'Mon-Fri 22:00-06:00 Europe/Berlin'])
  assert.deepEqual([[...weekend!.days].sort(), weekend!.start, weekend!.end, weekend!.zone], [[0, 6], 0, 1440, 'UTC'])
  assert.deepEqual([...parseWindows('Fri-Mon 10:00-11:00')[0]!.days].sort(), [0, 1, 5, 6], 'a range may wrap the week')
  for (const bad of ['', 'Mon', 'Mon 10:00', 'Mon 10:00-10:00', 'Mon 24:00-01:00', 'Mon 10:00-25:00', 'Mon 10:00-24:30', 'Mon 1:00-02:00',
    'Funday 10:00-11:00', 'Mon 10:00-11:00 Mars/Olympus', 'Mon 10:00-11:00,', 'Mon 10:00-11:00 Tue 10:00-11:00', 'x'.repeat(2000)]) {
    assert.throws(() => parseWindows(bad), WindowSyntaxError, JSON.stringify(bad))
  }
})

test('a window that crosses midnight belongs to the day it starts', () => {
  const windows = parseWindows('Fri 22:00-06:00')
  const fri = Date.UTC(2026, 0, 2) // a Friday
  assert.equal(isOpen(windows, fri + 21 * HOUR + 59 * MIN), false)
  assert.equal(isOpen(windows, fri + 22 * HOUR), true)
  assert.equal(isOpen(windows, fri + DAY + 5 * HOUR + 59 * MIN), true, 'Saturday morning is Friday night')
  assert.equal(isOpen(windows, fri + DAY + 6 * HOUR), false)
  assert.equal(isOpen(windows, fri + 3 * HOUR), false, 'Friday morning would be Thursday night')
  assert.equal(opensAt(windows, fri + DAY + 6 * HOUR), fri + 7 * DAY + 22 * HOUR, 'next Friday')
  assert.equal(opensAt(windows, fri + 23 * HOUR), fri + 23 * HOUR, 'open: now')
})

for (const zone of ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe']) {
  test(`${zone}: every DST transition of 2024-2027 keeps windows on the wall clock`, () => {
    let checked = 0
    for (const year of [2024, 2025, 2026, 2027]) {
      const found = transitions(zone, year)
      assert.equal(found.length, 2, `${zone} ${year}: two transitions`)
      for (const { at, before, after } of found) {
        const shift = after - before
        // Lord Howe moves its clocks by half an hour, the others by an hour.
        assert.equal(Math.abs(shift), zone === 'Australia/Lord_Howe' ? 30 * MIN : HOUR)
        const day = Math.floor(wallAt(at, zone) / DAY) * DAY
        const weekday = new Date(day).getUTCDay()
        const label = `${zone} ${new Date(at).toISOString()}`

        // Noon of the transition day is noon on the wall clock, at the new offset.
        const noon = parseWindows(`${NAMES[weekday]} 12:00-13:00 ${zone}`)
        assert.equal(opensAt(noon, at), day + 12 * HOUR - after, label)
        assert.equal(opensAt(noon, day - 12 * HOUR - before), day + 12 * HOUR - after, `${label} from the evening before`)

        // The night window of the evening before spans the change: 8 wall hours, 8 h minus the shift in real time.
        const night = parseWindows(`${NAMES[(weekday + 6) % 7]} 22:00-06:00 ${zone}`)
        const opens = day - 2 * HOUR - before
        const closes = day + 6 * HOUR - after
        assert.equal(opensAt(night, at - 12 * HOUR), opens, label)
        assert.equal(closes - opens, 8 * HOUR - shift, label)
        for (const instant of [opens, at - MIN, at, at + MIN, closes - MIN]) assert.equal(isOpen(night, instant), true, `${label} open at ${new Date(instant).toISOString()}`)
        assert.equal(isOpen(night, opens - MIN), false, label)
        assert.equal(isOpen(night, closes), false, label)
        // The transition day's own night window has not started at the transition.
        assert.equal(isOpen(parseWindows(`${NAMES[weekday]} 22:00-06:00 ${zone}`), at), false, label)

        const edge = minuteOfDay(wallAt(at - MIN, zone)) + 1 // the wall time at which clocks change
        if (shift > 0) {
          // Clocks go forward: a window starting in the skipped span opens when the clock jumps past its start.
          const gap = parseWindows(`${NAMES[weekday]} ${hhmm(edge + 15)}-${hhmm(edge + 120)} ${zone}`)
          assert.equal(opensAt(gap, at - HOUR), at, label)
          assert.equal(isOpen(gap, at - MIN), false, label)
          assert.equal(isOpen(gap, at), true, label)
        } else {
          // Clocks go back: a window inside the repeated span is open in both occurrences.
          const start = minuteOfDay(wallAt(at, zone))
          const repeated = parseWindows(`${NAMES[weekday]} ${hhmm(start)}-${hhmm(start + 15)} ${zone}`)
          const first = at + shift // shift < 0: the first time the clock showed this
          assert.equal(isOpen(repeated, first), true, label)
          assert.equal(isOpen(repeated, first + 15 * MIN), false, label)
          assert.equal(opensAt(repeated, first + 16 * MIN), at, `${label}: the second occurrence`)
          assert.equal(isOpen(repeated, at + 14 * MIN), true, label)
        }
        checked++
      }
    }
    assert.equal(checked, 8)
  })

  test(`${zone}: every day of 2026, a weekday night window opens next at 22:00 wall time on a weekday`, () => {
    const windows = parseWindows(`Mon-Fri 22:00-06:00 ${zone}`)
    for (let noon = Date.UTC(2026, 0, 1, 12); noon < Date.UTC(2027, 0, 1); noon += DAY) {
      const now = noon - offsetAt(noon, zone)
      const next = opensAt(windows, now)
      assert.ok(next > now && next - now <= 3 * DAY + 12 * HOUR, `${zone} ${new Date(now).toISOString()}`)
      const wall = wallAt(next, zone)
      assert.equal(minuteOfDay(wall), 22 * 60, new Date(next).toISOString())
      assert.ok([1, 2, 3, 4, 5].includes(new Date(wall).getUTCDay()))
      assert.equal(isOpen(windows, next - MIN), false)
    }
  })
}
