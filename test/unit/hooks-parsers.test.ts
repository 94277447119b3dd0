import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseDistribution } from '../../src/hooks/distribution.ts'
import { parseGithub } from '../../src/hooks/github.ts'
import { parseHarbor } from '../../src/hooks/harbor.ts'
import { parseDockerhub } from '../../src/hooks/dockerhub.ts'
import { parseAcr } from '../../src/hooks/acr.ts'
import { parseQuay } from '../../src/hooks/quay.ts'
import { parseGitea } from '../../src/hooks/gitea.ts'
import { DIGEST, blobEvent, distributionEvent, dockerhubPush, githubPackage, harborPush } from './hooks-payloads.ts'

test('distribution: only manifests pushed by tag count', () => {
  const tagged = distributionEvent({ id: 'm-1', repository: 'team/app', tag: 'v1', host: '127.0.0.1:5000' })
  const body = {
    events: [
      blobEvent(), blobEvent(),
      distributionEvent({ tag: null }), // manifest pushed by digest
      distributionEvent({ action: 'pull' }),
      distributionEvent({ action: 'delete' }),
      distributionEvent({ action: 'mount', tag: null }),
      tagged,
      { action: 'push' }, 'junk', null
    ]
  }
  const { events, ignored } = parseDistribution(body)
  assert.deepEqual(events, [{ source: 'distribution', id: 'm-1', registry: '127.0.0.1:5000', repository: 'team/app', tag: 'v1', digest: DIGEST, pusher: 'ci' }])
  assert.deepEqual(ignored, ['untagged', 'untagged', 'untagged', 'not-a-push', 'not-a-push', 'not-a-push', 'invalid-reference', 'not-a-push', 'not-a-push'])
})

test('distribution: the host comes from request.host, else from target.url; lower-cased', () => {
  const event = distributionEvent({ host: 'Registry.Example.com:5000' })
  assert.equal(parseDistribution({ events: [event] }).events[0]?.registry, 'registry.example.com:5000')
  const { request: _request, ...withoutRequest } = distributionEvent({ host: 'r.example:5001' })
  assert.equal(parseDistribution({ events: [withoutRequest] }).events[0]?.registry, 'r.example:5001')
})

test('distribution: a body that is not an envelope is refused (400)', () => {
  for (const body of [null, [], 'x', {}, { events: {} }]) {
    assert.throws(() => parseDistribution(body), { code: 'CU_INVALID_HOOK_BODY', statusCode: 400 }, JSON.stringify(body))
  }
  assert.deepEqual(parseDistribution({ events: [] }), { events: [], ignored: [] })
})

test('github: a published container version with a tag is one event on ghcr.io', () => {
  const headers = { 'x-github-event': 'registry_package', 'x-github-delivery': 'guid-1' }
  const { events, ignored } = parseGithub(githubPackage({ owner: 'Octo-Org', name: 'app', tag: 'v1' }), headers)
  assert.deepEqual(ignored, [])
  const id = events[0]?.id ?? ''
  assert.match(id, /^[0-9a-f]{32}$/, 'the id is derived from the signed content, not the unsigned delivery header')
  assert.deepEqual(events, [{ source: 'github', id, registry: 'ghcr.io', repository: 'octo-org/app', tag: 'v1', digest: DIGEST, pusher: 'octocat' }])
  const redelivered = parseGithub(githubPackage({ owner: 'Octo-Org', name: 'app', tag: 'v1' }), { ...headers, 'x-github-delivery': 'guid-2' })
  assert.equal(redelivered.events[0]?.id, id, 'a new delivery GUID for the same signed content is the same event')
  const pkg = parseGithub(githubPackage({ kind: 'package', action: 'updated', name: 'sub/app' }), { ...headers, 'x-github-event': 'package' })
  assert.equal(pkg.events[0]?.repository, 'octo-org/sub/app')
})

test('github: without package_url, the image is ghcr.io/<namespace>/<name>', () => {
  const body = githubPackage({ owner: 'Octo-Org', name: 'app' })
  delete (body.registry_package as { package_version: { package_url?: string } }).package_version.package_url
  const { events } = parseGithub(body, { 'x-github-event': 'registry_package', 'x-github-delivery': 'g' })
  assert.equal(events[0]?.repository, 'octo-org/app')
  assert.equal(events[0]?.registry, 'ghcr.io')
})

