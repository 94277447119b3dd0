import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ServiceEvents, type ServiceEventsOptions } from '../../src/docker/events.ts'
import { compareTimeNano, parseServiceEvent, toDockerTime } from '../../src/docker/service-event.ts'
import { waitFor } from '../wait.ts'

/** Lines as the Debian 20.10 engine printed them (see src/docker/service-event.ts). */
const line = (id: string, timeNano: string, attributes: Record<string, string>, action = 'update'): string =>
  JSON.stringify({ Type: 'service', Action: action, Actor: { ID: id, Attributes: { name: `svc-${id}`, ...attributes } }, scope: 'swarm', time: Number(timeNano.slice(0, -9)), timeNano: Number(timeNano) })
    .replace(/"timeNano":\d+(\.\d+)?(e\+\d+)?/, `"timeNano":${timeNano}`)

type Step = { out: string } | { err: string } | { wait: number } | { exit: number } | { hang: true }

/**
 * A stand-in `docker` binary: each run appends its argv to args.jsonl, then plays
 * script-<run>.json (or script-default.json): writes to stdout/stderr, pauses, exits or hangs.
 */
const FAKE_BIN = `#!${process.execPath}
const fs = require('node:fs')
const path = require('node:path')
const dir = process.env.DOCKER_FAKE_DIR
const runs = fs.existsSync(path.join(dir, 'runs')) ? Number(fs.readFileSync(path.join(dir, 'runs'), 'utf8')) + 1 : 1
fs.writeFileSync(path.join(dir, 'runs'), String(runs))
fs.appendFileSync(path.join(dir, 'args.jsonl'), JSON.stringify({ argv: process.argv.slice(2), pid: process.pid, jwt: process.env.JWT_SECRET !== undefined }) + '\\n')
const own = path.join(dir, 'script-' + runs + '.json')
const steps = JSON.parse(fs.readFileSync(fs.existsSync(own) ? own : path.join(dir, 'script-default.json'), 'utf8'))
const play = (i) => {
  const step = steps[i]
  if (step === undefined) return
  if ('out' in step) { process.stdout.write(step.out); return setTimeout(play, 0, i + 1) }
  if ('err' in step) { process.stderr.write(step.err); return setTimeout(play, 0, i + 1) }
  if ('wait' in step) return setTimeout(play, step.wait, i + 1)
  if ('exit' in step) return process.exitCode = step.exit
  if ('hang' in step) return setInterval(() => {}, 1 << 30)
}
play(0)
`

interface Fake {
  dir: string
  options: (extra?: Partial<ServiceEventsOptions>) => ServiceEventsOptions
  script: (run: number | 'default', steps: Step[]) => Promise<void>
  runs: () => Promise<Array<{ argv: string[], pid: number, jwt: boolean }>>
  warnings: Array<Record<string, unknown>>
}

