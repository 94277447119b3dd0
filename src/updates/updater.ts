import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { isValidTag } from '../docker/names.js'
import { targetImage } from '../docker/image-ref.js'
import type { RegistryAuthCheck } from '../docker/registry-auth.js'
import type { ServiceState, Swarm } from '../docker/swarm.js'
import {
  DockerTimeout, ImagePinnedByDigest, InvalidTag, OutOfSequence, ServiceNotEnabled, ServiceNotFound, ShuttingDown
} from '../errors.js'
import { waitForConvergence, type Outcome, type ServiceSource } from './convergence.js'
import { Lanes } from './lanes.js'
import { ServicePoller } from './poller.js'
import { EventDrivenSource } from './event-source.js'
import type { ServiceEvents } from '../docker/events.js'
import { publicRecord, type StoredUpdate, type UpdateRecord, type UpdateState, type UpdateStore } from './records.js'
import { ServiceReads } from './service-reads.js'
import { Semaphore } from './semaphore.js'
import { hasLabel } from './labels.js'

export interface UpdateRequest {
  appName: string
  tag?: string | undefined
  /** the token's subject, or hook:<source> */
  requestedBy?: string | undefined
  batchId?: string | undefined
}

/** What a caller learns: the record, and the domain error of a failed update (for its status). */
export interface Answer {
  record: UpdateRecord
  error?: Error
}

export type RecordEvent = 'final' | 'timeout'

export interface UpdaterOptions {
  swarm: Swarm
  registryAuth: RegistryAuthCheck
  store: UpdateStore
  /** how long a waited update may take, from the request's arrival, before it is answered `timeout` */
  updateTimeoutMs: number
  pollIntervalMs?: number
  /** the `docker events` stream: reads on events instead of on a timer (polling while it is down) */
  events?: ServiceEvents | undefined
  /** Docker updates running at once across all services */
  maxConcurrentUpdates?: number
  /** retries of Docker's "update out of sequence" after re-reading the service */
  outOfSequenceRetries?: number
  /** how long a timed-out update is still watched in the background */
  backgroundWatchMs?: number
  /** only services carrying this label (`key` or `key=value`) may be updated */
  requiredLabel?: string | undefined
  /** the updater's own service ID: updating it is answered at once (Swarm replaces this process) */
  selfServiceId?: string | undefined
  /** a record could not be written after it was first saved (the live record is kept) */
  onStoreError?: (error: unknown) => void
  /** a record reached a final state, or its caller stopped waiting (`timeout`) */
  onRecord?: (record: UpdateRecord, event: RecordEvent) => void
}

/** A Docker update of one service that any number of requests may share. */
interface Job {
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

/**
 * Resolves services and rolls them onto their newest image, one Docker update per service at a
 * time (updates/lanes.ts), and tells every waiting caller the truth about the update it joined:
 * its final state, or `timeout` at its own deadline. Records are written to the store before any
 * answer names them.
 */
export class ServiceUpdater {
  readonly #swarm: Swarm
  readonly #registryAuth: RegistryAuthCheck
  readonly #store: UpdateStore
  readonly #timeoutMs: number
  readonly #poller: ServicePoller
  readonly #source: ServiceSource
  readonly #retries: number
  readonly #backgroundMs: number
  readonly #requiredLabel: string | undefined
  readonly #selfServiceId: string | undefined
  readonly #onRecord: (record: UpdateRecord, event: RecordEvent) => void
  readonly #onStoreError: (error: unknown) => void
  readonly #slots: Semaphore
  readonly #lanes: Lanes<Job>
  readonly #reads: ServiceReads
  readonly #jobs = new Map<string, Job>()
  #closing = false
  /** resolves at the shutdown deadline: every waiting caller is answered by then */
  readonly #closeDeadline: Promise<'closing'>
  #reachDeadline!: () => void
  #closeTimer: NodeJS.Timeout | undefined

  constructor (options: UpdaterOptions) {
    this.#swarm = options.swarm
    this.#registryAuth = options.registryAuth
    this.#store = options.store
    this.#timeoutMs = options.updateTimeoutMs
    this.#poller = new ServicePoller(options.swarm, options.pollIntervalMs ?? 500)
    const poller = this.#poller
    this.#source = options.events !== undefined ? new EventDrivenSource(options.events, poller, options.pollIntervalMs ?? 500) : { next: async (id, signal) => poller.next(id, signal) }
    this.#retries = options.outOfSequenceRetries ?? 3
    this.#backgroundMs = options.backgroundWatchMs ?? 24 * 3600_000
    this.#requiredLabel = options.requiredLabel
    this.#selfServiceId = options.selfServiceId
    this.#onRecord = options.onRecord ?? (() => {})
    this.#onStoreError = options.onStoreError ?? (() => {})
    this.#slots = new Semaphore(options.maxConcurrentUpdates ?? 8)
    this.#lanes = new Lanes<Job>((job, previous) => { this.#run(job, previous).catch(() => {}) })
    this.#reads = new ServiceReads(options.swarm)
    this.#closeDeadline = new Promise((resolve) => { this.#reachDeadline = () => resolve('closing') })
  }

