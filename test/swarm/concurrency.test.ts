import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { SECRET, bearer, build, postUpdate, token } from '../helper.ts'
import { REGISTRY, createService, digestOf, docker, inspect, pushImage, runningVersion, swarmSkip, uniqueName } from '../swarm-fixtures.ts'

/** Many callers at once, other clients, and shutdown, on the real Swarm (docs/API.md §2). */
describe('swarm: concurrency and shutdown', { skip: swarmSkip, concurrency: true }, () => {
  const env = { POLL_INTERVAL_MS: '200', UPDATE_TIMEOUT: '120' }

  test('swarm: 20 concurrent requests for one service all get 200 from at most two Docker updates', async (t) => {
    const name = uniqueName('cu-burst')
    await pushImage(name, 'latest')
    await createService(t, name, `${REGISTRY}/${name}:latest`)
    const v2 = await pushImage(name, 'latest')
    const before = (await inspect(name)).Spec.TaskTemplate.ForceUpdate ?? 0
    const app = await build(t, env)
    const responses = await Promise.all(Array.from({ length: 20 }, () => postUpdate(app, { appName: name })))
    assert.deepEqual(responses.map((r) => r.statusCode), Array(20).fill(200))
    const after = await inspect(name)
    const rises = (after.Spec.TaskTemplate.ForceUpdate ?? 0) - before
    assert.ok(rises === 1 || rises === 2, `ForceUpdate rose by ${rises}`)
    assert.equal(new Set(responses.map((r) => r.json().updateId)).size, rises, 'one record per Docker update')
    assert.equal(digestOf(after.Spec.TaskTemplate.ContainerSpec.Image), v2.digest)
    assert.equal(await runningVersion(name), v2.version)
    const metrics = (await app.inject('/metrics')).body
    assert.match(metrics, new RegExp(`container_updater_updates_total\\{service="${name}",result="completed"\\} ${rises}\n`))
    assert.match(metrics, /http_requests_total\{method="POST",route="\/update",status_code="200"\} 20\n/)
  })

  test('swarm: 20 requests across 5 services update those services in parallel', async (t) => {
    const names = Array.from({ length: 5 }, () => uniqueName('cu-fan'))
    await Promise.all(names.map(async (name) => {
      await pushImage(name, 'latest')
      await createService(t, name, `${REGISTRY}/${name}:latest`)
    }))
    const app = await build(t, env)
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => postUpdate(app, { appName: names[i % 5] })))
    assert.deepEqual(responses.map((r) => r.statusCode), Array(20).fill(200))
    // Swarm's own clock shows the overlap: every update started before any of them completed.
    const statuses = await Promise.all(names.map(async (name) => (await inspect(name)).UpdateStatus!))
    const lastStart = Math.max(...statuses.map((s) => Date.parse(s.StartedAt!)))
    const firstEnd = Math.min(...statuses.map((s) => Date.parse(s.CompletedAt!)))
    assert.ok(lastStart < firstEnd, 'the five services updated at the same time')
  })

  test('swarm: another client changing the service during an update still ends in a correct answer', async (t) => {
    const name = uniqueName('cu-other')
    await pushImage(name, 'latest')
    await createService(t, name, `${REGISTRY}/${name}:latest`)
    const v2 = await pushImage(name, 'latest')
    const app = await build(t, env)
    const pending = postUpdate(app, { appName: name })
    await sleep(300)
    await docker('service', 'update', '--quiet', '--detach', '--label-add', 'changed-by=someone-else', name)
    const res = await pending
    assert.equal(res.statusCode, 200, res.body)
    const after = await inspect(name)
    assert.equal(after.Spec.Labels?.['changed-by'], 'someone-else')
    assert.equal(digestOf(after.Spec.TaskTemplate.ContainerSpec.Image), v2.digest)
  })

  test('swarm: on SIGTERM a waited update still gets its 200 and the process exits 0', async (t) => {
    const name = uniqueName('cu-term')
    await pushImage(name, 'latest')
    await createService(t, name, `${REGISTRY}/${name}:latest`)
    const v2 = await pushImage(name, 'latest')
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      env: { ...process.env, JWT_SECRET: SECRET, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', POLL_INTERVAL_MS: '200', SHUTDOWN_GRACE: '60' },
      stdio: ['ignore', 'pipe', 'inherit']
    })
    t.after(() => child.kill('SIGKILL'))
    const exited = once(child, 'exit')
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
    let url: string | undefined
    for (let i = 0; i < 300 && url === undefined; i++) {
      await sleep(50)
      url = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1]
    }
    assert.ok(url, `the server started: ${output}`)
    const before = (await inspect(name)).Version.Index
    const inFlight = fetch(`${url}/update`, { method: 'POST', headers: { ...bearer(token()), 'content-type': 'application/json' }, body: JSON.stringify({ appName: name }) })
    // SIGTERM once Swarm is visibly rolling the update this request started.
    for (let i = 0; i < 200; i++) {
      const now = await inspect(name)
      if (now.Version.Index > before && now.UpdateStatus?.State === 'updating') break
      await sleep(50)
    }
    assert.equal((await inspect(name)).UpdateStatus?.State, 'updating', 'the update is in flight at SIGTERM')
    child.kill('SIGTERM')
    await sleep(200)
    const late = await fetch(`${url}/healthz`).then((r) => r.status, (error: Error) => error.name)
    assert.ok(late === 503 || late === 'TypeError', `a request after SIGTERM is refused (${late})`)
    const res = await inFlight
    assert.equal(res.status, 200)
    assert.equal(digestOf((await res.json() as { image: string }).image), v2.digest)
    const [code] = await exited
    assert.equal(code, 0, output)
    assert.match(output, /shutting down/)
  })
})
