import type { Job } from './job.js'
import { publicRecord, type UpdateRecord, type UpdateState, type UpdateStore } from '../store/records.js'
import type { RecordEvent } from './types.js'
import { moveTo } from './transitions.js'

export interface LedgerOptions {
  store: UpdateStore
  onRecord: (record: UpdateRecord, event: RecordEvent) => void
  onStoreError: (error: unknown) => void
  /** every change of a record (queued, updating, final…), after it is written: the live stream */
  onChange?: (record: UpdateRecord) => void
  /** the job no longer blocks its lane (timed out): the next update of its service may start */
  onUnblocked: (job: Job) => void
  /** the job ended for good */
  onFinished: (job: Job) => void
}

/**
 * The live updates and their records: every change of state is written to the store, announced
 * once (`final` at the end, `timeout` when a caller stops waiting), and ends or unblocks the job's
 * lane. One place, so that no record can reach two final states or be counted twice.
 */
export class JobLedger {
  readonly #options: LedgerOptions
  readonly #jobs = new Map<string, Job>()

  constructor (options: LedgerOptions) {
    this.#options = options
  }

  /** Writes a new job's record (throws when the store cannot: no answer may name it) and tracks it. */
  add (job: Job): void {
    this.#options.store.save(job.record)
    this.#jobs.set(job.record.updateId, job)
    this.#options.onChange?.(publicRecord(job.record))
  }

  /** Tracks a job resumed from the store. */
  adopt (job: Job): void {
    this.#jobs.set(job.record.updateId, job)
  }

  get (updateId: string): Job | undefined {
    return this.#jobs.get(updateId)
  }

  values (): IterableIterator<Job> {
    return this.#jobs.values()
  }

  /**
   * A record that cannot be written later on (the disk filled up) is not silently lost: the failure
   * is reported, and the live record keeps answering statusUrl while this process runs.
   */
  save (job: Job): void {
    try {
      this.#options.store.save(job.record)
    } catch (error) {
      this.#options.onStoreError(error)
    }
    this.#options.onChange?.(publicRecord(job.record))
  }

  /** The caller stopped waiting: the record says so, and the lane may start the next update. */
  timeOut (job: Job, message: string): void {
    if (job.final) return
    if (job.record.status !== 'timeout') {
      moveTo(job.record, 'timeout')
      job.record.message = message
      this.save(job)
      this.#options.onRecord(publicRecord(job.record), 'timeout')
    }
    this.unblock(job)
  }

  /**
   * A timed-out job lets the next update of its service start, but never while its own
   * `service update` call is in flight (a write landing after the next one would be credited to
   * it), nor while its post-rollout check runs (the next update would abort the check).
   */
  unblock (job: Job): void {
    if (!job.blocking || job.writing || job.checking || job.record.status !== 'timeout') return
    job.blocking = false
    job.releaseSlot?.()
    this.#options.onUnblocked(job)
  }

  finish (job: Job, status: UpdateState, image: string | null, message?: string): void {
    if (job.final) return
    const { record } = job
    // First: an illegal change throws before anything of the job has changed.
    moveTo(record, status)
    const finishedAt = new Date()
    job.final = true
    job.blocking = false
    clearTimeout(job.timer)
    job.releaseSlot?.()
    if (image !== null) record.image = image
    record.finishedAt = finishedAt.toISOString()
    record.durationMs = finishedAt.getTime() - Date.parse(record.startedAt)
    if (message !== undefined) record.message = record.warning !== undefined ? `${message}; warning: ${record.warning}` : message
    this.save(job)
    this.#jobs.delete(record.updateId)
    this.#options.onFinished(job)
    this.#options.onRecord(publicRecord(record), 'final')
    job.markDone()
  }
}
