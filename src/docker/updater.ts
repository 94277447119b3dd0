import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { candidateServiceNames, isValidServiceName, isValidTag } from './names.js'
import { targetImage } from './image-ref.js'
import type { RegistryAuthCheck } from './registry-auth.js'
import type { ServiceState, Swarm, UpdateStatus } from './swarm.js'
import { ImagePinnedByDigest, InvalidServiceName, InvalidTag, OutOfSequence, ServiceNotEnabled, ServiceNotFound, ShuttingDown } from '../errors.js'

export type UpdateState = 'queued' | 'updating' | 'completed' | 'rolled_back' | 'paused' | 'timeout' | 'failed'

/** What callers are told about an update (DESIGN.md §2, "Update record"). */
export interface UpdateRecord {
  updateId: string
  appName: string
  service: string
  status: UpdateState
  previousImage: string | null
  /** the spec image, with digest, after the update (or the rollback) */
  image: string | null
  startedAt: string
  finishedAt: string | null
  durationMs: number | null
  statusUrl: string
  message?: string
}

export interface UpdateRequest {
  appName: string
  tag?: string | undefined
}

export interface UpdaterOptions {
  swarm: Swarm
  registryAuth: RegistryAuthCheck
  /** how long a waited update may take before the caller is answered `timeout` */
  updateTimeoutMs: number
  pollIntervalMs?: number
  /** Docker updates running at once across all services */
  maxConcurrentUpdates?: number
  /** retries of Docker's "update out of sequence" after re-reading the service */
  outOfSequenceRetries?: number
  /** records kept for GET /updates/:id */
  historySize?: number
  /** how long a timed-out update is still watched in the background */
  backgroundWatchMs?: number
  onSettled?: (record: UpdateRecord) => void
  /** only services carrying this label (`key` or `key=value`) may be updated */
  requiredLabel?: string | undefined
}

const terminal: Record<string, UpdateState | undefined> = {
  completed: 'completed',
  rollback_completed: 'rolled_back',
  paused: 'paused',
  rollback_paused: 'paused'
}

/** A Docker update of one service that any number of requests may share. */
interface Job {
  record: UpdateRecord
  serviceId: string
  tag: string | undefined
  /** true once the job has read the service: later requests can no longer join it */
  started: boolean
  /** the service as resolved by the request, when the job starts at once: no need to read it again */
  snapshot?: ServiceState
  /** settles with the record once final or timed out; rejects with a domain error */
  result: Promise<UpdateRecord>
  resolve: (record: UpdateRecord) => void
  reject: (error: unknown) => void
}

interface Lane {
  running?: Job
  queue: Job[]
}

/**
 * Resolves services and rolls them onto their newest image, one Docker update per service at a
 * time. A request that arrives while a service is updating joins that service's single next update
 * (DESIGN.md §2, "Concurrency"), so a burst of N requests costs at most two Docker updates and
 * every request gets the result of an update that read the service after the request arrived.
 */
export class ServiceUpdater {
  readonly #swarm: Swarm
  readonly #registryAuth: RegistryAuthCheck
  readonly #timeoutMs: number
  readonly #poller: ServicePoller
  readonly #retries: number
  readonly #backgroundMs: number
  readonly #onSettled: (record: UpdateRecord) => void
  readonly #slots: Semaphore
  readonly #lanes = new Map<string, Lane>()
  readonly #records: RecordStore
  readonly #active = new Set<Promise<unknown>>()
  readonly #closing = new AbortController()
  readonly #requiredLabel: string | undefined

  constructor (options: UpdaterOptions) {
    this.#swarm = options.swarm
    this.#registryAuth = options.registryAuth
    this.#timeoutMs = options.updateTimeoutMs
    this.#poller = new ServicePoller(options.swarm, options.pollIntervalMs ?? 500)
    this.#retries = options.outOfSequenceRetries ?? 3
    this.#backgroundMs = options.backgroundWatchMs ?? 24 * 3600_000
    this.#onSettled = options.onSettled ?? (() => {})
    this.#slots = new Semaphore(options.maxConcurrentUpdates ?? 8)
    this.#records = new RecordStore(options.historySize ?? 1000)
    this.#requiredLabel = options.requiredLabel
  }

