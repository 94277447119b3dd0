import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtemp, writeFile, readFile, rm, chmod } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import type { TestContext } from 'node:test'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { bearer, build } from './helper.ts'
import { REGISTRY, createService, inspect, pushImage, uniqueName, until, type Inspected } from './swarm-fixtures.ts'

/**
 * Fixtures for the fault-injection tests (test/faults/): the real Swarm behind a Docker CLI that
 * hangs, fails with Docker's own error texts, or garbles its output when a test says so
 * (test/faults/docker-faulty), and checks that every answer matches the schema documented for its
 * status in the app's own OpenAPI document.
 */
export const FAULTY_DOCKER = fileURLToPath(new URL('./faults/docker-faulty', import.meta.url))

/** Docker's own error texts (CLI 28 against a 20.10 engine), as the CLI prints them on stderr. */
export const dockerErrors = {
  unreachable: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?',
  permission: 'permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: ' +
    'Get "http://%2Fvar%2Frun%2Fdocker.sock/v1.41/services": dial unix /var/run/docker.sock: connect: permission denied',
  outOfSequence: 'Error response from daemon: rpc error: code = Unknown desc = update out of sequence',
  ambiguous: (ref: string) => `Error response from daemon: service ${ref} is ambiguous (2 matches found)`
}

// Without jq the wrapper could not read its rules and would pass every call through: say so.
const jqPresent = promisify(execFile)('jq', ['--version']).catch(() => {
  throw new Error('the fault-injection tests need jq (test/faults/docker-faulty reads its rules with it): apt-get install jq')
})
jqPresent.catch(() => {})

export type Fault = 'hang' | 'fail' | 'garbage' | 'truncate' | 'run-then-hang' | 'run-then-fail' | 'delay'

/** One rule of the control file (test/faults/docker-faulty documents them). */
export interface FaultRule {
  id?: string
  /** the arguments joined by spaces start with this, e.g. `service update`; absent: every call */
  command?: string
  /** some argument contains this (a service ID, say) */
  contains?: string
  /** which matching calls fault, counted from 1; none of these: every matching call */
  calls?: number[]
  first?: number
  from?: number
  fault: Fault
  stderr?: string
  stdout?: string
  exitCode?: number
  /** for `delay` */
  ms?: number
}

export interface Call {
  t: number
  args: string[]
  fault: string | null
  phase?: 'ran'
  code?: number
}

export interface FaultyDocker {
  /** for DOCKER_BIN */
  bin: string
  /** the control file, also in the launcher's DOCKER_FAULTS */
  control: string
  /** replaces the faults (counters start again); the next Docker call sees them */
  set: (rules: FaultRule[]) => Promise<void>
  /** no faults any more: every call goes to the real Docker */
  heal: () => Promise<void>
  /** every Docker call so far, in order, with the rule that faulted it; `phase: 'ran'` lines say a `run-then-*` call's real command ended */
  calls: () => Promise<Call[]>
}

/**
 * A faulty Docker CLI of this test's own: a launcher that sets DOCKER_FAULTS to this test's control
 * file (the updater gives the CLI its own environment, shared by every app in the process, so the
 * path travels in the launcher instead), removed when the test ends.
 */
