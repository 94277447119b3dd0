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
    ...(self && { message: 'the updater is updating its own service: the instance that takes over settles this record (poll statusUrl)' })
  }, request.tag, service)
}

/** A job around a record (a new one, or one an earlier process left unfinished). */
export function jobFrom (record: StoredUpdate, tag?: string, snapshot?: ServiceState): Job {
  let markDone!: () => void
  const done = new Promise<void>((resolve) => { markDone = resolve })
  return { record, tag, joinKey: tag ?? '', started: false, blocking: false, writing: false, final: false, snapshot, watch: new AbortController(), done, markDone }
}

/** Counts for metrics: Docker updates running, and updates waiting for their turn. */
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
