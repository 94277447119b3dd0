import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { get } from 'node:http'
import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { resolveTagDigest } from '../../src/docker/registry-digest.ts'

/**
 * Against Debian's docker-registry (CNCF Distribution) started by this test on a free loopback port,
 * with images pushed by the real Docker engine: the digest we resolve is the one `docker push` printed.
 */
const user = 'cu-test'
const password = 'cu-registry-test-pw'
// bcrypt of `password` (cost 5), made once with `crypt.crypt(pw, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=32))`:
// a fixed hash keeps the test free of htpasswd/bcrypt tooling.
const passwordHash = '$2b$05$Zu1/RE0GU0h7p0pm.xGlm.8oAcmt2RCIhdfGF9K1s2r9t9O4hNcyS'

interface Run { stdout: string, stderr: string }
function run (command: string, args: string[], options: { env?: NodeJS.ProcessEnv, input?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { env: options.env ?? process.env, timeout: 120_000, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`${command} ${args[0]}: ${stderr || error.message}`))
      else resolve({ stdout, stderr })
    })
    child.stdin?.on('error', () => {}) // a command that exits without reading its input
    child.stdin?.end(options.input ?? '')
  })
}

async function problem (): Promise<string | undefined> {
  try {
    await run('docker', ['version', '--format', '{{.Server.Version}}'])
    await run('sh', ['-c', 'command -v docker-registry'])
    return undefined
  } catch (error) {
    return `needs a Docker engine and docker-registry: ${(error as Error).message.split('\n')[0]}`
  }
}
const why = await problem()
if (why !== undefined && process.env.CI === 'true') throw new Error(`CI=true but the registry tests cannot run: ${why}`)
const skip: false | string = why ?? false

async function freePort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  server.close()
  await once(server, 'close')
  return port
}

interface Registry { addr: string, process: ChildProcess }
const registries: Registry[] = []
let dir = ''

async function startRegistry (name: string, auth: boolean): Promise<string> {
  const root = join(dir, name)
  await mkdir(join(root, 'storage'), { recursive: true })
  const addr = `127.0.0.1:${await freePort()}`
  let config = `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${root}/storage\nhttp:\n  addr: ${addr}\n`
  if (auth) {
    await writeFile(join(root, 'htpasswd'), `${user}:${passwordHash}\n`)
    config += `auth:\n  htpasswd:\n    realm: cu-test\n    path: ${root}/htpasswd\n`
  }
  await writeFile(join(root, 'config.yml'), config)
  const child = spawn('docker-registry', ['serve', join(root, 'config.yml')], { stdio: 'ignore' })
  registries.push({ addr, process: child })
  for (let i = 0; i < 100; i++) {
    const up = await fetch(`http://${addr}/v2/`).then((r) => r.status === 200 || r.status === 401, () => false)
    if (up) return addr
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`docker-registry on ${addr} did not come up`)
}

/** A one-file image, made with `docker import` and pushed; returns the digest `docker push` printed. */
async function pushImage (ref: string, env?: NodeJS.ProcessEnv): Promise<string> {
  const work = await mkdtemp(join(dir, 'image-'))
  try {
    await writeFile(join(work, 'version'), randomBytes(8).toString('hex'))
    await run('tar', ['-C', work, '-cf', join(work, 'rootfs.tar'), 'version'])
    await run('docker', ['import', join(work, 'rootfs.tar'), ref])
    const { stdout } = await run('docker', ['push', ref], { env })
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(stdout)?.[1]
    if (digest === undefined) throw new Error(`no digest in docker push output: ${stdout}`)
    return digest
  } finally {
    await run('docker', ['image', 'rm', ref]).catch(() => {})
    await rm(work, { recursive: true, force: true })
  }
}

before(async () => {
  if (skip === false) dir = await mkdtemp(join(tmpdir(), 'cu-registry-digest-'))
})
after(async () => {
  for (const registry of registries) {
    registry.process.kill('SIGTERM')
    if (registry.process.exitCode === null) await once(registry.process, 'exit')
  }
  if (dir !== '') await rm(dir, { recursive: true, force: true })
})

