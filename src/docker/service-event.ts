/**
 * One line of `docker events --format '{{json .}}' --filter type=service`, parsed.
 *
 * Shapes measured on the Debian 20.10 engine (server 20.10.24, CLI 28.2) while a test service went
 * through create, a forced update, an update whose tasks crash (failure action rollback), the same
 * with failure action pause, `docker service rollback`, and `docker service rm`. Every event is on
 * one line; IDs and names shortened here, image digests elided:
 *
 * create:
 *   {"Type":"service","Action":"create","Actor":{"ID":"8uon…","Attributes":{"name":"cu-ev"}},"scope":"swarm","time":1795941941,"timeNano":1795941941445721926}
 * `service update --force` (a spec change, then the rollout starting, then its end):
 *   {"Type":"service","Action":"update","Actor":{"ID":"8uon…","Attributes":{"name":"cu-ev"}},…,"timeNano":1795941946543490863}
 *   {"Type":"service","Action":"update","Actor":{"ID":"8uon…","Attributes":{"name":"cu-ev","updatestate.new":"updating"}},…,"timeNano":1795941946545198346}
 *   {"Type":"service","Action":"update","Actor":{"ID":"8uon…","Attributes":{"name":"cu-ev","updatestate.new":"completed","updatestate.old":"updating"}},…,"timeNano":1795941951734663603}
 * an image change whose tasks crash, failure action rollback (the spec event carries image.new/old):
 *   {…"Attributes":{"image.new":"…:crash@sha256:…","image.old":"…:good@sha256:…","name":"cu-ev"}}…
 *   {…"Attributes":{"name":"cu-ev","updatestate.new":"updating"}}…
 *   {…"Attributes":{"image.new":"…:good@sha256:…","image.old":"…:crash@sha256:…","name":"cu-ev","updatestate.new":"rollback_started","updatestate.old":"updating"}}…
 *   {…"Attributes":{"name":"cu-ev","updatestate.new":"rollback_completed","updatestate.old":"rollback_started"}}…
 * the same with failure action pause:
 *   {…"Attributes":{"image.new":"…:crash@…","image.old":"…:good@…","name":"cu-ev"}}…
 *   {…"Attributes":{"name":"cu-ev","updatestate.new":"updating"}}…
 *   {…"Attributes":{"name":"cu-ev","updatestate.new":"paused","updatestate.old":"updating"}}…
 * `docker service rollback` of the paused service:
 *   {…"Attributes":{"image.new":"…:good@…","image.old":"…:crash@…","name":"cu-ev","updatestate.new":"rollback_started","updatestate.old":"paused"}}…
 *   {…"Attributes":{"name":"cu-ev","updatestate.new":"rollback_completed","updatestate.old":"rollback_started"}}…
 * remove:
 *   {"Type":"service","Action":"remove","Actor":{"ID":"8uon…","Attributes":{"name":"cu-ev"}},"scope":"swarm","time":1795941965,"timeNano":1795941965726391063}
 *
 * Note that an `updating` event need not carry `updatestate.old` (it did not here, after a completed
 * update), and that a spec change without a rollout is an `update` without updatestate: a label
 * change, and also `update --force` of a service with 0 replicas, whose one event is
 *   {"Type":"service","Action":"update","Actor":{"ID":"iwgy…","Attributes":{"name":"cu-evzero"}},…,"timeNano":1795942350389547681}
 * and whose UpdateStatus stays null (nothing more will come: read the service to conclude).
 */

export type ServiceAction = 'create' | 'update' | 'remove'

export interface ServiceEvent {
  /** full service ID (Actor.ID) */
  serviceId: string
  /** service name (Actor.Attributes.name) */
  name: string
  action: ServiceAction
  /** Attributes['updatestate.new']: updating, completed, paused, rollback_started, rollback_completed… */
  updateState?: string
  /** Attributes['updatestate.old'] */
  previousState?: string
  /** Attributes['image.new'], on events that change the spec's image */
  image?: string
  /** Attributes['image.old'] */
  previousImage?: string
  /** Docker's timeNano in milliseconds since the epoch (fractional) */
  time: number
  /**
   * Docker's timeNano exactly, as decimal digits: the number has 19 digits, more than a double
   * holds, and `--since` needs it exactly to resume without losing or repeating events.
   */
  timeNano: string
}

interface RawEvent {
  Type?: unknown
  Action?: unknown
  Actor?: { ID?: unknown, Attributes?: Record<string, unknown> | null } | null
}

const actions = new Set<string>(['create', 'update', 'remove'])
const TIME_KEY = '"timeNano":'

/** The service event on a line, or undefined for anything else (garbage, other types, bad shapes). */
export function parseServiceEvent (line: string): ServiceEvent | undefined {
  let raw: RawEvent
  try {
    raw = JSON.parse(line) as RawEvent
  } catch {
    return undefined
  }
  if (typeof raw !== 'object' || raw === null) return undefined
  const { Type, Action, Actor } = raw
  if (Type !== 'service' || typeof Action !== 'string' || !actions.has(Action)) return undefined
  if (typeof Actor !== 'object' || Actor === null || typeof Actor.ID !== 'string' || Actor.ID === '') return undefined
  const timeNano = exactTimeNano(line)
  if (timeNano === undefined) return undefined
  const attributes = Actor.Attributes ?? {}
  const text = (key: string): string | undefined => {
    const value = attributes[key]
    return typeof value === 'string' && value !== '' ? value : undefined
  }
  const event: ServiceEvent = {
    serviceId: Actor.ID,
    name: text('name') ?? '',
    action: Action as ServiceAction,
    time: Number(timeNano.slice(0, -6)) + Number(timeNano.slice(-6)) / 1e6,
    timeNano
  }
  const updateState = text('updatestate.new')
  if (updateState !== undefined) event.updateState = updateState
  const previousState = text('updatestate.old')
  if (previousState !== undefined) event.previousState = previousState
  const image = text('image.new')
  if (image !== undefined) event.image = image
  const previousImage = text('image.old')
  if (previousImage !== undefined) event.previousImage = previousImage
  return event
}

/**
 * timeNano's digits read from the text, since JSON.parse rounds them. Docker prints it as the last
 * key of the event, after every attribute, so the last occurrence is the event's own.
 */
function exactTimeNano (line: string): string | undefined {
  const at = line.lastIndexOf(TIME_KEY)
  if (at === -1) return undefined
  const digits = /^\d{10,}/.exec(line.slice(at + TIME_KEY.length, at + TIME_KEY.length + 24))?.[0]
  return digits
}

/** -1, 0 or 1: the order of two timeNano digit strings (no leading zeros, so length first). */
export function compareTimeNano (a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1
  return a < b ? -1 : a > b ? 1 : 0
}

/** timeNano as Docker's `--since` wants it: seconds.nanoseconds. */
export function toDockerTime (timeNano: string): string {
  return `${timeNano.slice(0, -9)}.${timeNano.slice(-9)}`
}

/** Now, as timeNano digits (millisecond precision). */
export function nowTimeNano (now = Date.now()): string {
  return `${now}000000`
}
