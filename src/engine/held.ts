import type { ServiceState } from '../docker/swarm.js'
import { parseImageRef, targetImage } from '../docker/image-ref.js'
import { ImagePinnedByDigest, NotPending, ShuttingDown, UpdateNotFound } from '../errors.js'
import type { StoredUpdate } from '../store/records.js'
import type { GateDecision, Gates } from './gates/gates.js'
import { timerAt } from './gates/timer-at.js'
import { jobFrom, newJob, type Job } from './job.js'
import type { JobLedger } from './ledger.js'
import { moveTo } from './transitions.js'
import type { UpdateRequest } from './types.js'

export interface HeldOptions {
  ledger: JobLedger
  gates: Gates
  /** the service as it is now (undefined: removed); throws when Docker cannot say */
  readService: (serviceId: string) => Promise<ServiceState | undefined>
  /** puts a released update in its service's lane */
  enqueue: (job: Job) => void
  /** APPROVAL_TTL: a pending approval unanswered this long ends `expired` */
  approvalTtlMs: number
  /** where an admin approves an update: PUBLIC_URL + /updates/<id>/approve, or the path alone */
  approveUrl: (updateId: string) => string
  /** a record became held or pending approval (it is notified) */
  onParked: (job: Job) => void
}

/** After a failed read of the service, a held update is looked at again this much later. */
const RETRY_MS = 60_000

/**
 * Automatic updates that may not start yet (DESIGN §8): `held` until their window opens or their
 * freeze ends, or `pending_approval` until an admin answers. They are in the ledger (and so in the
 * store, durable) but in no lane: nothing is sent to Docker. Like queued ones they coalesce: one
 * held and one pending record per service and tag, which later automatic requests join. A held
 * update is looked at again at `heldUntil` (and when a freeze ends, or the service changes), with
 * the service read then: it starts onto the newest image, or stays held until the next opening.
 */
export class HeldUpdates {
  readonly #options: HeldOptions
  /** windows, freezes, approvals: the updater asks them for every request */
  readonly gates: Gates
  /** `${status} ${serviceId} ${joinKey}` → the job requests join */
  readonly #parked = new Map<string, Job>()
  readonly #timers = new Map<string, () => void>()
  readonly #checking = new Set<string>()
  /** shutting down: nothing parked starts any more (the next instance resumes them) */
  #closed = false
  /** callers waiting for a parked update to be queued (or to end, or for shutdown) */
  readonly #waiting = new Map<string, { promise: Promise<void>, resolve: () => void }>()

  constructor (options: HeldOptions) {
    this.#options = options
    this.gates = options.gates
  }

  /** Parks an automatic request the gates did not let through, or joins the one parked already. */
  park (service: ServiceState, request: UpdateRequest, arrivedAt: number, decision: Exclude<GateDecision, { kind: 'go' }>): Job {
    const status = decision.kind === 'hold' ? 'held' : 'pending_approval'
    const joined = this.#parked.get(keyOf(status, service.id, request.tag ?? ''))
    if (joined !== undefined) return joined
    const image = targetImage(service.image, request.tag)
    if (image === undefined) throw new ImagePinnedByDigest(service.name)
    const job = newJob(service, request, arrivedAt, false)
    // Born in this state (not a transition: the record did not exist as `queued`).
    job.record.status = status
    job.record.targetImage = image
    if (decision.kind === 'hold') this.#setHold(job, decision)
    else job.record.message = this.#approvalMessage(job.record)
    this.#options.ledger.add(job)
    this.#track(job)
    this.#options.onParked(job)
    return job
  }

  /** Picks up a held or pending record an earlier process left (recovery.ts). */
  resume (stored: StoredUpdate): void {
    // Its tag is the one of its target (`repo:tag`, written when it was parked).
    const job = jobFrom(stored, stored.targetImage === undefined ? undefined : parseImageRef(stored.targetImage).tag)
    this.#options.ledger.adopt(job)
    this.#track(job)
    // The configuration may have changed with the restart (UPDATE_WINDOWS, a label): ask again now.
    if (job.record.status === 'held') this.#recheck(job).catch(() => {})
  }

