import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'

/**
 * .ci/run counts the real-Swarm tests by their title prefix (`swarm: `, `faults: `, `image: `,
 * `cluster: `), so the prefix is a contract: every test and suite in those folders carries its
 * folder's prefix, and no test elsewhere claims one. A renamed test fails here, by name, instead of
 * silently lowering CI's count.
 */
const prefixed = { swarm: 'swarm: ', faults: 'faults: ', image: 'image: ', cluster: 'cluster: ' } as const
const plain = ['unit', 'routes']
const titleRe = /\b(?:test|describe|it)\(\s*(['`])((?:\\.|(?!\1).)*)\1/g

function titles (dir: string): Array<{ file: string, title: string }> {
  const folder = new URL(`../${dir}/`, import.meta.url)
  return readdirSync(folder).filter((f) => f.endsWith('.test.ts')).flatMap((file) =>
    [...readFileSync(new URL(file, folder), 'utf8').matchAll(titleRe)].map((m) => ({ file: `test/${dir}/${file}`, title: m[2]! })))
}

test('every test and suite of the real-Swarm folders carries its folder\'s prefix (.ci/run counts them)', () => {
  for (const [dir, prefix] of Object.entries(prefixed)) {
    const found = titles(dir)
    assert.ok(found.length > 0, `no tests found in test/${dir}`)
    for (const { file, title } of found) assert.ok(title.startsWith(prefix), `${file}: "${title}" must start with "${prefix}"`)
  }
})

test('no test outside them claims a real-Swarm prefix', () => {
  for (const dir of plain) {
    for (const { file, title } of titles(dir)) {
      for (const prefix of Object.values(prefixed)) assert.ok(!title.startsWith(prefix), `${file}: "${title}" is counted as a real-Swarm test by .ci/run`)
    }
  }
})
