import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FakeDocker } from '../fake-docker.ts'
import { build, postUpdate, testConfig } from '../helper.ts'

const IMAGE = '127.0.0.1:5000/web:latest@sha256:' + 'a'.repeat(64)

test('a window label that cannot be read refuses the update 409 CU_INVALID_WINDOW, naming the label; nothing starts', async (t) => {
  const docker = new FakeDocker()
  docker.addService('web', IMAGE, { labels: { 'container-updater.window': 'Someday 10:00-11:00' } })
  const app = await build(t, {}, { runner: docker.runner })
  const res = await postUpdate(app, { appName: 'web' })
  assert.equal(res.statusCode, 409, res.body)
  const body = res.json<{ code: string, message: string }>()
  assert.equal(body.code, 'CU_INVALID_WINDOW')
  assert.match(body.message, /container-updater\.window="Someday 10:00-11:00": cannot read/)
  assert.deepEqual(docker.calls.filter((args) => args[1] === 'update'), [])
})

test('UPDATE_WINDOWS is validated at start, in one line naming the variable', () => {
  assert.throws(() => testConfig({ UPDATE_WINDOWS: 'Mon-Fri 22:00' }), /^ConfigError: UPDATE_WINDOWS: cannot read "Mon-Fri 22:00"/)
  assert.throws(() => testConfig({ UPDATE_WINDOWS: 'Mon 10:00-11:00 Mars/Olympus' }), /UPDATE_WINDOWS: .*unknown time zone Mars\/Olympus/)
  assert.equal(testConfig({ UPDATE_WINDOWS: 'Mon-Fri 22:00-06:00 Europe/Berlin' }).UPDATE_WINDOWS, 'Mon-Fri 22:00-06:00 Europe/Berlin')
})
