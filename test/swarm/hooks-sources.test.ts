import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac, randomUUID } from 'node:crypto'
import { buildApp } from '../../src/app.ts'
import { bearer, testConfig, token } from '../helper.ts'
import { fixture, githubHeaders, githubPackage } from '../unit/hooks-payloads.ts'
import { REGISTRY, createService, digestOf, inspect, pushImage, swarmSkip, uniqueName, until } from '../swarm-fixtures.ts'

const GITEA_SECRET = 'gitea-webhook-secret-swarm'
const QUAY_TOKEN = 'quay-' + 'z'.repeat(40)
const GITHUB_SECRET = 'github-webhook-secret-swarm'

/** One delivery as its sender makes it: where it posts, the headers it sends, the exact body bytes. */
interface Delivery { path: string, headers: Record<string, string>, body: string }

/** The image the test pushes, written into a fixture's repository/host/tag/digest fields (all else as shipped). */
interface Pushed { repo: string, owner: string, name: string, digest: string }

type Json = Record<string, any>

const bearerHeaders = (): Record<string, string> => ({ 'content-type': 'application/json', authorization: `Bearer ${token({ sub: 'registry' })}` })

/** Every source's fixture, rewritten to the pushed image and authenticated as the registry would. */
const senders: Record<string, (p: Pushed) => Delivery> = {
  acr: (p) => {
    const body = fixture('acr-push.json') as Json
    Object.assign(body.target, { repository: p.repo, tag: 'v1', digest: p.digest })
    body.request.host = REGISTRY
    // Each ACR event has its own id: a second push replayed under the fixture's would be a duplicate.
    body.id = randomUUID()
    // ACR sends the custom headers it is given: our bearer token.
    return { path: '/hooks/acr', headers: bearerHeaders(), body: JSON.stringify(body) }
  },
  quay: (p) => {
    const body = fixture('quay-repo-push.json') as Json
    Object.assign(body, { name: p.name, namespace: p.owner, repository: p.repo, docker_url: `${REGISTRY}/${p.repo}`, homepage: `http://${REGISTRY}/repository/${p.repo}`, updated_tags: ['v1'] })
    // Quay signs nothing and sends no configured header: the token is the URL's.
    return { path: `/hooks/quay/${QUAY_TOKEN}`, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
  },
  gitea: (p) => giteaDelivery(p, false),
  forgejo: (p) => giteaDelivery(p, true),
  zot: (p) => {
    const { headers, body } = fixture('zot-image-updated.json') as { headers: Record<string, string>, body: Json }
    Object.assign(body, { name: p.repo, reference: 'v1', digest: p.digest })
    // zot's sink: `credentials.token` becomes our bearer token; its address carries the registry.
    return { path: `/hooks/zot?registry=${REGISTRY}`, headers: { ...headers, 'Ce-Id': randomUUID(), authorization: `Bearer ${token({ sub: 'zot' })}` }, body: JSON.stringify(body) }
  },
  tcr: (p) => {
    const body = fixture('tcr-push-image.json') as Json
    Object.assign(body.event_data.resources[0], { digest: p.digest, tag: 'v1', resource_url: `${REGISTRY}/${p.repo}:v1` })
    Object.assign(body.event_data.repository, { name: p.name, namespace: p.owner, repo_full_name: p.repo })
    body.occur_at = Math.floor(Date.now() / 1000)
    // TCR / Harbor 1.x: the trigger's custom header (Harbor's Auth Header) carries our bearer token.
    return { path: '/hooks/harbor', headers: bearerHeaders(), body: JSON.stringify(body) }
  }
}

function giteaDelivery (p: Pushed, forgejo: boolean): Delivery {
  const body = fixture('gitea-package-created.json') as Json
  const pkg = body.package
  for (const user of [pkg.owner, pkg.creator, body.sender]) user.login = p.owner
  // A new version each push (the forge creates it anew, with its time).
  Object.assign(pkg, { name: p.name, version: 'v1', html_url: `http://${REGISTRY}/${p.owner}/-/packages/container/${p.name}/v1`, created_at: new Date().toISOString() })
  const raw = JSON.stringify(body)
  const signature = createHmac('sha256', GITEA_SECRET).update(raw).digest('hex')
  const headers: Record<string, string> = forgejo
    ? { 'content-type': 'application/json', 'x-forgejo-event': 'package', 'x-forgejo-signature': signature, 'x-forgejo-delivery': randomUUID(), 'x-gitea-event': 'package', 'x-gitea-signature': signature }
    : { 'content-type': 'application/json', 'x-gitea-event': 'package', 'x-gitea-signature': signature, 'x-gitea-delivery': randomUUID() }
  return { path: '/hooks/gitea', headers, body: raw }
}

test('swarm: every source\'s own payload, sent as its registry sends it, rolls the labelled service onto the pushed digest and leaves the unlabelled one alone', { skip: swarmSkip }, async (t) => {
  const app = await buildApp(testConfig({ UPDATE_TIMEOUT: '90', GITEA_WEBHOOK_SECRET: GITEA_SECRET, QUAY_WEBHOOK_TOKEN: QUAY_TOKEN, GITHUB_WEBHOOK_SECRET: GITHUB_SECRET }))
  t.after(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`

  const owner = 'team'
  const name = uniqueName('cu-src')
  const repo = `${owner}/${name}`
  const first = await pushImage(repo, 'v1', 'good')
  const image = `${REGISTRY}/${repo}:v1`
  const labelled = uniqueName('cu-src-on')
  const plain = uniqueName('cu-src-plain')
  await Promise.all([
    createService(t, labelled, image, ['--label', 'container-updater.on-push=true']),
    createService(t, plain, image)
  ])
  const plainBefore = await inspect(plain)
  let current = first.digest

  for (const [source, send] of Object.entries(senders)) {
    await t.test(`swarm: ${source}: its payload rolls the labelled service`, async () => {
      const pushed = await pushImage(repo, 'v1', 'good')
      assert.notEqual(pushed.digest, current, 'a new digest for the tag')
      const delivery = send({ repo, owner, name, digest: pushed.digest })
      const res = await fetch(base + delivery.path, { method: 'POST', headers: delivery.headers, body: delivery.body })
      const receipt = await res.json() as { accepted: number }
      assert.equal(res.status, 202, JSON.stringify(receipt))
      assert.equal(receipt.accepted, 1, JSON.stringify(receipt))
      await until(`${labelled} on ${pushed.digest} after the ${source} delivery`, async () => {
        const now = await inspect(labelled)
        return digestOf(now.Spec.TaskTemplate.ContainerSpec.Image) === pushed.digest && now.UpdateStatus?.State === 'completed' ? true : undefined
      }, 90_000, 250)
      current = pushed.digest
    })
  }

  // #24 item 5: a signed GitHub delivery naming the loopback registry (not ghcr.io) is answered and
  // not acted on. Proven by a count: the same push then announced by ACR makes the one update.
  await t.test('swarm: github: a package_url on the loopback registry is ignored (foreign-registry); the service rolls once, by the ACR delivery', async () => {
    const pushed = await pushImage(repo, 'v1', 'good')
    const pkg = githubPackage({ owner, name, tag: 'v1', digest: pushed.digest })
    ;(pkg.registry_package as { package_version: { package_url: string } }).package_version.package_url = `${REGISTRY}/${repo}:v1`
    const raw = JSON.stringify(pkg)
    const res = await fetch(`${base}/hooks/github`, { method: 'POST', headers: githubHeaders(raw, { secret: GITHUB_SECRET }), body: raw })
    assert.equal(res.status, 202)
    assert.deepEqual(await res.json(), { accepted: 0, ignored: 1, ignoredReasons: [{ reason: 'foreign-registry', count: 1 }], duplicate: 0 })
    const acr = senders.acr!({ repo, owner, name, digest: pushed.digest })
    assert.equal((await fetch(base + acr.path, { method: 'POST', headers: acr.headers, body: acr.body })).status, 202)
    await until(`${labelled} on ${pushed.digest}`, async () => {
      const now = await inspect(labelled)
      return digestOf(now.Spec.TaskTemplate.ContainerSpec.Image) === pushed.digest && now.UpdateStatus?.State === 'completed' ? true : undefined
    }, 90_000, 250)
    const { updates } = (await app.inject({ method: 'GET', url: `/updates?service=${labelled}&limit=100`, headers: bearer() })).json() as { updates: Array<{ requestedBy: string }> }
    assert.deepEqual(updates.map((u) => u.requestedBy).reverse(), [...Object.keys(senders).map((s) => s === 'forgejo' ? 'hook:gitea' : s === 'tcr' ? 'hook:harbor' : `hook:${s}`), 'hook:acr'])
  })

  const plainAfter = await inspect(plain)
  assert.equal(plainAfter.Version.Index, plainBefore.Version.Index, 'the unlabelled service of the same image was never updated')
  assert.equal(digestOf(plainAfter.Spec.TaskTemplate.ContainerSpec.Image), first.digest)
})
