import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { SECRET, token } from '../helper.ts'
import { waitFor } from '../wait.ts'
import { githubClaims, policyFile, startProvider, type Provider } from '../oidc-provider.ts'
import { REGISTRY, createService, digestOf, docker, inspect, pushImage, runningVersion, swarmSkip, uniqueName } from '../swarm-fixtures.ts'

/**
 * The production image, built from the real Dockerfile against base images fabricated locally
 * (scripts/test-image-bases.sh), run the way operators run it: non-root, socket mounted,
 * `--group-add`, host network (only loopback and the socket are used), and as a Swarm stack.
 */
const exec = promisify(execFile)
const IMAGE = 'cu-test/updater:dev'
const NODE_BASE = process.env.CU_TEST_NODE_BASE ?? 'cu-test/node:24-headers'
const CLI_BASE = process.env.CU_TEST_DOCKER_CLI_BASE ?? 'cu-test/docker-cli:host'
const socketGid = (): number => statSync('/var/run/docker.sock').gid

async function freePort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

const status = async (url: string): Promise<number> => (await fetch(url)).status

async function runContainer (t: { after: (fn: () => Promise<unknown>) => void }, name: string, port: number, args: string[], env: Record<string, string> = {}): Promise<string> {
  t.after(() => docker('rm', '-f', name).catch(() => ''))
  const envArgs = Object.entries({ JWT_SECRET: SECRET, PORT: String(port), HOST: '127.0.0.1', POLL_INTERVAL_MS: '200', ...env }).flatMap(([k, v]) => ['-e', `${k}=${v}`])
  // --init, as the README runs the image.
  await docker('run', '-d', '--init', '--name', name, '--network', 'host', '-v', '/var/run/docker.sock:/var/run/docker.sock', ...envArgs, ...args, IMAGE)
  await waitFor(`${name} to listen`, async () => (await status(`http://127.0.0.1:${port}/healthz`)) === 200)
  return `http://127.0.0.1:${port}`
}

/**
 * An orphan in the container (a process whose parent exited, as the CLI calls of a spawn helper that
 * died) is reparented to PID 1; once it exits it must be reaped, not left a zombie. Node as PID 1
 * reaps only its own children.
 */
async function assertReapsOrphans (container: string): Promise<void> {
  assert.match(container, /^[0-9a-f]+$/, `one container: ${container}`)
  const { stdout } = await exec('docker', ['exec', container, 'sh', '-c', 'sleep 0.2 & echo $!'])
  const pid = stdout.trim()
  assert.match(pid, /^[0-9]+$/)
  // A failed `docker exec` throws (waitFor retries it); only the container itself says "gone".
  const state = async (): Promise<string> => {
    const { stdout: stat } = await exec('docker', ['exec', container, 'sh', '-c', `cat /proc/${pid}/stat 2>/dev/null || echo gone`])
    if (stat.trim() === 'gone') return 'gone'
    assert.match(stat, /^\d+ \(sleep\) /, `pid ${pid} is still our sleep`)
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
  }
  await waitFor(`orphan ${pid} to be reaped`, async () => (await state()) === 'gone', 10).catch(async (error: Error) => {
    assert.fail(`${error.message}: its state is ${await state()} (Z: a zombie nobody reaps)`)
  })
}

