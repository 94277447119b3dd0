import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { bearer, build, postUpdate, token } from '../helper.ts'
import { githubClaims, oidcEnv, startProvider } from '../oidc-provider.ts'
import { REGISTRY, createService, digestOf, inspect, pushImage, swarmSkip, uniqueName } from '../swarm-fixtures.ts'

const PREVIOUS = 'the-previous-secret-still-accepted-during-rotation'

/** Scope, label opt-in, rotation and OIDC policy on real services: denials change nothing. */
describe('swarm: authorisation', { skip: swarmSkip }, () => {
  test('swarm: denied requests leave the service untouched; allowed ones roll it', async (t) => {
    const name = uniqueName('cu-auth')
    const unlabelled = uniqueName('cu-nolabel')
    await pushImage(name, 'latest')
    await pushImage(unlabelled, 'latest')
    await createService(t, name, `${REGISTRY}/${name}:latest`, ['--label', 'container-updater.enable=true'])
    await createService(t, unlabelled, `${REGISTRY}/${unlabelled}:latest`)
    const provider = await startProvider()
    t.after(() => provider.close())
    const app = await build(t, {
      POLL_INTERVAL_MS: '200',
      JWT_SECRET_PREVIOUS: PREVIOUS,
      UPDATE_REQUIRE_LABEL: 'container-updater.enable=true',
      ...oidcEnv(provider, { rules: [{ claims: { repository: 'acme/web', ref: 'refs/heads/main' }, services: [name] }] })
    })

    const versions = async () => [(await inspect(name)).Version.Index, (await inspect(unlabelled)).Version.Index]
    const before = await versions()
    const denials: Array<[string, Record<string, string>, string, number]> = [
      ['token scoped to another service', bearer(token({ services: ['other-*'] })), name, 403],
      ['OIDC token no rule grants', bearer(provider.sign(githubClaims({ ref: 'refs/heads/feature' }))), name, 403],
      ['service without the opt-in label', bearer(token()), unlabelled, 403],
      ['OIDC token for the unlabelled service', bearer(provider.sign(githubClaims())), unlabelled, 403],
      ['token signed with an unknown secret', bearer(token({}, { secret: 'an-unknown-secret-that-is-long-enough' })), name, 401]
    ]
    for (const [why, headers, appName, status] of denials) {
      const res = await postUpdate(app, { appName }, headers)
      assert.equal(res.statusCode, status, `${why}: ${res.body}`)
      assert.deepEqual(await versions(), before, `${why}: nothing changed`)
    }

    const v2 = await pushImage(name, 'latest')
    const rotated = await postUpdate(app, { appName: name }, bearer(token({ services: [name] }, { secret: PREVIOUS })))
    assert.equal(rotated.statusCode, 200, rotated.body)
    assert.equal(digestOf(rotated.json().image), v2.digest)

    const v3 = await pushImage(name, 'latest')
    const fromCi = await postUpdate(app, { appName: name }, bearer(provider.sign(githubClaims(), { alg: 'ES256' })))
    assert.equal(fromCi.statusCode, 200, fromCi.body)
    assert.equal(digestOf((await inspect(name)).Spec.TaskTemplate.ContainerSpec.Image), v3.digest)
    assert.equal((await inspect(unlabelled)).Version.Index, before[1])
  })
})