  get closing (): boolean {
    return this.#closing.signal.aborted
  }

  /** Counts for metrics: Docker updates running, and updates waiting for their turn. */
  get load (): { running: number, queued: number } {
    let running = 0
    let queued = 0
    for (const lane of this.#lanes.values()) {
      if (lane.running?.started === true) running++
      else if (lane.running !== undefined) queued++
      queued += lane.queue.length
    }
    return { running, queued }
  }

  /**
   * The service a request means: exactly `appName`, else the stack convention
   * `<appName>_<appName>`. `inspect` also matches ID prefixes, hence the exact name check.
   */
  async resolveService (appName: string): Promise<ServiceState> {
    if (!isValidServiceName(appName)) throw new InvalidServiceName(JSON.stringify(appName))
    for (const name of candidateServiceNames(appName)) {
      const service = await this.#swarm.inspectService(name)
      if (service !== undefined && service.name === name) return service
    }
    throw new ServiceNotFound(appName)
  }

  /** Queues the next update of a resolved service, or joins it when one is waiting to start. */
  submit (service: ServiceState, request: UpdateRequest): { record: UpdateRecord, result: Promise<UpdateRecord> } {
    if (this.closing) throw new ShuttingDown()
    if (this.#requiredLabel !== undefined && !hasLabel(service.labels, this.#requiredLabel)) {
      throw new ServiceNotEnabled(service.name, this.#requiredLabel)
    }
    if (request.tag !== undefined && !isValidTag(request.tag)) throw new InvalidTag(JSON.stringify(request.tag))
    let lane = this.#lanes.get(service.id)
    if (lane === undefined) {
      lane = { queue: [] }
      this.#lanes.set(service.id, lane)
    }
    // Only the newest not-yet-started update can be joined, and only for the same target tag:
    // requests for different tags keep their arrival order.
    const last = lane.queue.at(-1) ?? lane.running
    if (last !== undefined && !last.started && last.tag === request.tag) return last
    const job = this.#newJob(service, request)
    if (lane.running === undefined) {
      job.snapshot = service
      this.#start(service.id, lane, job)
    } else {
      lane.queue.push(job)
    }
    return job
  }

  /** Resolves when Docker answers and this node is a Swarm manager; throws the reason otherwise. */
  async checkReady (): Promise<void> {
    await this.#swarm.checkManager()
  }

  getRecord (updateId: string): UpdateRecord | undefined {
    return this.#records.get(updateId)
  }

  /** Stops accepting updates and waits for the ones callers are waiting on. */
  async close (): Promise<void> {
    this.#closing.abort()
    while (this.#active.size > 0) await Promise.allSettled([...this.#active])
  }

  #newJob (service: ServiceState, request: UpdateRequest): Job {
    const updateId = randomUUID()
    const record: UpdateRecord = {
      updateId,
      appName: request.appName,
      service: service.name,
      status: 'queued',
      previousImage: null,
      image: null,
      startedAt: new Date().toISOString(),
      finishedAt: null,
      durationMs: null,
      statusUrl: `/updates/${updateId}`
    }
    this.#records.add(record)
    let settle!: Pick<Job, 'resolve' | 'reject'>
    const result = new Promise<UpdateRecord>((resolve, reject) => { settle = { resolve, reject } })
    result.catch(() => {}) // callers with wait:false never await it
    return { record, serviceId: service.id, tag: request.tag, started: false, result, ...settle }
  }

  #start (serviceId: string, lane: Lane, job: Job): void {
    lane.running = job
    const tracked = this.#run(job).then(job.resolve, job.reject).finally(() => {
      this.#active.delete(tracked)
      lane.running = undefined
      const next = lane.queue.shift()
      if (next !== undefined) this.#start(serviceId, lane, next)
      else if (this.#lanes.get(serviceId) === lane) this.#lanes.delete(serviceId)
    })
    this.#active.add(tracked)
  }

  async #run (job: Job): Promise<UpdateRecord> {
    const { record } = job
    // The request's own read of the service is fresh only if nothing made the job wait.
    let release = this.#slots.tryAcquire()
    const snapshot = release !== undefined ? job.snapshot : undefined
    release ??= await this.#slots.acquire()
    job.snapshot = undefined
    try {
      job.started = true
      record.status = 'updating'
      const before = await this.#startUpdate(job, snapshot)
      const deadline = Date.now() + this.#timeoutMs
      const outcome = await this.#watch(job.serviceId, before, deadline)
      if (outcome === undefined) {
        this.#finish(record, 'timeout', null, `not converged after ${Math.round(this.#timeoutMs / 1000)} s; the update goes on in Swarm, poll statusUrl for its end`)
        this.#watchInBackground(job, before)
        return { ...record }
      }
      await this.#settle(record, outcome)
      return { ...record }
    } catch (error) {
      this.#finish(record, 'failed', null, (error as Error).message)
      throw error
    } finally {
      release()
    }
  }

  /**
   * Reads the service (unless the request's fresh read is given) and starts the Docker update,
   * retrying "update out of sequence" after reading it again.
   */
  async #startUpdate (job: Job, snapshot: ServiceState | undefined): Promise<ServiceState> {
    for (let attempt = 0; ; attempt++) {
      const before = attempt === 0 && snapshot !== undefined ? snapshot : await this.#swarm.getService(job.serviceId)
      const image = targetImage(before.image, job.tag)
      if (image === undefined) throw new ImagePinnedByDigest(before.name)
      job.record.previousImage = before.image
      try {
        await this.#swarm.startUpdate(before.id, image, this.#registryAuth(image))
        return before
      } catch (error) {
        if (!(error instanceof OutOfSequence) || attempt >= this.#retries) throw error
        await sleep(50 * 2 ** attempt)
      }
    }
  }

  /**
   * Polls the service until the update we started reaches a final UpdateStatus (the CLI's exit code
   * says nothing: a rolled-back update exits 0). Returns undefined at the deadline.
   */
  async #watch (id: string, before: ServiceState, deadline: number): Promise<ServiceState | undefined> {
    let lastError: unknown
    while (Date.now() < deadline) {
      let now: ServiceState
      try {
        now = await this.#poller.next(id)
      } catch (error) {
        // A passing Docker failure is retried until the deadline; a removed service is final.
        if (error instanceof ServiceNotFound) throw error
        lastError = error
        continue
      }
      lastError = undefined
      if (isOurs(before.updateStatus, now.updateStatus) && terminal[now.updateStatus?.state ?? ''] !== undefined) return now
      // Any later spec change (another client adding a label, say) resets UpdateStatus, and one that
      // changes no task never sets it again; a service with no tasks never gets one. Then the
      // tasks themselves tell whether the spec we wrote (or a later one) has been rolled out.
      if (now.updateStatus === undefined && now.version > before.version) {
        try {
          if (await this.#swarm.tasksConverged(now)) return now
        } catch (error) {
          lastError = error
        }
      }
      if (this.closing) break
    }
    if (lastError !== undefined) throw lastError
    return undefined
  }

  #watchInBackground (job: Job, before: ServiceState): void {
    const watch = async (): Promise<void> => {
      const outcome = await this.#watch(job.serviceId, before, Date.now() + this.#backgroundMs)
      if (outcome !== undefined) await this.#settle(job.record, outcome)
    }
    watch().catch(() => {})
  }

  async #settle (record: UpdateRecord, service: ServiceState): Promise<void> {
    const state = terminal[service.updateStatus?.state ?? ''] ?? 'completed'
    let message = service.updateStatus?.message ??
      'tasks converged; Swarm gave no update status (the service was changed again meanwhile, or has no tasks)'
    if (state !== 'completed') {
      // "rollback completed" says nothing; the failed task's error says why.
      const reason = await this.#swarm.lastTaskError(service.id).catch(() => undefined)
      if (reason !== undefined) message = message === undefined ? reason : `${message}: ${reason}`
    }
    this.#finish(record, state, service.image, message)
  }

  #finish (record: UpdateRecord, status: UpdateState, image: string | null, message?: string): void {
    const finishedAt = new Date()
    record.status = status
    if (image !== null) record.image = image
    record.finishedAt = finishedAt.toISOString()
    record.durationMs = finishedAt.getTime() - Date.parse(record.startedAt)
    if (message !== undefined) record.message = message
    this.#onSettled({ ...record })
  }
}