async function post (url: string, body: unknown, jwt = token()): Promise<{ status: number, json: Record<string, string> }> {
  const res = await fetch(`${url}/update`, { method: 'POST', headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: res.status, json: await res.json() as Record<string, string> }
}

/** Runs the action's step (action/update.mjs) as GitHub would, with inputs in the environment. */
async function runAction (inputs: Record<string, string>, extraEnv: Record<string, string> = {}): Promise<{ code: number, stdout: string, outputs: Record<string, string> }> {
  const dir = mkdtempSync(join(tmpdir(), 'cu-action-'))
  const outputFile = join(dir, 'output')
  writeFileSync(outputFile, '')
  const env = { PATH: process.env.PATH ?? '', GITHUB_OUTPUT: outputFile, GITHUB_ACTION_PATH: process.cwd(), ...extraEnv, ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase().replace(/-/g, '_')}`, v])) }
  const result = await exec('bash', ['-c', 'node "$GITHUB_ACTION_PATH/action/update.mjs"'], { env })
    .then(({ stdout }) => ({ code: 0, stdout }), (error: { code: number, stdout: string }) => ({ code: error.code, stdout: error.stdout }))
  const outputs = Object.fromEntries(readFileSync(outputFile, 'utf8').split('\n').filter(Boolean).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]))
  return { ...result, outputs }
}

describe('image: the production image on the real Swarm', { skip: swarmSkip }, () => {
  let provider: Provider
  before(async () => {
    // The real Dockerfile, with local bases in place of node:24 and docker:cli.
    await exec('docker', ['build', '--network', 'host', '--build-arg', `NODE_IMAGE=${NODE_BASE}`, '--build-arg', `DOCKER_CLI_IMAGE=${CLI_BASE}`, '-t', IMAGE, '.'],
      { env: { ...process.env, DOCKER_BUILDKIT: '0' }, maxBuffer: 64 * 1024 * 1024, timeout: 600_000 })
    provider = await startProvider('container-updater-ci')
  })
  after(async () => provider?.close())

  test('image: non-root with the socket and --group-add, it rolls a service; healthy; SIGTERM exits 0', async (t) => {
    const name = uniqueName('cu-img')
    await pushImage(name, 'latest')
    await createService(t, name, `${REGISTRY}/${name}:latest`)
    const v2 = await pushImage(name, 'latest')
    const container = uniqueName('cu-updater')
    const url = await runContainer(t, container, await freePort(), ['--group-add', String(socketGid()), '--health-interval', '1s'])
    assert.equal(await docker('exec', container, 'id', '-u'), '1000')
    assert.equal(await status(`${url}/readyz`), 200)
    // README's step after the start: the token is minted inside the container, by the bin on its
    // PATH and the container's own secret, and the running updater accepts it (scoped to this service).
    const minted = await docker('exec', container, 'container-updater', 'token', '--subject', 'image-ci', '--services', name, '--expires-in', '10m')
    assert.match(minted, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'one JWT on stdout')
    const foreign = await post(url, { appName: `${name}-other` }, minted)
    assert.equal(foreign.status, 403, 'the minted token carries its scope')
    const res = await post(url, { appName: name }, minted)
    assert.equal(res.status, 200, JSON.stringify(res.json))
    assert.equal(digestOf(res.json.image!), v2.digest)
    assert.equal(await runningVersion(name), v2.version)
    await waitFor('the healthcheck', async () => (await docker('inspect', '-f', '{{.State.Health.Status}}', container)) === 'healthy')
    await docker('stop', '--time', '30', container)
    assert.equal(await docker('inspect', '-f', '{{.State.ExitCode}}', container), '0')
    assert.match(await docker('logs', container), /shutting down/)
  })

  test('image: without --group-add, /readyz is 503 and names the gid to add', async (t) => {
    const container = uniqueName('cu-nogroup')
    const url = await runContainer(t, container, await freePort(), [])
    const res = await fetch(`${url}/readyz`)
    assert.equal(res.status, 503)
    const body = await res.json() as { message: string, code: string }
    assert.equal(body.code, 'CU_DOCKER_PERMISSION_DENIED')
    assert.match(body.message, new RegExp(`--group-add ${socketGid()}\\b`))
    const { stdout } = await exec('docker', ['logs', container])
    assert.match(stdout, new RegExp(`not ready: .*--group-add ${socketGid()}`))
  })

  test('image: deploy/stack.yml on the test Swarm serves POST /update, and the updater updates itself', async (t) => {
    const name = uniqueName('cu-stacked')
    await pushImage(name, 'latest')
    await createService(t, name, `${REGISTRY}/${name}:latest`)
    const v2 = await pushImage(name, 'latest')
    const stack = uniqueName('cust')
    const secret = `${stack}-jwt`
    const secretFile = join(mkdtempSync(join(tmpdir(), 'cu-secret-')), 'jwt')
    writeFileSync(secretFile, SECRET)
    chmodSync(secretFile, 0o600)
    await docker('secret', 'create', secret, secretFile)
    t.after(() => docker('secret', 'rm', secret).catch(() => ''))
    const port = await freePort()
    // The updater's own image in the registry, as in production: a self-update re-resolves its tag.
    const selfImage = `${REGISTRY}/${uniqueName('cu-updater')}:stable`
    await docker('tag', IMAGE, selfImage)
    await docker('push', selfImage)
    t.after(async () => {
      await docker('stack', 'rm', stack).catch(() => '')
      // The volume outlives the stack; remove it once its containers are gone.
      await waitFor('the stack to go', async () => (await docker('ps', '-aq', '--filter', `label=com.docker.stack.namespace=${stack}`)) === '', 60).catch(() => {})
      await docker('volume', 'rm', `${stack}_updater_data`).catch(() => '')
    })
    await exec('docker', ['stack', 'deploy', '--resolve-image', 'never', '-c', 'deploy/stack.yml', stack], {
      env: { ...process.env, DOCKER_GID: String(socketGid()), UPDATER_IMAGE: selfImage, UPDATER_PORT: String(port), UPDATER_HOST: '127.0.0.1', UPDATER_JWT_SECRET: secret }
    })
    const url = `http://127.0.0.1:${port}`
    await waitFor('the stack to be ready', async () => (await status(`${url}/readyz`)) === 200, 90)
    const updater = await inspect(`${stack}_updater`)
    const containerSpec = (updater.Spec as { TaskTemplate: { ContainerSpec: { User?: string, Init?: boolean } } }).TaskTemplate.ContainerSpec
    assert.equal(containerSpec.User, `1000:${socketGid()}`)
    // The CLI processes of a spawn helper that died are orphans of PID 1: an init must reap them.
    assert.equal(containerSpec.Init, true)
    await assertReapsOrphans((await docker('ps', '-q', '--filter', `label=com.docker.stack.namespace=${stack}`)).trim())
    const res = await post(url, { appName: name })
    assert.equal(res.status, 200, JSON.stringify(res.json))
    assert.equal(digestOf(res.json.image!), v2.digest)

    // Self-update: answered 202 at once (Swarm stops this instance to replace it); the instance that
    // takes over finds the record in the database on the volume and watches it to its end.
    const before = await inspect(`${stack}_updater`)
    const own = await post(url, { appName: `${stack}_updater` })
    assert.equal(own.status, 202, JSON.stringify(own.json))
    assert.match(own.json.message ?? '', /instance that takes over/)
    const statusUrl = own.json.statusUrl!
    let settled: Record<string, string> | undefined
    await waitFor('the new instance to settle the self-update', async () => {
      const r = await fetch(`${url}${statusUrl}`, { headers: { authorization: `Bearer ${token()}` } }).catch(() => undefined)
      if (r?.status !== 200) return false
      settled = await r.json() as Record<string, string>
      return settled.status === 'completed'
    }, 150)
    assert.equal(settled!.updateId, own.json.updateId)
    const after = await inspect(`${stack}_updater`)
    assert.ok(after.Version.Index > before.Version.Index, 'Swarm replaced the updater')
    assert.equal(settled!.image, after.Spec.TaskTemplate.ContainerSpec.Image)
  })

  test('image: the GitHub action, with a token and with OIDC, fails the job when Swarm rolls back', async (t) => {
    const name = uniqueName('cu-action')
    await pushImage(name, 'latest')
    await createService(t, name, `${REGISTRY}/${name}:latest`)
    const policy = policyFile({ rules: [{ claims: { repository: 'acme/web', ref: 'refs/heads/main' }, services: [name] }] })
    chmodSync(policy, 0o644)
    const container = uniqueName('cu-updater-oidc')
    const url = await runContainer(t, container, await freePort(), ['--group-add', String(socketGid()), '-v', `${policy}:/etc/updater/policy.json:ro`], {
      OIDC_ISSUER: provider.issuer, OIDC_AUDIENCE: provider.audience, OIDC_POLICY_FILE: '/etc/updater/policy.json'
    })

    // GitHub's ID-token endpoint, as the runner exposes it to a job with id-token: write.
    const idTokens: Server = createServer((req, res) => {
      const audience = new URL(req.url ?? '/', 'http://x').searchParams.get('audience')
      if (req.headers.authorization !== 'Bearer runner-request-token' || audience === null) return res.writeHead(401).end()
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value: provider.sign(githubClaims(), { audience }) }))
    }).listen(0, '127.0.0.1')
    await once(idTokens, 'listening')
    t.after(() => new Promise((resolve) => idTokens.close(resolve)))
    const oidcEnv = { ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${(idTokens.address() as AddressInfo).port}/token?api-version=2.0`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'runner-request-token' }

    const v2 = await pushImage(name, 'latest')
    const withToken = await runAction({ url, 'app-name': name, token: token({ services: [name] }) })
    assert.equal(withToken.code, 0, withToken.stdout)
    assert.equal(withToken.outputs.status, 'completed')
    assert.equal(digestOf(withToken.outputs.image!), v2.digest)
    assert.match(withToken.stdout, /"updateId"/, 'the record is printed')
    assert.match(withToken.stdout, /::add-mask::/, 'the token is masked')

    const v3 = await pushImage(name, 'latest')
    const withOidc = await runAction({ url, 'app-name': name, audience: provider.audience }, oidcEnv)
    assert.equal(withOidc.code, 0, withOidc.stdout)
    assert.equal(digestOf(withOidc.outputs.image!), v3.digest)

    const wrongAudience = await runAction({ url, 'app-name': name, audience: 'someone-else' }, oidcEnv)
    assert.equal(wrongAudience.code, 1)
    assert.match(wrongAudience.stdout, /::error::401/)

    await pushImage(name, 'latest', 'crash')
    const rolledBack = await runAction({ url, 'app-name': name, audience: provider.audience }, oidcEnv)
    assert.equal(rolledBack.code, 1, rolledBack.stdout)
    assert.equal(rolledBack.outputs.status, 'rolled_back')
    assert.match(rolledBack.stdout, /::error::.*rolled_back by Swarm: .*non-zero exit \(3\)/)
    assert.equal(digestOf((await inspect(name)).Spec.TaskTemplate.ContainerSpec.Image), v3.digest)

    const accepted = await runAction({ url, 'app-name': name, wait: 'false', token: token() })
    assert.equal(accepted.code, 0, accepted.stdout)
    assert.ok(['queued', 'updating'].includes(accepted.outputs.status!))
  })
})
