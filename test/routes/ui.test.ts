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