/** Does a service carry `key` (any value) or exactly `key=value`? */
function hasLabel (labels: Record<string, string>, wanted: string): boolean {
  const eq = wanted.indexOf('=')
  if (eq === -1) return Object.hasOwn(labels, wanted)
  const key = wanted.slice(0, eq)
  return Object.hasOwn(labels, key) && labels[key] === wanted.slice(eq + 1)
}

/** Is `now` the status of an update that started after `before` was read? */
function isOurs (before: UpdateStatus | undefined, now: UpdateStatus | undefined): boolean {
  if (now === undefined) return false
  if (before === undefined) return true
  return now.startedAt !== before.startedAt
}

/**
 * Reads every service being watched with one `docker service inspect` per tick, however many
 * updates run: each Docker CLI call is a process spawn, which briefly stalls the event loop, so
 * twenty updates must not mean twenty spawns per tick (docs/BENCHMARKS.md, liveness).
 */
class ServicePoller {
  readonly #swarm: Swarm
  readonly #intervalMs: number
  #waiting = new Map<string, Array<{ resolve: (s: ServiceState) => void, reject: (e: unknown) => void }>>()
  #timer: NodeJS.Timeout | undefined

  constructor (swarm: Swarm, intervalMs: number) {
    this.#swarm = swarm
    this.#intervalMs = intervalMs
  }

