import { test } from 'node:test'
import assert from 'node:assert/strict'
import { splitLines } from '../../src/docker/lines.ts'

test('splitLines: lines across chunks, the last one on flush, and a line past the limit dropped to its end', () => {
  const lines: string[] = []
  let tooLong = 0
  const split = splitLines(8, (line) => lines.push(line), () => { tooLong++ })
  split.push('ab')
  split.push('c\nde\n')
  split.push('0123456')
  split.push('789abc') // past 8 characters without a newline: dropped, not buffered
  split.push('def\nok\nla')
  split.push('st')
  assert.deepEqual(lines, ['abc', 'de', 'ok'])
  assert.equal(tooLong, 1)
  split.flush()
  assert.deepEqual(lines, ['abc', 'de', 'ok', 'last'])
  split.flush()
  assert.equal(lines.length, 4, 'flushed once')
  split.push('x'.repeat(20))
  split.flush()
  assert.equal(tooLong, 2)
  assert.equal(lines.length, 4, 'a dropped line is not flushed')
})
