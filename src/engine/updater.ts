import { setTimeout as sleep } from 'node:timers/promises'
import { isValidTag } from '../docker/names.js'
import type { ServiceState, Swarm } from '../docker/swarm.js'
import { InvalidTag, ServiceNotEnabled, ShuttingDown } from '../errors.js'
import { joinKeyOf, loadOf, newJob, type Job } from './job.js'
import type { Answer, UpdateRequest, UpdaterOptions } from './types.js'
import type { WriteOptions } from './start-update.js'
import { runJob } from './run-job.js'
import { JobLedger } from './ledger.js'
import { UpdateWatcher } from './follow-update.js'
import type { ServiceSource } from './convergence.js'
import { Lanes } from './lanes.js'
import { ServicePoller } from './poller.js'
import { EventDrivenSource } from './event-source.js'
import { publicRecord, type UpdateRecord, type UpdateStore } from '../store/records.js'
import { ServiceReads } from './service-reads.js'
import { Semaphore } from './semaphore.js'
import { hasLabel } from '../docker/labels.js'
import { resumeUnfinished } from './recovery.js'
import type { HeldUpdates } from './held.js'
import { heldUpdates } from './held-wiring.js'
import { isAutomatic } from './gates/gates.js'
import { waitForAnswer } from './wait.js'

export type { Answer, RecordEvent, UpdateRequest, UpdaterOptions } from './types.js'

/**
 * Resolves services and rolls them onto their newest image, one Docker update per service at a
 * time (engine/lanes.ts), and tells every waiting caller the truth about the update it joined:
 * its final state, or `timeout` at its own deadline. Records are written to the store before any
 * answer names them.
 */
export class ServiceUpdater {
  readonly #swarm: Swarm
  readonly #write: WriteOptions // what start-update.ts needs, the pre-flight included
  readonly store: UpdateStore
  readonly #timeoutMs: number
  readonly #poller: ServicePoller
  readonly #source: ServiceSource
  /** only services carrying this label may be updated (UPDATE_REQUIRE_LABEL) */
  readonly requiredLabel: string | undefined
  readonly #selfServiceId: string | undefined
  readonly #ledger: JobLedger
  readonly #watcher: UpdateWatcher
  readonly #slots: Semaphore
  readonly #lanes: Lanes<Job>
  readonly #reads: ServiceReads
  /** automatic updates held or waiting for approval, and the gates (DESIGN §8) every trigger passes in submit */
  readonly held: HeldUpdates
  /** the `docker events` stream, when the updater follows one */
  readonly serviceEvents: UpdaterOptions['events']
  /** more listeners of final records and timeouts (the watcher's quarantine), besides options.onRecord; they must not throw */
  readonly recordListeners = new Set<NonNullable<UpdaterOptions['onRecord']>>()
  #closing = false
  /** resolves at the shutdown deadline: every waiting caller is answered by then */
  readonly #closeDeadline: Promise<'closing'>
  #reachDeadline!: () => void
  #closeTimer: NodeJS.Timeout | undefined