test('github: untagged versions, other actions, other events and pings are ignored', () => {
  const headers = { 'x-github-event': 'registry_package', 'x-github-delivery': 'g' }
  assert.deepEqual(parseGithub(githubPackage({ tag: '' }), headers), { events: [], ignored: ['untagged'] })
  assert.deepEqual(parseGithub(githubPackage({ action: 'deleted' }), headers), { events: [], ignored: ['not-a-push'] })
  assert.deepEqual(parseGithub({ zen: 'Keep it logically awesome.', hook_id: 1 }, { ...headers, 'x-github-event': 'ping' }), { events: [], ignored: ['not-a-push'] })
  assert.deepEqual(parseGithub(githubPackage(), { ...headers, 'x-github-event': 'push' }), { events: [], ignored: ['not-a-push'] })
  assert.throws(() => parseGithub({ action: 'published' }, headers), { code: 'CU_INVALID_HOOK_BODY' })
  assert.throws(() => parseGithub([], headers), { code: 'CU_INVALID_HOOK_BODY' })
})

test('harbor: PUSH_ARTIFACT with a tag, registry from resource_url', () => {
  const { events, ignored } = parseHarbor(harborPush({ host: 'Harbor.example.com:8443', repo: 'library/app', tag: 'v1' }))
  assert.deepEqual(ignored, [])
  assert.equal(events.length, 1)
  assert.deepEqual({ ...events[0], id: undefined }, { source: 'harbor', id: undefined, registry: 'harbor.example.com:8443', repository: 'library/app', tag: 'v1', digest: DIGEST, pusher: 'admin' })
  const [first, again] = [parseHarbor(harborPush()).events[0]?.id, parseHarbor(harborPush()).events[0]?.id]
  assert.ok(first !== undefined && first === again, 'a retried delivery has the same id')
  assert.notEqual(parseHarbor(harborPush({ occurAt: 1 })).events[0]?.id, parseHarbor(harborPush({ occurAt: 2 })).events[0]?.id, 'a later push of the tag is another event')
  const withScheme = harborPush()
  withScheme.event_data.resources[0]!.resource_url = 'https://harbor.example.com/library/app:v1'
  assert.equal(parseHarbor(withScheme).events[0]?.registry, 'harbor.example.com')
})

test('harbor: CloudEvents format', () => {
  const { event_data: data } = harborPush({ repo: 'team/app', tag: 'v2' })
  const body = { specversion: '1.0', id: 'c-1', source: '/projects/1/webhook/policies/3', type: 'harbor.artifact.pushed', datacontenttype: 'application/json', time: '2023-03-06T06:08:43Z', data, operator: 'admin' }
  const { events } = parseHarbor(body)
  assert.equal(events.length, 1)
  assert.equal(events[0]?.repository, 'team/app')
  assert.equal(events[0]?.tag, 'v2')
  assert.deepEqual(parseHarbor({ ...body, type: 'harbor.artifact.pulled' }).events, [])
})

test('harbor: pulls, deletes, by-digest pushes and bodies without a type', () => {
  assert.deepEqual(parseHarbor(harborPush({ type: 'PULL_ARTIFACT' })), { events: [], ignored: ['not-a-push'] })
  assert.deepEqual(parseHarbor(harborPush({ type: 'DELETE_ARTIFACT' })), { events: [], ignored: ['not-a-push'] })
  assert.deepEqual(parseHarbor(harborPush({ tag: DIGEST })), { events: [], ignored: ['untagged'] })
  assert.deepEqual(parseHarbor(harborPush({ tag: '' })), { events: [], ignored: ['untagged'] })
  assert.throws(() => parseHarbor({ event_data: {} }), { code: 'CU_INVALID_HOOK_BODY' })
  assert.throws(() => parseHarbor({ type: 'PUSH_ARTIFACT', event_data: {} }), { code: 'CU_INVALID_HOOK_BODY' })
})

test('dockerhub: one event on docker.io; official images under library/', () => {
  const { events } = parseDockerhub(dockerhubPush({ repo: 'Acme/app', tag: 'v1' }))
  assert.equal(events.length, 1)
  assert.deepEqual({ ...events[0], id: undefined }, { source: 'dockerhub', id: undefined, registry: 'docker.io', repository: 'acme/app', tag: 'v1', pusher: 'trustedbuilder' })
  const [first, again] = [parseDockerhub(dockerhubPush()).events[0]?.id, parseDockerhub(dockerhubPush()).events[0]?.id]
  assert.ok(first !== undefined && first === again, 'a retried delivery has the same id')
  assert.notEqual(parseDockerhub(dockerhubPush({ pushedAt: 1 })).events[0]?.id, parseDockerhub(dockerhubPush({ pushedAt: 2 })).events[0]?.id)
  const official = dockerhubPush()
  official.repository.repo_name = 'nginx'
  assert.equal(parseDockerhub(official).events[0]?.repository, 'library/nginx')
})

