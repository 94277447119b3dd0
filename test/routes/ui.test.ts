import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FakeDocker } from '../fake-docker.ts'
import { build } from '../helper.ts'

test('GET /ui: the page and its assets carry a strict CSP, and the page has no inline script or style', async (t) => {
  const app = await build(t, {}, { runner: new FakeDocker().runner })
  const page = await app.inject({ url: '/ui' })
  assert.equal(page.statusCode, 200)
  assert.match(String(page.headers['content-type']), /^text\/html/)
  for (const url of ['/ui', '/ui/style.css']) {
    const res = await app.inject({ url })
    assert.match(String(res.headers['content-security-policy']), /^default-src 'self'; script-src 'self'; style-src 'self';/, url)
    assert.equal(res.headers['x-content-type-options'], 'nosniff')
  }
  // Every script is a file of this origin; no inline script, handler or style attribute.
  assert.deepEqual([...page.body.matchAll(/<script([^>]*)>/g)].map((m) => m[1]), [' type="module" src="/ui/page.js"'])
  assert.doesNotMatch(page.body, /\son[a-z]+=|\sstyle=|<style/i)
  assert.doesNotMatch(page.body, /https?:\/\//, 'no other origin named')
})

test('GET /ui/<module>.js: every module of src/ui is served (page.js imports them), and nothing else is', async (t) => {
  const { readdirSync } = await import('node:fs')
  const { UI_MODULES } = await import('../../src/routes/ui.ts')
  const modules = readdirSync(new URL('../../src/ui/', import.meta.url)).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort()
  assert.deepEqual([...UI_MODULES].sort(), modules)
  const app = await build(t, {}, { runner: new FakeDocker().runner })
  for (const m of modules) {
    const res = await app.inject({ url: `/ui/${m}.js` })
    // 503 CU_UI_NOT_BUILT when dist/ui is absent: still a route, with its reason.
    assert.ok(res.statusCode === 200 || res.json().code === 'CU_UI_NOT_BUILT', `${m}: ${res.statusCode}`)
    if (res.statusCode === 200) assert.match(String(res.headers['content-type']), /^text\/javascript/)
  }
  assert.equal((await app.inject({ url: '/ui/tsconfig.json' })).statusCode, 404)
  assert.equal((await app.inject({ url: '/ui/../app.js' })).statusCode, 404)
})
