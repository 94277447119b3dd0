import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildApp } from '../../src/app.ts'
import { isOnDigest, matchesPush, type PushEvent, type PushOrigin } from '../../src/hooks/events.ts'
import { testConfig, token } from '../helper.ts'
import { startRegistry } from '../registry-fixture.ts'
import { docker, swarmSkip, uniqueName, until } from '../swarm-fixtures.ts'

/**
 * A real Debian `docker-registry` (CNCF Distribution 2.8), started here on its own loopback port
 * with a `notifications:` endpoint pointing at the updater's /hooks/distribution, and a real
 * `docker push` to it. Loopback registries need no TLS (Docker treats 127.0.0.0/8 as insecure).
 */
/** A one-file image (it never runs), imported and pushed; returns the pushed digest. */
async function pushTinyImage (ref: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cu-hook-image-'))
  try {
    await mkdir(join(dir, 'root'))
    await writeFile(join(dir, 'root', 'version'), randomBytes(8).toString('hex'))
    const tar = join(dir, 'rootfs.tar')
    await new Promise<void>((resolve, reject) => {
      const child = spawn('tar', ['-C', join(dir, 'root'), '-cf', tar, '.'])
      child.on('error', reject)
      child.on('exit', (code) => code === 0 ? resolve() : reject(new Error(`tar exited ${code}`)))
    })
    await docker('import', tar, ref)
    const out = await docker('push', ref)
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(out)?.[1]
    if (digest === undefined) throw new Error(`no digest in docker push output: ${out}`)
    return digest
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

test('swarm: a real docker-registry delivers its notifications; one PushEvent for the pushed tag', { skip: swarmSkip }, async (t) => {
  // The updater side: the real app with the hook routes and a recording onPush.
  const received: Array<{ events: PushEvent[], origin: PushOrigin }> = []
  const answers: number[] = []
  const app = await buildApp(testConfig(), { onPush: (events: PushEvent[], origin: PushOrigin) => { received.push({ events, origin }) } })
  t.after(() => app.close())
  app.addHook('onResponse', async (request, reply) => { if (request.url === '/hooks/distribution') answers.push(reply.statusCode) })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const appPort = (app.server.address() as { port: number }).port

  // The registry side, configured as an operator would.
  const jwt = token({ sub: 'test-registry', services: ['hooked-*'] })
  const { address: registry } = await startRegistry(t, { url: `http://127.0.0.1:${appPort}/hooks/distribution`, token: jwt })

  const repo = uniqueName('hooked')
  const ref = `${registry}/team/${repo}:v1`
  t.after(() => docker('image', 'rm', ref).catch(() => {}))
  const digest = await pushTinyImage(ref)

  const first = await until('the tagged manifest event', () => received.length > 0 ? received : undefined)
  // Blob events arrive first (each one its own delivery or batched); give any straggler a moment.
  await sleep(1500)
  const events = received.flatMap((call) => call.events)
  assert.equal(events.length, 1, JSON.stringify(received))
  const [event] = events as [PushEvent]
  assert.deepEqual({ ...event, id: undefined, pusher: undefined }, {
    source: 'distribution', id: undefined, registry, repository: `team/${repo}`, tag: 'v1', digest, pusher: undefined
  })
  assert.deepEqual(first[0]!.origin, { source: 'distribution', subject: 'test-registry', services: ['hooked-*'] })
  assert.ok(answers.length >= 2, `the blobs were reported too (${answers.length} deliveries)`)
  assert.ok(answers.every((status) => status === 202), `every delivery authenticated and accepted: ${answers.join(',')}`)
  assert.ok(matchesPush(`${registry}/team/${repo}:v1@${digest}`, event))
  assert.ok(!matchesPush(`${registry}/team/${repo}:v2`, event))
  assert.ok(isOnDigest(`${registry}/team/${repo}:v1@${digest}`, event), 'a service already on the pushed digest is recognised')

  // Pushing the same image again reports the tag again (a new event id): the engine, not the
  // hook, leaves services on that digest alone.
  const again = await pushTinyImageAgain(ref)
  await until('the re-push event', () => received.length > 1 ? true : undefined)
  const second = received.slice(1).flatMap((call) => call.events)
  assert.equal(second.length, 1)
  assert.equal(again, digest, 'the same image, the same digest')
  assert.equal(second[0]!.digest, digest)
  assert.notEqual(second[0]!.id, event.id)
})

async function pushTinyImageAgain (ref: string): Promise<string> {
  const out = await docker('push', ref)
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(out)?.[1]
  if (digest === undefined) throw new Error(`no digest in docker push output: ${out}`)
  return digest
}
