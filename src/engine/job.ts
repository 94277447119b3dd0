import { randomUUID } from 'node:crypto'
import type { ServiceState } from '../docker/swarm.js'
import type { StoredUpdate } from '../store/records.js'
import type { UpdateRequest } from './types.js'

/** A Docker update of one service that any number of requests may share. */
export interface Job {
  record: StoredUpdate
  joinKey: string
  tag: string | undefined
  started: boolean
  blocking: boolean
  /** its `service update` call is in flight: the lane stays blocked even past the deadline */
  writing: boolean
  /** its post-rollout check runs (verify.ts): the lane stays blocked even past the deadline */
  checking: boolean
  final: boolean
  /** the service as resolved by the request, when the job starts at once: no need to read it again */
  snapshot?: ServiceState | undefined
  /** stops the watch: superseded, shutdown, or the background watch ran out */
  watch: AbortController
  error?: Error
  done: Promise<void>
  markDone: () => void
  timer?: NodeJS.Timeout
  releaseSlot?: () => void
}

/** A new update of a resolved service, `queued`, its record ready to be written. */
export function newJob (service: ServiceState, request: UpdateRequest, arrivedAt: number, self: boolean): Job {
  const updateId = randomUUID()
  return jobFrom({
    updateId,
    appName: request.appName,
    service: service.name,
    serviceId: service.id,
    status: 'queued',
    previousImage: null,
    image: null,
    startedAt: new Date(arrivedAt).toISOString(),
    finishedAt: null,
    durationMs: null,
    statusUrl: `/updates/${updateId}`,
    ...(request.requestedBy !== undefined && { requestedBy: request.requestedBy }),
    ...(request.batchId !== undefined && { batchId: request.batchId }),
    ...(request.trigger !== undefined && { trigger: request.trigger }),
    ...(request.reason !== undefined && { reason: request.reason }),
    ...(request.action !== undefined && { action: request.action }),
    ...(self && { message: 'the updater is updating its own service: the instance that takes over settles this record (poll statusUrl)' })
  }, request.tag, service)
}

/** What requests for a rollback join on: no tag can be this (tags never start with a space). */
export const ROLLBACK_JOIN_KEY = ' rollback'

/** The join key of a request (lanes.ts): its tag, or the rollback's own. */
export const joinKeyOf = (request: UpdateRequest): string => request.action === 'rollback' ? ROLLBACK_JOIN_KEY : request.tag ?? ''

/** A job around a record (a new one, or one an earlier process left unfinished). */
export function jobFrom (record: StoredUpdate, tag?: string, snapshot?: ServiceState): Job {
  let markDone!: () => void
  const done = new Promise<void>((resolve) => { markDone = resolve })
  // A rollback joins only a rollback waiting to start, never an update (and no update joins it).
  const joinKey = record.action === 'rollback' ? ROLLBACK_JOIN_KEY : tag ?? ''
  return { record, tag, joinKey, started: false, blocking: false, writing: false, checking: false, final: false, snapshot, watch: new AbortController(), done, markDone }
}

/**
 * What jobs count for the metrics: Docker updates running (started, their lane held), and updates
 * waiting for their turn (not started). Final ones and timed-out ones that let their lane go count
 * for neither.
 */
export function loadOf (jobs: Iterable<Job>): { running: number, queued: number } {
  let running = 0
  let queued = 0
  for (const job of jobs) {
    if (job.final) continue
    if (job.started && job.blocking) running++
    else if (!job.started) queued++
  }
  return { running, queued }
}
