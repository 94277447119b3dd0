import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Issue #18: one concern per file, and a file that grows past this is split by moving a nameable
 * concern into a module of its own (CONTRIBUTING.md), not by cramming lines.
 */
const ROOT = join(import.meta.dirname, '../..')
const LIMITS = { src: 250, test: 300 }

function linesOver (folder: keyof typeof LIMITS): string[] {
  const files = readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' }).filter((file) => /\.(ts|js|mjs)$/.test(file))
  assert.ok(files.length > 20, `${folder} was read`)
  return files.flatMap((file) => {
    const lines = readFileSync(join(ROOT, folder, file), 'utf8').replace(/\n$/, '').split('\n').length
    return lines > LIMITS[folder] ? [`${folder}/${file}: ${lines} lines`] : []
  })
}

test(`no source file is over ${LIMITS.src} lines`, () => {
  assert.deepEqual(linesOver('src'), [])
})

test(`no test file is over ${LIMITS.test} lines`, () => {
  assert.deepEqual(linesOver('test'), [])
})