test('dockerhub: no tag is ignored, a foreign body refused', () => {
  const body = dockerhubPush()
  delete (body.push_data as { tag?: string }).tag
  assert.deepEqual(parseDockerhub(body), { events: [], ignored: ['untagged'] })
  assert.throws(() => parseDockerhub({ push_data: {} }), { code: 'CU_INVALID_HOOK_BODY' })
  assert.throws(() => parseDockerhub(null), { code: 'CU_INVALID_HOOK_BODY' })
})

test('acr: by-digest pushes and chart pushes are ignored with their reason; a body without target is refused', () => {
  const push = { id: 'e', action: 'push', target: { repository: 'app', digest: DIGEST, mediaType: 'application/vnd.oci.image.manifest.v1+json' }, request: { host: 'r.azurecr.io' } }
  assert.deepEqual(parseAcr(push), { events: [], ignored: ['untagged'] })
  assert.deepEqual(parseAcr({ ...push, action: 'chart_push', target: { ...push.target, tag: '1.0' } }), { events: [], ignored: ['not-a-push'] })
  assert.deepEqual(parseAcr({ ...push, target: { ...push.target, tag: 'v1' }, request: {} }), { events: [], ignored: ['invalid-reference'] })
  for (const body of [null, {}, { events: [push] }, { action: 'push' }]) assert.throws(() => parseAcr(body), { code: 'CU_INVALID_HOOK_BODY' }, JSON.stringify(body))
})

test('quay: events without updated_tags (builds, vulnerabilities) are not pushes; a malformed docker_url is invalid', () => {
  assert.deepEqual(parseQuay({ repository: 'ns/app', docker_url: 'quay.io/ns/app', build_id: 'b', docker_tags: ['latest'] }), { events: [], ignored: ['not-a-push'] })
  assert.deepEqual(parseQuay({ docker_url: 'quay.io', updated_tags: ['a', 'b'] }), { events: [], ignored: ['invalid-reference', 'invalid-reference'] })
  assert.deepEqual(parseQuay({ docker_url: 'quay.io/ns/app', updated_tags: ['ok', 'sha256:' + 'a'.repeat(64), 'bad tag'] }).ignored, ['untagged', 'invalid-reference'])
  assert.throws(() => parseQuay({ updated_tags: 'latest' }), { code: 'CU_INVALID_HOOK_BODY' })
  assert.throws(() => parseQuay([]), { code: 'CU_INVALID_HOOK_BODY' })
})

test('gitea: other events, deletions and other package types are ignored with their reason', () => {
  const body = { action: 'created', package: { id: 1, type: 'container', name: 'app', version: 'v1', owner: { login: 'team' }, html_url: 'https://git.example.com/team/-/packages/container/app/v1' } }
  assert.deepEqual(parseGitea(body, { 'x-gitea-event': 'push' }), { events: [], ignored: ['not-a-push'] })
  assert.deepEqual(parseGitea({ ...body, action: 'deleted' }, { 'x-gitea-event': 'package' }), { events: [], ignored: ['not-a-push'] })
  assert.deepEqual(parseGitea({ ...body, package: { ...body.package, type: 'npm' } }, { 'x-gitea-event': 'package' }), { events: [], ignored: ['not-a-container'] })
  assert.deepEqual(parseGitea({ ...body, package: { ...body.package, version: DIGEST } }, { 'x-gitea-event': 'package' }), { events: [], ignored: ['untagged'] })
  assert.equal(parseGitea(body, { 'x-forgejo-event': 'package' }).events[0]?.registry, 'git.example.com')
  assert.throws(() => parseGitea({ action: 'created' }, { 'x-gitea-event': 'package' }), { code: 'CU_INVALID_HOOK_BODY' })
})

test('github: a package on another registry than GITHUB_REGISTRY_HOST is ignored as foreign-registry (#24 item 5)', () => {
  const headers = { 'x-github-event': 'registry_package' }
  const loopback = githubPackage()
  ;(loopback.registry_package as { package_version: { package_url: string } }).package_version.package_url = '127.0.0.1:5000/octo-org/app:v1'
  assert.deepEqual(parseGithub(loopback, headers), { events: [], ignored: ['foreign-registry'] })
  assert.deepEqual(parseGithub(loopback, headers, '127.0.0.1:5000').events.map((e) => e.registry), ['127.0.0.1:5000'])
  const ghes = githubPackage()
  ;(ghes.registry_package as { package_version: { package_url: string } }).package_version.package_url = 'containers.ghe.example.com/octo-org/app:v1'
  assert.deepEqual(parseGithub(ghes, headers), { events: [], ignored: ['foreign-registry'] })
  assert.equal(parseGithub(ghes, headers, 'Containers.GHE.example.com').events[0]?.registry, 'containers.ghe.example.com')
  const npm = githubPackage()
  ;(npm.registry_package as { package_type: string }).package_type = 'npm'
  assert.deepEqual(parseGithub(npm, headers), { events: [], ignored: ['not-a-container'] })
})
