import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { bearer, postUpdate, token } from '../helper.ts'
import { REGISTRY, createService, digestOf, docker as dockerCli, inspect, pushImage, swarmSkip, uniqueName } from '../swarm-fixtures.ts'
import { assertDocumented, callsOf, faultApp, faultyDocker, openApi } from '../fault-fixtures.ts'

const NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const DAY = 86_400_000
const POST_UPDATE = { method: 'POST', path: '/update' }

/** Update windows on the real Swarm (docs/API.md, "Update windows"): the wrapper counts every Docker call. */
describe('faults: update windows', { skip: swarmSkip, concurrency: true }, () => {
  test('faults: a service labelled with a closed window is refused 423 with no service update; forced by deploy 403; forced by admin 200', async (t) => {
    const name = uniqueName('cu-window')
    // A whole day three days from now (UTC): closed now, and it opens at that day's midnight.
    const today = Math.floor(Date.now() / DAY) * DAY
    const opens = today + 3 * DAY
    const window = `${NAMES[new Date(opens).getUTCDay()]} 00:00-24:00 UTC`
    await pushImage(name, 'latest')
    await createService(t, name, `${REGISTRY}/${name}:latest`, ['--label', `container-updater.window=${window}`])
    const v2 = await pushImage(name, 'latest')
    const before = await inspect(name)
    const docker = await faultyDocker(t)
    const app = await faultApp(t, docker)
    const doc = await openApi(app)

    const refused = await postUpdate(app, { appName: name }, bearer(token({ access: 'deploy' })))
    assert.equal(refused.statusCode, 423, refused.body)
    assertDocumented(doc, POST_UPDATE, 423, refused.json())
    const body = refused.json<{ code: string, opensAt: string, window: string, service: string, message: string }>()
    assert.equal(body.code, 'CU_OUTSIDE_WINDOW')
    assert.equal(body.opensAt, new Date(opens).toISOString())
    assert.equal(body.window, window)
    assert.equal(body.service, name)
    const retryAfter = Number(refused.headers['retry-after'])
    assert.ok(Number.isInteger(retryAfter) && retryAfter > 2 * 86_400 && retryAfter <= 3 * 86_400, String(refused.headers['retry-after']))

    // An image target holding this service is refused as a whole; a dry run still answers.
    const batch = await postUpdate(app, { image: `${REGISTRY}/${name}:latest` })
    assert.equal(batch.statusCode, 423, batch.body)
    assertDocumented(doc, POST_UPDATE, 423, batch.json())
    assert.equal((await postUpdate(app, { image: `${REGISTRY}/${name}:latest`, dryRun: true })).statusCode, 200)

    const deployForcing = await postUpdate(app, { appName: name, force: true }, bearer(token({ access: 'deploy' })))
    assert.equal(deployForcing.statusCode, 403, deployForcing.body)
    assert.equal(deployForcing.json<{ code: string }>().code, 'CU_ACCESS_DENIED')
    assertDocumented(doc, POST_UPDATE, 403, deployForcing.json())
    assert.equal((await callsOf(docker, 'service update')).length, 0, 'nothing was sent to Swarm')
    assert.equal((await inspect(name)).Version.Index, before.Version.Index)

    const forced = await postUpdate(app, { appName: name, force: true }, bearer(token({ access: 'admin' })))
    assert.equal(forced.statusCode, 200, forced.body)
    assert.equal(forced.json<{ status: string }>().status, 'completed')
    assert.equal((await callsOf(docker, 'service update')).length, 1)
    assert.equal(digestOf((await inspect(name)).Spec.TaskTemplate.ContainerSpec.Image), v2.digest)
  })

  test('faults: UPDATE_WINDOWS applies to a service without the label, and an open label replaces it', async (t) => {
    const name = uniqueName('cu-window-g')
    const opens = Math.floor(Date.now() / DAY) * DAY + 3 * DAY
    await pushImage(name, 'latest')
    await createService(t, name, `${REGISTRY}/${name}:latest`)
    const docker = await faultyDocker(t)
    const app = await faultApp(t, docker, { UPDATE_WINDOWS: `${NAMES[new Date(opens).getUTCDay()]} 00:00-24:00` })
    const refused = await postUpdate(app, { appName: name })
    assert.equal(refused.statusCode, 423, refused.body)
    assert.equal(refused.json<{ opensAt: string }>().opensAt, new Date(opens).toISOString())
    assert.equal((await callsOf(docker, 'service update')).length, 0)
    // The label replaces the global list: every day, all day, is open.
    await dockerCli('service', 'update', '--quiet', '--detach', '--label-add', 'container-updater.window=Mon-Sun 00:00-24:00', name)
    const done = await postUpdate(app, { appName: name })
    assert.equal(done.statusCode, 200, done.body)
    assert.equal((await callsOf(docker, 'service update')).length, 1)
  })
})
