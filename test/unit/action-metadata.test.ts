import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { ROOT, loadAction, parseOutputs, stepEnv } from './action-harness.ts'

/** action.yml is what GitHub loads: it must parse, and agree with the script it runs. */
const scripts = readdirSync(join(ROOT, 'action')).filter((f) => f.endsWith('.mjs')).map((f) => readFileSync(join(ROOT, 'action', f), 'utf8'))
const inputsRead = new Set(scripts.flatMap((s) => [...s.matchAll(/\bINPUT_[A-Z0-9_]+/g)].map((m) => m[0])))
const outputsWritten = new Set(scripts.flatMap((s) => [...s.matchAll(/\boutput\('([a-z-]+)'/g)].map((m) => m[1]!)))

test('action.yml parses as YAML and declares a composite action with one bash step', () => {
  const action = loadAction()
  assert.equal(action.name, 'Container Updater')
  assert.equal(action.runs.using, 'composite')
  assert.equal(action.runs.steps.length, 1)
  assert.equal(action.runs.steps[0]!.shell, 'bash')
  assert.match(action.runs.steps[0]!.run, /action\/update\.mjs/)
  for (const [name, input] of Object.entries(action.inputs)) {
    assert.equal(typeof input.description, 'string', `${name} has a description`)
    if (input.default !== undefined) assert.equal(typeof input.default, 'string', `${name}'s default is a string, as GitHub passes it`)
  }
})

test('action.yml: every INPUT_ variable the script reads is mapped from a declared input, and every input is passed on', () => {
  const action = loadAction()
  const env = action.runs.steps[0]!.env
  assert.ok(inputsRead.size >= 10, `the scripts read ${[...inputsRead].join(', ')}`)
  for (const variable of inputsRead) assert.ok(variable in env, `${variable} is read by the script but not set by action.yml`)
  const mapped = new Set(Object.values(env).map((v) => /\$\{\{\s*inputs\.([a-z-]+)\s*\}\}/.exec(v)?.[1]))
  for (const input of Object.keys(action.inputs)) assert.ok(mapped.has(input), `input ${input} never reaches the script`)
  // The names GitHub's own convention would give them.
  for (const [variable, value] of Object.entries(env)) {
    const input = /inputs\.([a-z-]+)/.exec(value)![1]!
    assert.equal(variable, `INPUT_${input.toUpperCase().replace(/-/g, '_')}`)
  }
})

test('action.yml: the targets and the polling inputs exist, and no target is required on its own', () => {
  const { inputs } = loadAction()
  for (const name of ['url', 'app-name', 'image', 'stack', 'tag', 'dry-run', 'wait', 'timeout', 'poll-interval', 'token', 'audience']) assert.ok(name in inputs, name)
  assert.equal(inputs.url!.required, true)
  for (const name of ['app-name', 'image', 'stack']) assert.notEqual(inputs[name]!.required, true, `${name} is one of three`)
})

test('action.yml: every output is one the script writes', () => {
  const { outputs } = loadAction()
  for (const [name, { value }] of Object.entries(outputs)) {
    assert.equal(value, `\${{ steps.update.outputs.${name} }}`)
    assert.ok(outputsWritten.has(name), `the script never writes ${name}`)
  }
})

test('the test runner evaluates inputs as GitHub does: given value, else the declared default, else empty', () => {
  const env = stepEnv(loadAction(), { url: 'http://u', 'app-name': 'web' })
  assert.equal(env.INPUT_URL, 'http://u')
  assert.equal(env.INPUT_APP_NAME, 'web')
  assert.equal(env.INPUT_WAIT, 'true')
  assert.equal(env.INPUT_IMAGE, '')
  assert.throws(() => stepEnv(loadAction(), { appname: 'web' }), /declares no input "appname"/)
  assert.deepEqual(parseOutputs('a=1\nb<<EOF_x\nline 1\nline 2\nEOF_x\nc=x=y\n'), { a: '1', b: 'line 1\nline 2', c: 'x=y' })
})

test('the workflows parse as YAML; CI validates the action and the workflows and tests Node 20 and 24', () => {
  const dir = join(ROOT, '.github', 'workflows')
  const workflows = readdirSync(dir).filter((f) => f.endsWith('.yml'))
  for (const file of workflows) assert.equal(typeof parse(readFileSync(join(dir, file), 'utf8')).jobs, 'object', file)
  const ci = parse(readFileSync(join(dir, 'ci.yml'), 'utf8'))
  const steps = Object.values(ci.jobs as Record<string, { steps: Array<{ run?: string }> }>).flatMap((job) => job.steps)
  const validation = steps.find((step) => step.run?.includes('@action-validator/cli'))
  assert.ok(validation !== undefined, 'a CI step runs @action-validator/cli')
  assert.match(validation.run!, /action\.yml/)
  assert.match(validation.run!, /\.github\/workflows\/\*\.yml/)
  const matrix = ci.jobs.test.strategy.matrix.node as number[]
  assert.deepEqual(matrix.map(String).sort(), ['20', '24'])
})