  /** The service as read at the next tick. */
  async next (id: string): Promise<ServiceState> {
    return new Promise((resolve, reject) => {
      const waiters = this.#waiting.get(id) ?? []
      waiters.push({ resolve, reject })
      this.#waiting.set(id, waiters)
      this.#timer ??= setTimeout(() => { this.#tick().catch(() => {}) }, this.#intervalMs)
    })
  }

  async #tick (): Promise<void> {
    const waiting = this.#waiting
    this.#waiting = new Map()
    this.#timer = undefined
    const ids = [...waiting.keys()]
    const settle = (id: string, outcome: { state?: ServiceState, error?: unknown }): void => {
      for (const waiter of waiting.get(id) ?? []) {
        if (outcome.state !== undefined) waiter.resolve(outcome.state)
        else waiter.reject(outcome.error)
      }
    }
    try {
      const states = new Map((await this.#swarm.inspectServices(ids)).map((state) => [state.id, state]))
      for (const id of ids) {
        const state = states.get(id)
        settle(id, state !== undefined ? { state } : { error: new ServiceNotFound(id) })
      }
    } catch (error) {
      if (ids.length === 1) return settle(ids[0]!, { error })
      // One of them is gone, or Docker failed: ask for each on its own to tell which.
      await Promise.all(ids.map(async (id) => this.#swarm.getService(id).then((state) => settle(id, { state }), (e: unknown) => settle(id, { error: e }))))
    }
  }
}

/** Bounded FIFO store of update records (oldest evicted first). */
class RecordStore {
  readonly #max: number
  readonly #records = new Map<string, UpdateRecord>()

  constructor (max: number) {
    this.#max = max
  }

  add (record: UpdateRecord): void {
    this.#records.set(record.updateId, record)
    while (this.#records.size > this.#max) {
      const oldest = this.#records.keys().next().value as string
      this.#records.delete(oldest)
    }
  }

  get (id: string): UpdateRecord | undefined {
    const record = this.#records.get(id)
    return record === undefined ? undefined : { ...record }
  }
}

/** Caps the Docker updates running at once across services. */
class Semaphore {
  #free: number
  readonly #waiting: Array<() => void> = []

  constructor (size: number) {
    this.#free = size
  }

  /** A slot now, or undefined when none is free. */
  tryAcquire (): (() => void) | undefined {
    if (this.#free === 0) return undefined
    this.#free--
    return this.#releaser()
  }

  async acquire (): Promise<() => void> {
    if (this.#free > 0) this.#free--
    else await new Promise<void>((resolve) => this.#waiting.push(resolve))
    return this.#releaser()
  }

  #releaser (): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.#waiting.shift()
      if (next !== undefined) next()
      else this.#free++
    }
  }
}