async function fakeDocker (t: { after: (fn: () => Promise<void>) => void }): Promise<Fake> {
  const dir = await mkdtemp(join(tmpdir(), 'cu-events-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const bin = join(dir, 'docker')
  await writeFile(bin, FAKE_BIN)
  await chmod(bin, 0o755)
  await writeFile(join(dir, 'script-default.json'), JSON.stringify([{ hang: true }]))
  const warnings: Array<Record<string, unknown>> = []
  return {
    dir,
    warnings,
    options: (extra = {}) => ({
      bin,
      env: { ...process.env, DOCKER_FAKE_DIR: dir, JWT_SECRET: 'not for docker' },
      log: { warn: (obj) => warnings.push(obj as Record<string, unknown>), info () {}, debug () {} },
      minBackoffMs: 20,
      upAfterMs: 10_000,
      ...extra
    }),
    script: (run, steps) => writeFile(join(dir, `script-${run}.json`), JSON.stringify(steps)),
    runs: async () => (await readFile(join(dir, 'args.jsonl'), 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => JSON.parse(l))
  }
}

const A = line('aaaa', '1795941946545198346', { 'updatestate.new': 'updating' })
const B = line('aaaa', '1795941951734663603', { 'updatestate.new': 'completed', 'updatestate.old': 'updating' })
const C = line('bbbb', '1795941965726391063', {}, 'remove')

test('parses the measured shapes exactly, timeNano included, and refuses everything else', () => {
  const rollback = '{"Type":"service","Action":"update","Actor":{"ID":"8uon96cfyew5s99uy5o4sz4se","Attributes":{"image.new":"127.0.0.1:5000/x:good@sha256:99e4","image.old":"127.0.0.1:5000/x:crash@sha256:00d5","name":"cu-ev","updatestate.new":"rollback_started","updatestate.old":"updating"}},"scope":"swarm","time":1795941956,"timeNano":1795941956043120310}'
  assert.deepEqual(parseServiceEvent(rollback), {
    serviceId: '8uon96cfyew5s99uy5o4sz4se',
    name: 'cu-ev',
    action: 'update',
    updateState: 'rollback_started',
    previousState: 'updating',
    image: '127.0.0.1:5000/x:good@sha256:99e4',
    previousImage: '127.0.0.1:5000/x:crash@sha256:00d5',
    time: 1795941956043 + 0.12031,
    timeNano: '1795941956043120310'
  })
  const remove = parseServiceEvent('{"Type":"service","Action":"remove","Actor":{"ID":"8uon96cfyew5s99uy5o4sz4se","Attributes":{"name":"cu-ev"}},"scope":"swarm","time":1795941965,"timeNano":1795941965726391063}')
  assert.equal(remove?.action, 'remove')
  assert.equal(remove?.timeNano, '1795941965726391063', 'not rounded by JSON.parse')
  assert.equal(remove?.updateState, undefined)
  for (const bad of ['garbage', '', '[]', 'null', '{"Type":"container","Action":"start","Actor":{"ID":"x"},"timeNano":1}',
    '{"Type":"service","Action":"create","Actor":{"Attributes":{}},"timeNano":1795941965726391063}',
    '{"Type":"service","Action":"ping","Actor":{"ID":"x"},"timeNano":1795941965726391063}',
    '{"Type":"service","Action":"create","Actor":{"ID":"x"}}']) {
    assert.equal(parseServiceEvent(bad), undefined, bad)
  }
  assert.equal(toDockerTime('1795941965726391063'), '1795941965.726391063')
  assert.equal(toDockerTime('1795941965000000001'), '1795941965.000000001')
  assert.equal(compareTimeNano('999999999999999999', '1000000000000000000'), -1)
  assert.equal(compareTimeNano('1795941965726391063', '1795941965726391063'), 0)
  assert.equal(compareTimeNano('1795941965726391064', '1795941965726391063'), 1)
})

test('lines split across writes are parsed, garbage is counted, and a restart resumes --since the last event without repeats', async (t) => {
  const fake = await fakeDocker(t)
  await fake.script(1, [
    { out: A.slice(0, 40) }, { wait: 30 }, { out: A.slice(40) + '\ngarbage\n' + B.slice(0, 70) }, { wait: 30 },
    { out: B.slice(70) + '\n{"Type":"container","Action":"start","Actor":{"ID":"c"},"timeNano":1}\n' },
    { err: 'Error response from daemon: boom\n' }, { exit: 1 }
  ])
  // What `--since` replays: the event at exactly that time again, then the newer one.
  await fake.script(2, [{ out: A + '\n' + B + '\n' + C + '\n' }, { hang: true }])
  const events = new ServiceEvents(fake.options())
  const seen: string[] = []
  const states: string[] = []
  events.on('event', (event) => seen.push(`${event.serviceId} ${event.action} ${event.updateState ?? '-'} ${event.timeNano}`))
  events.on('up', () => states.push('up'))
  events.on('down', (reason) => states.push(`down: ${reason}`))
  t.after(() => events.stop())
  events.start()
  await waitFor('seen.length === 3', () => seen.length === 3, 30, 10)
  assert.deepEqual(seen, [
    'aaaa update updating 1795941946545198346',
    'aaaa update completed 1795941951734663603',
    'bbbb remove - 1795941965726391063'
  ])
  assert.deepEqual(states, ['up', 'down: boom', 'up'])
  assert.equal(events.healthy, true)
  assert.equal(events.stats.badLines, 2)
  const runs = await fake.runs()
  assert.equal(runs.length, 2)
  assert.deepEqual(runs[0]!.argv.slice(0, 5), ['events', '--format', '{{json .}}', '--filter', 'type=service'])
  assert.equal(runs[0]!.argv[5], '--since')
  assert.match(runs[0]!.argv[6]!, /^\d{10,}\.\d{9}$/)
  assert.deepEqual(runs[1]!.argv.slice(5), ['--since', '1795941951.734663603'])
  assert.equal(runs.some((run) => run.jwt), false, 'JWT_* variables stay out of the CLI environment')
  assert.equal(fake.warnings[0]?.reason, 'boom')

  const pid = events.pid
  assert.equal(pid, runs[1]!.pid)
  assert.equal(events.stats.restarts, 1, 'the one restart, after boom')
  await events.stop()
  assert.equal(events.healthy, false)
  assert.equal(events.pid, undefined)
  assert.throws(() => process.kill(pid!, 0), { code: 'ESRCH' }, 'the child is gone')
  // stop() resolves once the child's end is handled, which is where a restart would be scheduled.
  assert.equal(events.stats.restarts, 1, 'no restart scheduled after stop()')
  assert.equal((await fake.runs()).length, 2, 'no restart after stop()')
})

test('restarts back off exponentially up to the cap, and a child that lived long enough resets the backoff', async (t) => {
  const fake = await fakeDocker(t)
  await fake.script('default', [{ err: 'Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon running?\n' }, { exit: 1 }])
  await fake.script(5, [{ wait: 2500 }, { exit: 1 }])
  const events = new ServiceEvents(fake.options({ minBackoffMs: 10, maxBackoffMs: 40, stableAfterMs: 2000 }))
  const downs: string[] = []
  events.on('down', (reason) => downs.push(reason))
  t.after(() => events.stop())
  events.start()
  await waitFor('fake.warnings.length >= 6', () => fake.warnings.length >= 6, 30, 10)
  await events.stop()
  assert.deepEqual(fake.warnings.slice(0, 6).map((w) => w.restartInMs), [10, 20, 40, 40, 10, 20])
  assert.equal(fake.warnings[4]?.reason, 'docker events exited with code 1')
  assert.deepEqual(downs, ['Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon running?'], 'down is a transition, said once')
  assert.equal(events.healthy, false)
})

test('a missing binary is reported down with the reason and retried', async (t) => {
  const fake = await fakeDocker(t)
  const events = new ServiceEvents(fake.options({ bin: join(fake.dir, 'no-such-docker'), minBackoffMs: 5, maxBackoffMs: 5 }))
  t.after(() => events.stop())
  const down = once(events, 'down')
  events.start()
  const [reason] = await down as [string]
  assert.match(reason, /no-such-docker\) is not installed or not on PATH/)
  await waitFor('events.stats.spawns >= 3', () => events.stats.spawns >= 3, 30, 10)
  assert.equal(events.healthy, false)
  assert.equal(fake.warnings[0]?.code, 'ENOENT')
})

test('waitFor settles on the first matching event of its own service, on abort and on stop', async (t) => {
  const fake = await fakeDocker(t)
  const other = line('bbbb', '1795941946545198000', { 'updatestate.new': 'updating' })
  await fake.script(1, [{ wait: 300 }, { out: `${other}\n${A}\n${B}\n` }, { hang: true }])
  const events = new ServiceEvents(fake.options({ upAfterMs: 50 }))
  t.after(() => events.stop())
  let eventsAtUp = -1
  events.on('up', () => { eventsAtUp = events.stats.events })
  events.start()
  const completed = events.waitFor('aaaa', (event) => event.updateState === 'completed')
  const anyOther = events.waitFor('bbbb', () => true)
  const aborter = new AbortController()
  const aborted = events.waitFor('aaaa', () => true, aborter.signal)
  aborter.abort(new Error('caller gave up'))
  const throwing = events.waitFor('aaaa', () => { throw new Error('bad predicate') })
  const never = events.waitFor('cccc', () => true)
  never.catch(() => {}) // asserted below, after stop()
  await assert.rejects(aborted, /caller gave up/)
  assert.equal((await completed).timeNano, '1795941951734663603')
  assert.equal((await anyOther).serviceId, 'bbbb')
  await assert.rejects(throwing, /bad predicate/)
  assert.equal(eventsAtUp, 0, 'a silent child still alive after upAfterMs is up')
  assert.equal(events.stats.waiters, 1)
  await events.stop()
  await assert.rejects(never, { code: 'CU_EVENTS_STOPPED' })
  assert.equal(events.stats.waiters, 0)
  await assert.rejects(events.waitFor('aaaa', () => true), { code: 'CU_EVENTS_STOPPED' })
})
