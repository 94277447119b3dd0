import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseAcr } from '../../src/hooks/acr.ts'
import { parseGitea } from '../../src/hooks/gitea.ts'
import { parseHarbor } from '../../src/hooks/harbor.ts'
import { parseQuay } from '../../src/hooks/quay.ts'
import { parseZot } from '../../src/hooks/zot.ts'
import type { PushEvent } from '../../src/hooks/events.ts'

import { fixture } from './hooks-payloads.ts'

// The registries' own payloads (test/fixtures/hooks/README.md says where each came from), parsed verbatim.

const withoutId = (events: PushEvent[]) => events.map(({ id: _id, ...rest }) => rest)
const lower = (headers: Record<string, string>) => Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]))

test('fixture acr-push: one push of myregistry.azurecr.io/hello-world:v1 with its digest and event id', () => {
  const { events, ignored } = parseAcr(fixture('acr-push.json'))
  assert.deepEqual(ignored, [])
  assert.deepEqual(events, [{
    source: 'acr',
    id: 'cb8c3971-9adc-488b-bdd8-43cbb4974ff5',
    registry: 'myregistry.azurecr.io',
    repository: 'hello-world',
    tag: 'v1',
    digest: 'sha256:80f0d5c8786bb9e621a45ece0db56d11cdc624ad20da9fe62e9d25490f331d7d'
  }])
})

test('fixture acr-delete: answered, ignored as not-a-push', () => {
  assert.deepEqual(parseAcr(fixture('acr-delete.json')), { events: [], ignored: ['not-a-push'] })
})

test('fixture quay-repo-push: one event per updated tag on the docker_url registry; no digest, a fresh id per delivery', () => {
  const first = parseQuay(fixture('quay-repo-push.json'))
  assert.deepEqual(first.ignored, [])
  assert.deepEqual(withoutId(first.events), [{ source: 'quay', registry: 'quay.io', repository: 'mynamespace/repository', tag: 'latest' }])
  const again = parseQuay(fixture('quay-repo-push.json'))
  assert.notEqual(again.events[0]!.id, first.events[0]!.id, 'Quay sends no id and no time: a later push of the tag must not be taken for a duplicate')
  const sample = parseQuay(fixture('quay-repo-push-sample.json'))
  assert.deepEqual(sample.events.map((e) => e.tag), ['latest', 'foo'])
})

test('fixture gitea-package-created: the container version is one push on the forge host, owner/name lower-cased', () => {
  const headers = { 'x-gitea-event': 'package', 'x-gitea-delivery': 'd-1' }
  const { events, ignored } = parseGitea(fixture('gitea-package-created.json'), headers)
  assert.deepEqual(ignored, [])
  assert.deepEqual(withoutId(events), [{ source: 'gitea', registry: 'localhost:3000', repository: 'user1/giteacontainer', tag: 'latest', pusher: 'user1' }])
  assert.match(events[0]!.id, /^[0-9a-f]{32}$/)
  const forgejo = parseGitea(fixture('gitea-package-created.json'), { 'x-forgejo-event': 'package', 'x-gitea-event': 'package', 'x-gitea-delivery': 'd-2' })
  assert.equal(forgejo.events[0]!.id, events[0]!.id, 'the id comes from the signed body, not the unsigned delivery header')
})

test('fixture zot-image-updated: binary-mode CloudEvent; the registry comes from the sink address', () => {
  const { headers, body } = fixture('zot-image-updated.json') as { headers: Record<string, string>, body: unknown }
  const { events, ignored } = parseZot(body, lower(headers), 'zot.example.com:5000')
  assert.deepEqual(ignored, [])
  // zot's own test digest (`sha256:abc`) is no digest: the event is a trigger without one.
  assert.deepEqual(events, [{ source: 'zot', id: '0d9c3b84-6a0e-4cf2-9a54-7e1b7c2f5a11', registry: 'zot.example.com:5000', repository: 'golang', tag: 'latest', pusher: 'testuser' }])
  assert.deepEqual(parseZot(body, { ...lower(headers), 'ce-type': 'zotregistry.image.deleted' }, 'zot.example.com'), { events: [], ignored: ['not-a-push'] })
  assert.deepEqual(parseZot({ name: 'golang' }, { 'ce-type': 'zotregistry.repository.created' }, undefined), { events: [], ignored: ['not-a-push'] })
  assert.throws(() => parseZot(body, lower(headers), undefined), { code: 'CU_INVALID_HOOK_BODY', message: /registry=/ })
  assert.throws(() => parseZot(body, lower(headers), 'a/b'), { code: 'CU_INVALID_HOOK_BODY' })
  assert.throws(() => parseZot(body, {}, 'zot.example.com'), { code: 'CU_INVALID_HOOK_BODY', message: /Ce-Type/ })
})

test('fixture zot-image-updated in structured mode (application/cloudevents+json) is read the same', () => {
  const { headers, body } = fixture('zot-image-updated.json') as { headers: Record<string, string>, body: unknown }
  const structured = { specversion: '1.0', id: headers['Ce-Id'], source: headers['Ce-Source'], type: headers['Ce-Type'], time: headers['Ce-Time'], datacontenttype: 'application/json', data: body }
  const { events } = parseZot(structured, {}, 'zot.example.com')
  assert.deepEqual(withoutId(events), [{ source: 'zot', registry: 'zot.example.com', repository: 'golang', tag: 'latest', pusher: 'testuser' }])
  assert.equal(events[0]!.id, headers['Ce-Id'])
})

test('fixture tcr-push-image (Harbor 1.x format): pushImage is a push; the vendor-redacted digest is dropped, not trusted', () => {
  const { events, ignored } = parseHarbor(fixture('tcr-push-image.json'))
  assert.deepEqual(ignored, [])
  assert.deepEqual(withoutId(events), [{ source: 'harbor', registry: 'xxx-bj.tencentcloudcr.com', repository: 'public/nginx', tag: 'v1.10.0', pusher: '332133xxxx' }])
  const pull = { ...(fixture('tcr-push-image.json') as object), type: 'pullImage' }
  assert.deepEqual(parseHarbor(pull), { events: [], ignored: ['not-a-push'] })
})