  get closing (): boolean {
    return this.#closing
  }

  get requiredLabel (): string | undefined {
    return this.#requiredLabel
  }

  get store (): UpdateStore {
    return this.#store
  }

  /** Counts for metrics: Docker updates running, and updates waiting for their turn. */
  get load (): { running: number, queued: number } {
    let running = 0
    let queued = 0
    for (const job of this.#lanes.jobs()) {
      if (job.final) continue
      if (job.started && job.blocking) running++
      else if (!job.started) queued++
    }
    return { running, queued }
  }

  /** Is this the updater's own service? Waiting for it is impossible: Swarm replaces this process. */
  isSelf (service: ServiceState): boolean {
    return this.#selfServiceId !== undefined && (service.id === this.#selfServiceId || service.name === this.#selfServiceId)
  }

  /**
   * The service a request means: exactly `appName`, else the stack convention
   * `<appName>_<appName>`. Concurrent requests for one name share one read (updates/service-reads.ts).
   */
  async resolveService (appName: string): Promise<ServiceState> {
    return this.#reads.resolve(appName)
  }

  /** Refuses what may not be updated at all, before anything is queued. */
  check (service: ServiceState, request: UpdateRequest): void {
    if (this.#closing) throw new ShuttingDown()
    if (this.#requiredLabel !== undefined && !hasLabel(service.labels, this.#requiredLabel)) {
      throw new ServiceNotEnabled(service.name, this.#requiredLabel)
    }
    if (request.tag !== undefined && !isValidTag(request.tag)) throw new InvalidTag(JSON.stringify(request.tag))
  }

  /**
   * Queues the next update of a resolved service, or joins the one waiting to start. Returns the
   * record as it stands (written to the store) and a way to wait for its answer.
   */
  submit (service: ServiceState, request: UpdateRequest, arrivedAt = Date.now()): { record: UpdateRecord, wait: () => Promise<Answer> } {
    this.check(service, request)
    const joinKey = request.tag ?? ''
    let job = this.#lanes.joinable(service.id, joinKey)
    if (job === undefined) {
      job = this.#newJob(service, request, arrivedAt)
      this.#store.save(job.record)
      this.#jobs.set(job.record.updateId, job)
      job.timer = setTimeout(() => this.#timeOut(job!, `not converged after ${Math.round(this.#timeoutMs / 1000)} s; the update goes on in Swarm, poll statusUrl for its end`), this.#timeoutMs - (Date.now() - arrivedAt))
      job.timer.unref()
      this.#lanes.add(service.id, job)
      // The request's read is fresh only for a job that started just now (synchronously, above);
      // a queued job reads the service again when its turn comes.
      job.snapshot = undefined
    }
    const joined = job
    return { record: publicRecord(joined.record), wait: async () => this.#wait(joined, arrivedAt + this.#timeoutMs) }
  }

  /** The record of an update, from the store (so also those of earlier processes). */
  getRecord (updateId: string): UpdateRecord | undefined {
    const live = this.#jobs.get(updateId)
    if (live !== undefined) return publicRecord(live.record)
    const stored = this.#store.get(updateId)
    return stored === undefined ? undefined : publicRecord(stored)
  }

  /** Resolves when Docker answers and this node is a Swarm manager; throws the reason otherwise. */
  async checkReady (): Promise<void> {
    await this.#swarm.checkManager()
  }

  /**
   * Picks up what an earlier process left unfinished (DESIGN §6): updates Swarm may still be running
   * are watched again to their real end; queued ones that never started are `cancelled`.
   */
  resume (): number {
    let resumed = 0
    for (const stored of this.#store.unfinished()) {
      if (this.#jobs.has(stored.updateId)) continue
      const job = this.#jobFrom(stored)
      if (stored.status === 'queued' || stored.baseVersion === undefined) {
        this.#finish(job, 'cancelled', null, 'the updater stopped before this update started')
        continue
      }
      this.#jobs.set(stored.updateId, job)
      job.started = true
      job.blocking = false
      this.#lanes.adopt(stored.serviceId, job)
      this.#rewatch(job).catch(() => {})
      resumed++
    }
    return resumed
  }

  /**
   * SIGTERM: start nothing new (queued updates are `cancelled`, their callers get 503), and answer
   * every waiting caller by `graceMs` with its real state or `timeout`.
   */
  beginShutdown (graceMs: number): void {
    if (this.#closing) return
    this.#closing = true
    this.#closeTimer = setTimeout(this.#reachDeadline, graceMs)
    this.#closeTimer.unref()
    for (const job of this.#lanes.drainQueued()) {
      job.error = new ShuttingDown()
      this.#finish(job, 'cancelled', null, 'the updater shut down before this update started')
    }
  }

  /** Stops watching (what still runs in Swarm is settled by the next instance from the store). */
  async close (): Promise<void> {
    this.beginShutdown(0)
    clearTimeout(this.#closeTimer)
    this.#reachDeadline()
    for (const job of this.#jobs.values()) {
      clearTimeout(job.timer)
      job.watch.abort(new ShuttingDown())
    }
    this.#poller.stop()
    // Give aborted watches a turn to unwind before the store closes.
    await sleep(0)
  }

  #newJob (service: ServiceState, request: UpdateRequest, arrivedAt: number): Job {
    const updateId = randomUUID()
    return this.#jobFrom({
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
      ...(this.isSelf(service) && { message: 'the updater is updating its own service: the instance that takes over settles this record (poll statusUrl)' })
    }, request.tag, service)
  }

  #jobFrom (record: StoredUpdate, tag?: string, snapshot?: ServiceState): Job {
    let markDone!: () => void
    const done = new Promise<void>((resolve) => { markDone = resolve })
    return { record, tag, joinKey: tag ?? '', started: false, blocking: false, writing: false, final: false, snapshot, watch: new AbortController(), done, markDone }
  }

  /** Waits for the job's final state, the caller's deadline, or shutdown, whichever comes first. */
  async #wait (job: Job, deadline: number): Promise<Answer> {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), Math.max(0, deadline - Date.now())) })
    const first = await Promise.race([job.done.then(() => 'done' as const), late, this.#closeDeadline])
    clearTimeout(timer)
    if (first === 'late') this.#timeOut(job, `not converged after ${Math.round(this.#timeoutMs / 1000)} s; the update goes on in Swarm, poll statusUrl for its end`)
    if (first === 'closing' && !job.final && job.record.serviceId !== this.#selfServiceId) {
      this.#timeOut(job, 'the updater is shutting down; the update goes on in Swarm and the next instance settles this record at statusUrl')
    }
    return { record: publicRecord(job.record), ...(job.error !== undefined && { error: job.error }) }
  }

  /** The caller stopped waiting: the record says so, and the lane may start the next update. */
  #timeOut (job: Job, message: string): void {
    if (job.final) return
    if (job.record.status !== 'timeout') {
      job.record.status = 'timeout'
      job.record.message = message
      this.#save(job)
      this.#onRecord(publicRecord(job.record), 'timeout')
    }
    this.#unblock(job)
  }

  /**
   * A timed-out job lets the next update of its service start, but never while its own
   * `service update` call is in flight: a write landing after the next one would be credited to it.
   */
  #unblock (job: Job): void {
    if (!job.blocking || job.writing || job.record.status !== 'timeout') return
    job.blocking = false
    job.releaseSlot?.()
    this.#lanes.next(job.record.serviceId)
  }

  async #run (job: Job, previous: Job | undefined): Promise<void> {
    job.blocking = true
    // The request's own read of the service is fresh only if nothing made the job wait.
    let release = this.#slots.tryAcquire()
    const snapshot = release !== undefined && previous === undefined ? job.snapshot : undefined
    job.snapshot = undefined
    release ??= await this.#slots.acquire()
    if (job.final) return release() // cancelled by shutdown while it waited for a slot
    job.releaseSlot = release
    job.started = true
    job.record.status = 'updating'
    this.#save(job)
    // Stop crediting the previous (timed-out) update with anything from now on.
    previous?.watch.abort()
    let base: ServiceState
    job.writing = true
    try {
      const started = await this.#startUpdate(job, snapshot)
      base = started.before
      if (started.warning !== undefined) {
        job.record.warning = started.warning
        job.record.message = `Docker could not pin the image to a digest: ${started.warning}`
      }
      this.#save(job)
    } catch (error) {
      job.writing = false
      if (previous !== undefined && !previous.final) this.#restartWatch(previous)
      job.error = error as Error
      this.#finish(job, 'failed', null, (error as Error).message)
      return
    }
    job.writing = false
    if (previous !== undefined && !previous.final) {
      previous.record.supersededBy = job.record.updateId
      this.#finish(previous, 'superseded', null, `replaced by update ${job.record.updateId} before Swarm finished it`)
    }
    // Timed out while its write was in flight: only now may the next update start.
    this.#unblock(job)
    await this.#watch(job, base.version, base.updateStatus?.startedAt)
  }

  /** Watches the job to its end and records it; a removed service is final, an abort is not ours to record. */
  async #watch (job: Job, version: number, statusStartedAt: string | undefined): Promise<void> {
    const stop = setTimeout(() => job.watch.abort(new Error('background watch ended')), Date.parse(job.record.startedAt) + this.#timeoutMs + this.#backgroundMs - Date.now())
    stop.unref()
    try {
      const outcome = await waitForConvergence(this.#swarm, this.#source, job.record.serviceId, { version, statusStartedAt }, job.watch.signal)
      this.#settle(job, outcome)
    } catch (error) {
      if (job.watch.signal.aborted) return
      job.error = error as Error
      const gone = error instanceof ServiceNotFound
      this.#finish(job, 'failed', null, gone ? 'the service was removed while it was updating' : (error as Error).message)
    } finally {
      clearTimeout(stop)
    }
  }

  /** A timed-out update whose successor failed to start is watched again (it was never replaced). */
  #restartWatch (job: Job): void {
    job.watch = new AbortController()
    this.#watch(job, job.record.baseVersion ?? 0, job.record.baseStatusStartedAt).catch(() => {})
  }

  /** A resumed update: did our `service update` reach Swarm before the earlier process died? */
  async #rewatch (job: Job): Promise<void> {
    const base = job.record.baseVersion ?? 0
    let now: ServiceState
    try {
      now = await this.#swarm.getService(job.record.serviceId)
    } catch (error) {
      if (error instanceof ServiceNotFound) return this.#finish(job, 'failed', null, 'the service was removed while it was updating')
      // Docker is not answering yet: the watch below retries until it does.
      now = { version: base + 1 } as ServiceState
    }
    if (now.version <= base) return this.#finish(job, 'failed', null, 'the updater stopped before Docker accepted the update')
    await this.#watch(job, base, job.record.baseStatusStartedAt)
  }

