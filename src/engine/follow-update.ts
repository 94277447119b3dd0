import type { ServiceState, Swarm } from '../docker/swarm.js'
import { ServiceNotFound } from '../errors.js'
import { waitForConvergence, type ServiceSource } from './convergence.js'
import type { Job } from './job.js'
import type { JobLedger } from './ledger.js'
import { verifyRollout } from './verify.js'

export interface WatcherOptions {
  swarm: Swarm
  source: ServiceSource
  ledger: JobLedger
  /** UPDATE_TIMEOUT, and how long after it a timed-out update is still watched */
  timeoutMs: number
  backgroundMs: number
}

/** Follows started updates to their end in Swarm, and records the end. */
export class UpdateWatcher {
  readonly #o: WatcherOptions

  constructor (options: WatcherOptions) {
    this.#o = options
  }

  /** Watches the job to its end and records it; a removed service is final, an abort is not ours to record. */
  async watch (job: Job, version: number, statusStartedAt: string | undefined): Promise<void> {
    const stop = setTimeout(() => job.watch.abort(new Error('background watch ended')), Date.parse(job.record.startedAt) + this.#o.timeoutMs + this.#o.backgroundMs - Date.now())
    stop.unref()
    try {
      const converged = await waitForConvergence(this.#o.swarm, this.#o.source, job.record.serviceId, { version, statusStartedAt, action: job.record.action }, job.watch.signal)
      // A service labelled container-updater.check.url is verifying until its check passes (verify.ts).
      const outcome = await verifyRollout(this.#o, job, converged)
      this.#o.ledger.finish(job, outcome.state, outcome.service.image, outcome.message)
    } catch (error) {
      if (job.watch.signal.aborted) return
      job.error = error as Error
      const gone = error instanceof ServiceNotFound
      this.#o.ledger.finish(job, 'failed', null, gone ? 'the service was removed while it was updating' : (error as Error).message)
    } finally {
      clearTimeout(stop)
    }
  }

  /** A timed-out update whose successor failed to start is watched again (it was never replaced). */
  restart (job: Job): void {
    job.watch = new AbortController()
    this.watch(job, job.record.baseVersion ?? 0, job.record.baseStatusStartedAt).catch(() => {})
  }

  /** A resumed update: did our `service update` reach Swarm before the earlier process died? */
  async resume (job: Job): Promise<void> {
    const base = job.record.baseVersion ?? 0
    let now: ServiceState
    try {
      now = await this.#o.swarm.getService(job.record.serviceId)
    } catch (error) {
      if (error instanceof ServiceNotFound) return this.#o.ledger.finish(job, 'failed', null, 'the service was removed while it was updating')
      // Docker is not answering yet: the watch below retries until it does.
      now = { version: base + 1 } as ServiceState
    }
    if (now.version <= base) return this.#o.ledger.finish(job, 'failed', null, 'the updater stopped before Docker accepted the update')
    await this.watch(job, base, job.record.baseStatusStartedAt)
  }
}