  /**
   * Resolves when a parked update is queued (its caller's deadline counts from then), ends, or the
   * updater closes; at once for one that is not parked.
   */
  async released (job: Job): Promise<void> {
    const { updateId } = job.record
    if (job.final || this.#options.ledger.get(updateId) !== job || (job.record.status !== 'held' && job.record.status !== 'pending_approval')) return
    let waiting = this.#waiting.get(updateId)
    if (waiting === undefined) {
      let done!: () => void
      const promise = new Promise<void>((resolve) => { done = resolve })
      waiting = { promise, resolve: done }
      this.#waiting.set(updateId, waiting)
    }
    await Promise.race([waiting.promise, job.done])
  }

  /** Looks at every held update of `serviceId` again (its labels changed), or all of them (a freeze ended). */
  recheck (serviceId?: string): void {
    for (const job of this.#parked.values()) {
      if (job.record.status === 'held' && (serviceId === undefined || job.record.serviceId === serviceId)) this.#recheck(job).catch(() => {})
    }
  }

  /** An admin approved: the update starts, or is held when a gate is closed now. */
  async approve (updateId: string, by: string | undefined): Promise<Job> {
    const job = this.#pending(updateId)
    const service = await this.#options.readService(job.record.serviceId)
    if (this.#closed) throw new ShuttingDown()
    if (job.final || job.record.status !== 'pending_approval') throw new NotPending(updateId, job.record.status)
    if (service === undefined) {
      this.#end(job, 'failed', 'the service was removed while the update waited for approval')
      return job
    }
    const decision = this.#options.gates.decide(service, job.record, Date.now(), true)
    job.record.message = `approved by ${by ?? 'an admin'}`
    if (decision.kind === 'go') {
      this.#release(job)
      return job
    }
    this.#untrack(job)
    moveTo(job.record, 'held')
    if (decision.kind === 'hold') this.#setHold(job, decision)
    this.#options.ledger.save(job)
    this.#track(job)
    this.#options.onParked(job)
    return job
  }

  reject (updateId: string, by: string | undefined): Job {
    const job = this.#pending(updateId)
    this.#end(job, 'rejected', `rejected by ${by ?? 'an admin'}`)
    return job
  }

  /** An explicit update of the service is the decision (DESIGN §8): what waited for it is superseded. */
  supersede (serviceId: string, by: string): void {
    for (const job of [...this.#parked.values()]) {
      if (job.record.serviceId !== serviceId) continue
      job.record.supersededBy = by
      this.#end(job, 'superseded', `replaced by update ${by}`)
    }
  }

  /** Shutdown: timers stop, nothing parked starts, waiting callers are answered with the record as it stands. */
  close (): void {
    this.#closed = true
    for (const cancel of this.#timers.values()) cancel()
    this.#timers.clear()
    for (const { resolve } of this.#waiting.values()) resolve()
    this.#waiting.clear()
  }

  #pending (updateId: string): Job {
    const job = this.#options.ledger.get(updateId)
    if (job === undefined) throw new UpdateNotFound(updateId)
    if (job.record.status !== 'pending_approval') throw new NotPending(updateId, job.record.status)
    return job
  }

  #setHold (job: Job, decision: { until: number, message: string }): void {
    job.record.heldUntil = new Date(decision.until).toISOString()
    job.record.message = decision.message
  }

  #approvalMessage (record: StoredUpdate): string {
    const expires = new Date(Date.parse(record.startedAt) + this.#options.approvalTtlMs).toISOString()
    return `waiting for approval: POST ${this.#options.approveUrl(record.updateId)} with an admin token (or …/reject); expires at ${expires}`
  }

  /** One record per state, service and tag: one tracked where another waits (approved while a gate is closed) supersedes it. */
  #track (job: Job): void {
    const { record } = job
    const key = keyOf(record.status, record.serviceId, job.joinKey)
    const occupant = this.#parked.get(key)
    if (occupant !== undefined && occupant !== job) {
      occupant.record.supersededBy = record.updateId
      this.#end(occupant, 'superseded', `replaced by update ${record.updateId}`)
    }
    this.#parked.set(key, job)
    const at = record.status === 'held' ? Date.parse(record.heldUntil ?? record.startedAt) : Date.parse(record.startedAt) + this.#options.approvalTtlMs
    this.#schedule(job, at)
  }

  #schedule (job: Job, at: number): void {
    this.#timers.get(job.record.updateId)?.()
    this.#timers.set(job.record.updateId, timerAt(at, () => {
      if (job.record.status === 'held') this.#recheck(job).catch(() => {})
      else this.#end(job, 'expired', `not approved within APPROVAL_TTL (${Math.round(this.#options.approvalTtlMs / 1000)} s)`)
    }))
  }

  #untrack (job: Job): void {
    const { record } = job
    const key = keyOf(record.status, record.serviceId, job.joinKey)
    if (this.#parked.get(key) === job) this.#parked.delete(key)
    this.#timers.get(record.updateId)?.()
    this.#timers.delete(record.updateId)
  }

  #end (job: Job, status: 'failed' | 'rejected' | 'expired' | 'superseded', message: string): void {
    this.#untrack(job)
    this.#options.ledger.finish(job, status, null, message)
    this.#waiting.delete(job.record.updateId)
  }

  #release (job: Job): void {
    this.#untrack(job)
    moveTo(job.record, 'queued')
    delete job.record.message
    // Read again when its turn comes: the service of the request is stale by now.
    job.snapshot = undefined
    this.#options.ledger.save(job)
    this.#options.enqueue(job)
    this.#waiting.get(job.record.updateId)?.resolve()
    this.#waiting.delete(job.record.updateId)
  }

  async #recheck (job: Job): Promise<void> {
    const id = job.record.updateId
    if (this.#checking.has(id) || this.#closed) return
    this.#checking.add(id)
    try {
      const service = await this.#options.readService(job.record.serviceId)
      if (job.final || job.record.status !== 'held' || this.#closed) return
      if (service === undefined) return this.#end(job, 'failed', 'the service was removed while the update was held')
      const decision = this.#options.gates.decide(service, job.record, Date.now(), true)
      if (decision.kind === 'go') return this.#release(job)
      if (decision.kind === 'hold') {
        this.#setHold(job, decision)
        this.#options.ledger.save(job)
      }
      this.#schedule(job, Date.parse(job.record.heldUntil ?? '') || Date.now() + RETRY_MS)
    } catch (error) {
      // Docker could not be asked, or the window label became unreadable: held, and asked again later.
      if (job.final) return
      job.record.message = `held: ${(error as Error).message}; looked at again in ${RETRY_MS / 1000} s`
      this.#options.ledger.save(job)
      this.#schedule(job, Date.now() + RETRY_MS)
    } finally {
      this.#checking.delete(id)
    }
  }
}

const keyOf = (status: string, serviceId: string, joinKey: string): string => `${status} ${serviceId} ${joinKey}`
