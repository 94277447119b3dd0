import { setTimeout as sleep } from 'node:timers/promises'
import type { ServiceState, Swarm } from '../docker/swarm.js'
import { checkSettings, statusPasses, type CheckSettings } from './check-settings.js'
import { waitForConvergence, type Outcome, type ServiceSource } from './convergence.js'
import type { Job } from './job.js'
import type { JobLedger } from './ledger.js'
import { moveTo } from './transitions.js'

export interface VerifyOptions {
  swarm: Swarm
  source: ServiceSource
  ledger: JobLedger
  /** replaces global fetch (unit tests) */
  fetch?: typeof fetch
}

/**
 * The post-rollout check (DESIGN §8): once Swarm reports an update `completed`, a service labelled
 * `container-updater.check.url` is `verifying` while its URL keeps answering an expected status for
 * `check.for`; then the update is `completed`. One failed request, or labels that cannot be read
 * (fail closed), and the updater runs `docker service rollback`: the update ends `rolled_back` with
 * `message: "post-rollout check failed: …"`. The job holds its lane throughout, past its caller's
 * deadline and after a restart too, so nothing else updates the service meanwhile. Rollbacks (POST /rollback) are not checked.
 */
export async function verifyRollout (options: VerifyOptions, job: Job, outcome: Outcome): Promise<Outcome> {
  if (outcome.state !== 'completed' || job.record.action === 'rollback') return outcome
  const settings = checkSettings(outcome.service.labels)
  if (settings === undefined) return outcome
  // A resumed record (recovery.ts) may be verifying already: its check starts again from the beginning.
  if (job.record.status !== 'verifying') moveTo(job.record, 'verifying')
  // What is being checked: the image Swarm rolled out (a rollback replaces it at the end).
  job.record.image = outcome.service.image
  job.record.message = 'Swarm completed the update; the post-rollout check is running'
  options.ledger.save(job)
  // The check holds the lane, also past the caller's deadline and for a job resumed after a restart
  // (ledger.unblock waits for it): a next update would abort it. The rollback's write then unblocks.
  job.blocking = true
  job.checking = true
  let failure: string | undefined
  try {
    failure = 'invalid' in settings ? settings.invalid : await runCheck(settings, job.watch.signal, options.fetch ?? fetch)
  } finally {
    job.checking = false
  }
  if (failure === undefined) return { ...outcome, message: `${outcome.message}; post-rollout check passed for ${seconds(settings as CheckSettings)}` }
  return rollBack(options, job, outcome.service, `post-rollout check failed: ${failure}`)
}

/** Probes every `interval` until `for` has passed; the first failure's reason, or undefined. */
export async function runCheck (settings: CheckSettings, signal: AbortSignal, fetchImpl: typeof fetch = fetch): Promise<string | undefined> {
  const start = Date.now()
  for (let attempt = 1; ; attempt++) {
    const failure = await probe(settings, signal, fetchImpl)
    signal.throwIfAborted()
    const elapsed = Date.now() - start
    if (failure !== undefined) return `the check URL ${failure} (request ${attempt}, ${Math.round(elapsed / 1000)} s into the check)`
    if (elapsed >= settings.forMs) return undefined
    await sleep(Math.min(settings.intervalMs, settings.forMs - elapsed), undefined, { signal })
  }
}

/** One request: undefined when its status is expected, else why not (never the URL: it may hold a secret). */
async function probe (settings: CheckSettings, signal: AbortSignal, fetchImpl: typeof fetch): Promise<string | undefined> {
  const timeout = AbortSignal.timeout(settings.timeoutMs)
  try {
    const response = await fetchImpl(settings.url, { redirect: 'manual', signal: AbortSignal.any([signal, timeout]), headers: { 'user-agent': 'container-updater post-rollout check' } })
    await response.body?.cancel().catch(() => {})
    return statusPasses(settings, response.status) ? undefined : `answered ${response.status} (expected ${settings.statusText})`
  } catch (error) {
    signal.throwIfAborted()
    if (timeout.aborted) return `did not answer within ${settings.timeoutMs} ms`
    const code = (error as { cause?: { code?: unknown } }).cause?.code
    return typeof code === 'string' && /^[A-Z_]+$/.test(code) ? `could not be reached (${code})` : 'could not be reached'
  }
}

/** `docker service rollback` after a failed check, followed to its end like an update. */
async function rollBack (options: VerifyOptions, job: Job, service: ServiceState, reason: string): Promise<Outcome> {
  job.watch.signal.throwIfAborted()
  // While the write is in flight a timed-out job keeps its lane (ledger.unblock), as in updater.ts.
  job.writing = true
  try {
    await options.swarm.rollback(service.id, service.name)
  } catch (error) {
    job.error = error as Error
    return { state: 'failed', service, message: `${reason}; docker service rollback failed: ${(error as Error).message}` }
  } finally {
    job.writing = false
    options.ledger.unblock(job)
  }
  const back = await waitForConvergence(options.swarm, options.source, service.id, { version: service.version, statusStartedAt: service.updateStatus?.startedAt, action: 'rollback' }, job.watch.signal)
  if (back.state === 'completed') return { state: 'rolled_back', service: back.service, message: reason }
  return { ...back, message: `${reason}; the rollback ended ${back.state}: ${back.message}` }
}

const seconds = (settings: CheckSettings): string => `${Math.round(settings.forMs / 100) / 10} s`