  /**
   * Reads the service (unless the request's fresh read is given) and starts the Docker update,
   * retrying "update out of sequence" after reading it again. A call killed at its timeout may
   * still have reached Swarm: the service is read again before deciding.
   */
  async #startUpdate (job: Job, snapshot: ServiceState | undefined): Promise<{ before: ServiceState, warning?: string }> {
    for (let attempt = 0; ; attempt++) {
      const before = attempt === 0 && snapshot !== undefined ? snapshot : await this.#swarm.getService(job.record.serviceId)
      const image = targetImage(before.image, job.tag)
      if (image === undefined) throw new ImagePinnedByDigest(before.name)
      job.record.previousImage = before.image
      job.record.targetImage = image
      job.record.baseVersion = before.version
      if (before.updateStatus?.startedAt !== undefined) job.record.baseStatusStartedAt = before.updateStatus.startedAt
      this.#save(job)
      try {
        const { warning } = await this.#swarm.startUpdate(before.id, image, this.#registryAuth(image))
        return { before, ...(warning !== undefined && { warning }) }
      } catch (error) {
        if (error instanceof DockerTimeout && await this.#reachedSwarm(before)) return { before }
        if (!(error instanceof OutOfSequence) || attempt >= this.#retries) throw error
        await sleep(50 * 2 ** attempt)
      }
    }
  }

  async #reachedSwarm (before: ServiceState): Promise<boolean> {
    const now = await this.#swarm.getService(before.id).catch(() => undefined)
    return now !== undefined && now.version > before.version && now.forceUpdate > before.forceUpdate
  }