  constructor (options: UpdaterOptions) {
    this.#swarm = options.swarm
    this.store = options.store
    this.#timeoutMs = options.updateTimeoutMs
    this.#poller = new ServicePoller(options.swarm, options.pollIntervalMs ?? 500)
    const poller = this.#poller
    this.#source = options.events !== undefined ? new EventDrivenSource(options.events, poller, options.pollIntervalMs ?? 500) : { next: async (id, signal) => poller.next(id, signal) }
    this.#write = { swarm: options.swarm, registryAuth: options.registryAuth, retries: options.outOfSequenceRetries ?? 3, save: (j) => this.#ledger.save(j), preflight: options.preflight }
    this.requiredLabel = options.requiredLabel
    this.#selfServiceId = options.selfServiceId
    this.#slots = new Semaphore(options.maxConcurrentUpdates ?? 8)
    this.#lanes = new Lanes<Job>((job, previous) => { runJob({ slots: this.#slots, write: this.#write, ledger: this.#ledger, watcher: this.#watcher }, job, previous).catch(() => {}) })
    this.serviceEvents = options.events
    const onRecord = options.onRecord ?? (() => {})
    this.#ledger = new JobLedger({
      store: options.store,
      onRecord: (record, event) => { for (const listener of [onRecord, ...this.recordListeners]) listener(record, event) },
      onStoreError: options.onStoreError ?? (() => {}),
      ...(options.onChange !== undefined && { onChange: options.onChange }),
      onUnblocked: (job) => this.#lanes.next(job.record.serviceId),
      onFinished: (job) => this.#lanes.finished(job.record.serviceId, job)
    })
    this.#reads = new ServiceReads(options.swarm)
    this.#watcher = new UpdateWatcher({ swarm: options.swarm, source: this.#source, ledger: this.#ledger, timeoutMs: this.#timeoutMs, backgroundMs: options.backgroundWatchMs ?? 24 * 3600_000 })
    this.#closeDeadline = new Promise((resolve) => { this.#reachDeadline = () => resolve('closing') })
    this.held = heldUpdates(options, this.#ledger, (job) => this.#enqueue(job, Date.now()))
  }

  get closing (): boolean {
    return this.#closing
  }

  /** Counts for metrics: Docker updates running, and updates waiting for their turn. */
  get load (): { running: number, queued: number } {
    return loadOf(this.#lanes.jobs())
  }

  /** Is an update of this service running or queued (its lane occupied)? */
  busy (serviceId: string): boolean {
    return this.#lanes.occupied(serviceId)
  }

  /** Is this the updater's own service? Waiting for it is impossible: Swarm replaces this process. */
  isSelf (service: ServiceState): boolean {
    return this.#selfServiceId !== undefined && (service.id === this.#selfServiceId || service.name === this.#selfServiceId)
  }

  /**
   * The service a request means: exactly `appName`, else the stack convention
   * `<appName>_<appName>`. Concurrent requests for one name share one read (engine/service-reads.ts).
   */
  async resolveService (appName: string, names?: readonly string[]): Promise<ServiceState> {
    return this.#reads.resolve(appName, names)
  }

  /** Refuses what may not be updated at all, before anything is queued. */
  check (service: ServiceState, request: UpdateRequest): void {
    if (this.#closing) throw new ShuttingDown()
    if (this.requiredLabel !== undefined && !hasLabel(service.labels, this.requiredLabel)) {
      throw new ServiceNotEnabled(service.name, this.requiredLabel)
    }
    if (request.tag !== undefined && !isValidTag(request.tag)) throw new InvalidTag(JSON.stringify(request.tag))
  }

  /**
   * Queues the next update of a resolved service, or joins the one waiting to start. Returns the
   * record as it stands (written to the store) and a way to wait for its answer.
   */
  submit (service: ServiceState, request: UpdateRequest, arrivedAt = Date.now()): { record: UpdateRecord, wait: () => Promise<Answer> } {
    this.check(service, request)
    // Windows, freezes, approvals: an explicit request is refused (throws), an automatic one parked.
    // A rollback is the way back out: no window or freeze holds it.
    const decision = request.action === 'rollback' ? { kind: 'go' as const } : this.held.gates.decide(service, request, Date.now())
    if (decision.kind !== 'go') {
      const parked = this.held.park(service, request, arrivedAt, decision)
      // Its caller's deadline counts from when it is queued (a window may open days later).
      return { record: publicRecord(parked.record), wait: async () => this.held.released(parked).then(async () => this.#wait(parked, Date.now() + this.#timeoutMs)) }
    }
    const joinKey = joinKeyOf(request)
    let job = this.#lanes.joinable(service.id, joinKey)
    if (job === undefined) {
      job = newJob(service, request, arrivedAt, this.isSelf(service))
      this.#ledger.add(job)
      this.#enqueue(job, arrivedAt)
      // An explicit update decides about the newer image; a rollback does not (held and pending ones stay).
      if (!isAutomatic(request.trigger) && request.action !== 'rollback') this.held.supersede(service.id, job.record.updateId)
    }
    const joined = job
    return { record: publicRecord(joined.record), wait: async () => this.#wait(joined, arrivedAt + this.#timeoutMs) }
  }

  /** Puts a recorded job in its lane, timed from `arrivedAt`. */
  #enqueue (job: Job, arrivedAt: number): void {
    job.timer = setTimeout(() => this.#ledger.timeOut(job, `not converged after ${Math.round(this.#timeoutMs / 1000)} s; the update goes on in Swarm, poll statusUrl for its end`), this.#timeoutMs - (Date.now() - arrivedAt))
    job.timer.unref()
    this.#lanes.add(job.record.serviceId, job)
    // The request's read is fresh only for a job that started just now (synchronously, above);
    // a queued job reads the service again when its turn comes.
    job.snapshot = undefined
  }

  /** The record of an update this process is running, if it is one (fresher than the store's). */
  liveRecord (updateId: string): UpdateRecord | undefined {
    const live = this.#ledger.get(updateId)
    return live === undefined ? undefined : publicRecord(live.record)
  }

  /** The record of an update: the live one, else the store's (so also those of earlier processes). */
  getRecord (updateId: string): UpdateRecord | undefined {
    const live = this.liveRecord(updateId)
    if (live !== undefined) return live
    const stored = this.store.get(updateId)
    return stored === undefined ? undefined : publicRecord(stored)
  }

  /** Resolves when Docker answers and this node is a Swarm manager; throws the reason otherwise. */
  async checkReady (): Promise<void> {
    await this.#swarm.checkManager()
  }

  /** Picks up what an earlier process left unfinished (recovery.ts); how many are watched again. */
  resume (): number {
    return resumeUnfinished({ store: this.store, ledger: this.#ledger, lanes: this.#lanes, watcher: this.#watcher, held: this.held })
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
    this.held.close()
    for (const job of this.#lanes.drainQueued()) {
      job.error = new ShuttingDown()
      this.#ledger.finish(job, 'cancelled', null, 'the updater shut down before this update started')
    }
  }

  /** Stops watching (what still runs in Swarm is settled by the next instance from the store). */
  async close (): Promise<void> {
    this.beginShutdown(0)
    clearTimeout(this.#closeTimer)
    this.#reachDeadline()
    this.held.close()
    for (const job of this.#ledger.values()) {
      clearTimeout(job.timer)
      job.watch.abort(new ShuttingDown())
    }
    this.#poller.stop()
    // Give aborted watches a turn to unwind before the store closes.
    await sleep(0)
  }

  readonly #wait = async (job: Job, deadline: number): Promise<Answer> => waitForAnswer({ job, deadline, closing: this.#closeDeadline, ledger: this.#ledger, timeoutMs: this.#timeoutMs, selfServiceId: this.#selfServiceId })
}