test('swarm: the digest docker push printed, then the new one after a re-push of the tag', { skip }, async () => {
  const addr = await startRegistry('open', false)
  const missingConfig = join(dir, 'no-config.json')
  const ref = `${addr}/cu-digest/app:stable`
  const first = await pushImage(ref)
  assert.deepEqual(await resolveTagDigest(ref, { dockerConfigPath: missingConfig }), { digest: first })
  // `localhost` is loopback too (plain HTTP), and a missing tag means `latest`.
  assert.deepEqual(await resolveTagDigest(ref.replace('127.0.0.1', 'localhost'), { dockerConfigPath: missingConfig }), { digest: first })
  const latest = await pushImage(`${addr}/cu-digest/app`)
  assert.deepEqual(await resolveTagDigest(`${addr}/cu-digest/app`, { dockerConfigPath: missingConfig }), { digest: latest })

  const second = await pushImage(ref)
  assert.notEqual(second, first)
  assert.deepEqual(await resolveTagDigest(ref, { dockerConfigPath: missingConfig }), { digest: second })

  assert.deepEqual(await resolveTagDigest(`${addr}/cu-digest/app:no-such-tag`, { dockerConfigPath: missingConfig }),
    { unavailable: 'the tag does not exist in the registry (404)' })
  assert.deepEqual(await resolveTagDigest(`${addr}/cu-digest/no-such-repo:stable`, { dockerConfigPath: missingConfig }),
    { unavailable: 'the tag does not exist in the registry (404)' })
})

test('swarm: htpasswd registry: the updater\'s config.json credentials, or an auth failure without the password', { skip }, async () => {
  const addr = await startRegistry('auth', true)
  // `docker login` into a config of our own: the one the lookup reads, and the machine's stays untouched.
  const dockerConfig = join(dir, 'docker-config')
  await mkdir(dockerConfig)
  const env = { ...process.env, DOCKER_CONFIG: dockerConfig }
  await run('docker', ['login', '--username', user, '--password-stdin', addr], { env, input: password })
  const configPath = join(dockerConfig, 'config.json')
  assert.ok(JSON.parse(await readFile(configPath, 'utf8')).auths[addr].auth, 'docker login stored the credentials in config.json')

  const ref = `${addr}/cu-digest/private:v1`
  const pushed = await pushImage(ref, env)
  assert.deepEqual(await resolveTagDigest(ref, { dockerConfigPath: configPath }), { digest: pushed })

  const none = await resolveTagDigest(ref, { dockerConfigPath: join(dir, 'no-config.json') })
  assert.deepEqual(none, { unavailable: `the registry requires authentication (401) and the updater has no credentials for ${addr}` })

  const wrongConfig = join(dir, 'wrong.json')
  const wrongPassword = `${password}-old`
  await writeFile(wrongConfig, JSON.stringify({ auths: { [`http://${addr}`]: { auth: Buffer.from(`${user}:${wrongPassword}`).toString('base64') } } }))
  const wrong = await resolveTagDigest(ref, { dockerConfigPath: wrongConfig })
  assert.deepEqual(wrong, { unavailable: `the registry refused the updater's credentials for ${addr} (401)` })
})

/** What the daemon answers `docker service create/update` with: GET /distribution/{name}/json. */
function distributionInspect (ref: string): Promise<{ Descriptor: { digest: string, mediaType: string } }> {
  return new Promise((resolve, reject) => {
    get({ socketPath: '/var/run/docker.sock', path: `/distribution/${encodeURIComponent(ref)}/json` }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`distribution inspect ${res.statusCode}: ${body}`)))
    }).on('error', reject)
  })
}

test('swarm: multi-arch tag: the index digest, the same one the daemon resolves for Swarm', { skip }, async () => {
  const addr = await startRegistry('multi', false)
  const repo = `${addr}/cu-digest/multi`
  const amd64 = await pushImage(`${repo}:amd64`)
  await pushImage(`${repo}:arm64`)
  // The manifest list is built in a Docker config of our own (the CLI keeps drafts there).
  const env = { ...process.env, DOCKER_CONFIG: await mkdtemp(join(dir, 'manifests-')) }
  await run('docker', ['manifest', 'create', '--insecure', `${repo}:both`, `${repo}:amd64`, `${repo}:arm64`], { env })
  await run('docker', ['manifest', 'annotate', '--arch', 'arm64', `${repo}:both`, `${repo}:arm64`], { env })
  const { stdout } = await run('docker', ['manifest', 'push', '--insecure', `${repo}:both`], { env })
  const listDigest = /sha256:[0-9a-f]{64}/.exec(stdout)?.[0]
  assert.ok(listDigest !== undefined && listDigest !== amd64, stdout)

  assert.deepEqual(await resolveTagDigest(`${repo}:both`, { dockerConfigPath: join(dir, 'no-config.json') }), { digest: listDigest })
  const daemon = await distributionInspect(`${repo}:both`)
  assert.equal(daemon.Descriptor.digest, listDigest)
  assert.equal(daemon.Descriptor.mediaType, 'application/vnd.docker.distribution.manifest.list.v2+json')
})
