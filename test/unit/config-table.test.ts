import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { FILES, ROOT, configTable, withTable } from '../../scripts/config-table.ts'
import { EnvSchema } from '../../src/config.ts'

test('README.md and docs/API.md carry the configuration table generated from src/config.ts', () => {
  for (const file of FILES) {
    const text = readFileSync(`${ROOT}${file}`, 'utf8')
    assert.equal(withTable(text, file), text, `${file} differs from src/config.ts: run node --import tsx scripts/config-table.ts`)
  }
})

test('the generated table has one row per variable of the schema, each described', () => {
  const table = configTable()
  for (const [name, schema] of Object.entries(EnvSchema.properties)) {
    assert.match(table, new RegExp(`^\\| \`${name}\` \\|`, 'm'), name)
    assert.ok(typeof (schema as { description?: string }).description === 'string', `${name} has no description`)
  }
  assert.equal(table.split('\n').filter((line) => line.startsWith('| `')).length, Object.keys(EnvSchema.properties).length)
})

test('a hand edit of a table is caught', () => {
  const text = readFileSync(`${ROOT}README.md`, 'utf8')
  const edited = text.replace('| `PORT` | `3000` |', '| `PORT` | `8080` |')
  assert.notEqual(edited, text)
  assert.notEqual(withTable(edited, 'README.md'), edited)
})
