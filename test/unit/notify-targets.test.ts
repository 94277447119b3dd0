import { test } from 'node:test'
import assert from 'node:assert/strict'
import { NOTIFY_EVENTS, NotifyConfigError, parseNotifyOn, parseNotifyUrls, redactTargetUrl } from '../../src/notify/targets.ts'

test('redactTargetUrl keeps scheme, host and port only', () => {
  assert.equal(redactTargetUrl('https://hooks.slack.com/services/T000/B000/XXXX'), 'https://hooks.slack.com/[redacted]')
  assert.equal(redactTargetUrl('https://discord.com/api/webhooks/123/abc?wait=true'), 'https://discord.com/[redacted]')
  assert.equal(redactTargetUrl('http://user:pass@127.0.0.1:8080/hook'), 'http://127.0.0.1:8080/[redacted]')
  assert.equal(redactTargetUrl('http://[::1]:9000/?token=x'), 'http://[::1]:9000/[redacted]')
  assert.equal(redactTargetUrl('https://example.com/'), 'https://example.com/')
  assert.equal(redactTargetUrl('https://example.com/#frag'), 'https://example.com/[redacted]')
  assert.equal(redactTargetUrl('not a url'), '[invalid URL]')
  assert.equal(redactTargetUrl('mailto:someone@example.com'), 'mailto:[redacted]')
})

test('NOTIFY_URLS: space-separated FORMAT+URL targets with redacted labels', () => {
  assert.deepEqual(parseNotifyUrls(undefined), [])
  assert.deepEqual(parseNotifyUrls('  \n '), [])
  const targets = parseNotifyUrls(' json+https://receiver.example:8443/in?key=k1\nslack+https://hooks.slack.com/services/T/B/X   discord+https://discord.com/api/webhooks/1/tok ')
  assert.deepEqual(targets.map((t) => [t.format, t.url.href, t.label]), [
    ['json', 'https://receiver.example:8443/in?key=k1', 'json+https://receiver.example:8443/[redacted]'],
    ['slack', 'https://hooks.slack.com/services/T/B/X', 'slack+https://hooks.slack.com/[redacted]'],
    ['discord', 'https://discord.com/api/webhooks/1/tok', 'discord+https://discord.com/[redacted]']
  ])
  assert.equal(targets[0]!.authorization, undefined)
})

test('two webhooks on one host keep distinct labels (metric series stay apart)', () => {
  const targets = parseNotifyUrls('slack+https://hooks.slack.com/services/A slack+https://hooks.slack.com/services/B slack+https://hooks.slack.com/services/C')
  assert.deepEqual(targets.map((t) => t.label), [
    'slack+https://hooks.slack.com/[redacted]', 'slack+https://hooks.slack.com/[redacted]#2', 'slack+https://hooks.slack.com/[redacted]#3'
  ])
})

test('userinfo becomes a Basic authorization header and leaves the URL (fetch refuses credentials in URLs)', () => {
  const [target] = parseNotifyUrls('json+https://bot:p%40ss%3Aword@receiver.example/hook')
  assert.equal(target!.url.href, 'https://receiver.example/hook')
  assert.equal(target!.authorization, 'Basic ' + Buffer.from('bot:p@ss:word').toString('base64'))
  assert.equal(target!.label, 'json+https://receiver.example/[redacted]')
})

test('a bad entry is named by its position and redacted form, never with its secret parts', () => {
  const cases: Array<[string, RegExp]> = [
    ['https://hooks.slack.com/services/T0/B0/SECRET1', /^NOTIFY_URLS entry 1 \(https:\/\/hooks\.slack\.com\/\[redacted\]\) must be FORMAT\+URL with FORMAT one of json, slack, discord$/],
    ['json+https://ok.example/x teams+https://outlook.office.com/webhook/SECRET1', /^NOTIFY_URLS entry 2 \(teams\+https:\/\/outlook\.office\.com\/\[redacted\]\): unknown format "teams"; use one of json, slack, discord$/],
    ['slack+ftp://files.example/SECRET1', /^NOTIFY_URLS entry 1 \(slack\+ftp:\/\/files\.example\/\[redacted\]\): only http and https URLs are allowed$/],
    ['json+file:///etc/SECRET1', /^NOTIFY_URLS entry 1 \(json\+file:\[redacted\]\): only http and https URLs are allowed$/],
    ['discord+//discord.com/api/webhooks/1/SECRET1', /^NOTIFY_URLS entry 1 \(discord\+…\) is not a valid URL$/],
    ['json+https://a:%E0%A4%A@host.example/SECRET1', /^NOTIFY_URLS entry 1 \(json\+https:\/\/host\.example\/\[redacted\]\): the user or password is not valid percent-encoding$/],
    ['+https://host.example/SECRET1', /^NOTIFY_URLS entry 1 \(\[invalid URL\]\) must be FORMAT\+URL/]
  ]
  for (const [value, expected] of cases) {
    assert.throws(() => parseNotifyUrls(value), (error: Error) => {
      assert.ok(error instanceof NotifyConfigError, value)
      assert.match(error.message, expected)
      assert.doesNotMatch(error.message, /SECRET1|%E0/)
      assert.doesNotMatch(error.message, /\n/)
      return true
    })
  }
})

test('NOTIFY_ON: all notifiable states and watch events by default, a subset when given, a clear error otherwise', () => {
  assert.deepEqual([...parseNotifyOn(undefined)], [...NOTIFY_EVENTS])
  assert.deepEqual([...parseNotifyOn(' ')], [...NOTIFY_EVENTS])
  assert.ok(parseNotifyOn(undefined).has('available') && parseNotifyOn(undefined).has('quarantined'))
  assert.deepEqual([...parseNotifyOn('rolled_back, failed ,timeout,')], ['rolled_back', 'failed', 'timeout'])
  assert.throws(() => parseNotifyOn('completed,done'), /^NotifyConfigError: NOTIFY_ON: unknown state "done"; use a comma-separated list of completed, rolled_back, paused, timeout, failed, superseded, cancelled, held, pending_approval, rejected, expired, frozen, unfrozen, available, quarantined$/)
  // DESIGN §8: the new final states, the parked ones and the freeze events may be asked for; §7: the watcher's events.
  assert.deepEqual([...parseNotifyOn('pending_approval,expired,frozen,unfrozen')], ['pending_approval', 'expired', 'frozen', 'unfrozen'])
  assert.deepEqual([...parseNotifyOn('quarantined,available')], ['quarantined', 'available'])
  // Not final: a notification for them would be noise.
  assert.throws(() => parseNotifyOn('queued'), /unknown state "queued"/)
  assert.throws(() => parseNotifyOn('updating'), /unknown state "updating"/)
  assert.throws(() => parseNotifyOn('Completed'), /unknown state "Completed"/)
})