export async function faultyDocker (t: Pick<TestContext, 'after'>, rules: FaultRule[] = []): Promise<FaultyDocker> {
  await jqPresent
  const dir = await mkdtemp(join(tmpdir(), 'cu-faults-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const control = join(dir, 'control.json')
  const log = join(dir, 'calls.log')
  const bin = join(dir, 'docker')
  await writeFile(bin, `#!/bin/sh\nDOCKER_FAULTS='${control}' exec '${FAULTY_DOCKER}' "$@"\n`)
  await chmod(bin, 0o755)
  let generation = 0
  const set = async (next: FaultRule[]): Promise<void> => {
    // Fresh counters in a fresh folder: calls still running may be counting in the old one.
    const counts = join(dir, `counts.${++generation}`)
    // Written whole and renamed: a call never reads half a file.
    await writeFile(`${control}.new`, JSON.stringify({ log, counts, rules: next }))
    const { rename } = await import('node:fs/promises')
    await rename(`${control}.new`, control)
  }
  await set(rules)
  return {
    bin,
    control,
    set,
    heal: async () => set([]),
    calls: async () => {
      const text = await readFile(log, 'utf8').catch(() => '')
      return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Call)
    }
  }
}

/** The calls of one kind, e.g. every `service update`. */
export async function callsOf (docker: FaultyDocker, command: string): Promise<Call[]> {
  return (await docker.calls()).filter((call) => call.phase === undefined && call.args.join(' ').startsWith(command))
}

/**
 * The app in-process, on the faulty Docker, polling unless asked otherwise. The CLI timeout is
 * generous by default: on a loaded machine a real call can take seconds, and only the tests of a
 * hung call want it short.
 */
export async function faultApp (t: TestContext, docker: FaultyDocker, env: Record<string, string> = {}): Promise<FastifyInstance> {
  return build(t, {
    DOCKER_BIN: docker.bin,
    DOCKER_COMMAND_TIMEOUT: '20',
    EVENTS_STREAM: 'false',
    POLL_INTERVAL_MS: '200',
    UPDATE_TIMEOUT: '60',
    ...env
  })
}

// The OpenAPI checks live in test/openapi.ts (route tests use them without the Swarm fixtures).
import { assertDocumented, type OpenApiDoc } from './openapi.ts'
export { assertDocumented, openApi, type OpenApiDoc } from './openapi.ts'

/** An error body: the documented shape, with this status and code, and no parser or stack text. */
export function assertErrorBody (res: { statusCode: number, json: () => unknown }, status: number, code: string): { message: string } {
  assert.equal(res.statusCode, status, JSON.stringify(res.json()))
  const body = res.json() as Record<string, unknown>
  assert.deepEqual(Object.keys(body).sort(), ['code', 'error', 'message', 'statusCode'])
  assert.equal(body.statusCode, status)
  assert.equal(body.code, code)
  assert.equal(typeof body.message, 'string')
  assert.doesNotMatch(String(body.message), /Unexpected token|JSON|at position|\n\s+at /, 'no parser text or stack in the message')
  return body as { message: string }
}

export interface RecordBody {
  updateId: string
  status: string
  image: string | null
  previousImage: string | null
  targetImage?: string
  message?: string
  warning?: string
  supersededBy?: string
  statusUrl: string
  startedAt: string
  finishedAt: string | null
  trigger?: string
  heldUntil?: string
}

/** GET /updates/:id, checked against its documented schema. */
export async function getRecord (app: FastifyInstance, doc: OpenApiDoc, updateId: string): Promise<RecordBody> {
  const res = await app.inject({ url: `/updates/${updateId}`, headers: bearer() })
  assert.equal(res.statusCode, 200, res.body)
  assertDocumented(doc, { method: 'get', path: '/updates/{updateId}' }, 200, res.json())
  return res.json() as RecordBody
}

/** The records of a service, newest first (an error answer names no updateId: this finds it). */
export async function recordsOf (app: FastifyInstance, service: string): Promise<RecordBody[]> {
  const res = await app.inject({ url: `/updates?service=${encodeURIComponent(service)}`, headers: bearer() })
  assert.equal(res.statusCode, 200, res.body)
  return (res.json() as { updates: RecordBody[] }).updates
}

/** Polls the record until its status is one of `states`. */
export async function recordReaches (app: FastifyInstance, doc: OpenApiDoc, updateId: string, states: string[], timeoutMs = 90_000): Promise<RecordBody> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const record = await getRecord(app, doc, updateId)
    if (states.includes(record.status)) return record
    if (Date.now() > deadline) assert.fail(`record ${updateId} stayed ${record.status}, expected ${states.join('/')}: ${JSON.stringify(record)}`)
    await sleep(250)
  }
}

/** The record agrees with Swarm: its image is the spec's image, its status Swarm's UpdateStatus. */
export function assertAgrees (record: RecordBody, service: Inspected): void {
  assert.equal(record.image, service.Spec.TaskTemplate.ContainerSpec.Image, 'record image = spec image')
  const swarmState: { [state: string]: string } = { completed: 'completed', rolled_back: 'rollback_completed', paused: 'paused' }
  const expected = swarmState[record.status]
  // No UpdateStatus (another client's change, or no tasks) is checked by the tasks instead.
  if (expected !== undefined && service.UpdateStatus !== undefined) assert.equal(service.UpdateStatus.State, expected, 'record status = UpdateStatus')
}

export type Response = LightMyRequestResponse

/**
 * A service on `${REGISTRY}/<name>:latest` (running v1) with a newer image (v2) pushed under the
 * same tag, so that an update has something to roll onto; removed when the test ends.
 */
export async function serviceWithNewImage (t: Pick<TestContext, 'after'>, prefix: string, extra: string[] = []): Promise<{ name: string, id: string, v1: Pushed, v2: Pushed }> {
  const name = uniqueName(prefix)
  const v1 = await pushImage(name, 'latest')
  const id = await createService(t, name, `${REGISTRY}/${name}:latest`, extra)
  const v2 = await pushImage(name, 'latest')
  return { name, id, v1, v2 }
}

type Pushed = Awaited<ReturnType<typeof pushImage>>

/**
 * Waits until Swarm is rolling the update a pending request started (its Version moved on and
 * UpdateStatus says updating); fails at once if the request was answered first.
 */
export async function midUpdate (name: string, beforeVersion: number, pending: Promise<{ statusCode: number, body: string }>): Promise<void> {
  let answered: string | undefined
  pending.then((res) => { answered = `${res.statusCode} ${res.body}` }, (error: Error) => { answered = error.message })
  await until('the update to be rolling in Swarm', async () => {
    if (answered !== undefined) assert.fail(`the request was answered before its update rolled: ${answered}`)
    const now = await inspect(name)
    return now.Version.Index > beforeVersion && now.UpdateStatus?.State === 'updating' ? true : undefined
  })
}