  #settle (job: Job, outcome: Outcome): void {
    this.#finish(job, outcome.state, outcome.service.image, outcome.message)
  }

  #finish (job: Job, status: UpdateState, image: string | null, message?: string): void {
    if (job.final) return
    const { record } = job
    const finishedAt = new Date()
    job.final = true
    job.blocking = false
    clearTimeout(job.timer)
    job.releaseSlot?.()
    record.status = status
    if (image !== null) record.image = image
    record.finishedAt = finishedAt.toISOString()
    record.durationMs = finishedAt.getTime() - Date.parse(record.startedAt)
    if (message !== undefined) record.message = job.record.warning !== undefined ? `${message}; warning: ${job.record.warning}` : message
    this.#save(job)
    this.#jobs.delete(record.updateId)
    this.#lanes.finished(record.serviceId, job)
    this.#onRecord(publicRecord(record), 'final')
    job.markDone()
  }

  /**
   * A record that cannot be written later on (the disk filled up) is not silently lost: the failure
   * is reported, and the live record keeps answering statusUrl while this process runs. The first
   * write of a record (in submit) throws instead: no answer names a record that was never written.
   */
  #save (job: Job): void {
    try {
      this.#store.save(job.record)
    } catch (error) {
      this.#onStoreError(error)
    }
  }
}
