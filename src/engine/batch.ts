import { randomUUID } from 'node:crypto'
import type { ServiceState } from '../docker/swarm.js'
import { hasLabel } from '../docker/labels.js'
import type { StoredBatch, Trigger } from '../store/records.js'
import type { ServiceUpdater } from './updater.js'
import { isAutomatic } from './gates/gates.js'

type Skipped = StoredBatch['skipped']

/** Splits services into those the updater may touch and those skipped for lack of the opt-in label (UPDATE_REQUIRE_LABEL). */
export function byRequiredLabel (updater: ServiceUpdater, services: readonly ServiceState[]): { eligible: ServiceState[], skipped: Skipped } {
  const required = updater.requiredLabel
  const eligible: ServiceState[] = []
  const skipped: Skipped = []
  for (const s of services) {
    if (required === undefined || hasLabel(s.labels, required)) eligible.push(s)
    else skipped.push({ service: s.name, reason: `does not carry the label ${required}` })
  }
  return { eligible, skipped }
}

export interface BatchRequest {
  target: StoredBatch['target']
  tag: string | undefined
  requestedBy: string | undefined
  trigger?: Trigger | undefined
  /** an admin's `"force": true` past windows and freezes */
  force?: boolean | undefined
  /** services left out already, with their reasons */
  skipped: Skipped
  arrivedAt?: number
}

/**
 * One update per service, each through its own lane, under one batch id, and the batch stored
 * (POST /update with `image`/`stack`, and registry pushes). A service the updater refuses is
 * skipped with the reason, not lost: its siblings are queued already. If none could be queued, the
 * first refusal is thrown (shutting down, an invalid tag, the store down) and nothing is stored.
 */
export function submitBatch (updater: ServiceUpdater, services: readonly ServiceState[], request: BatchRequest) {
  const arrivedAt = request.arrivedAt ?? Date.now()
  const batchId = randomUUID()
  const skipped = [...request.skipped]
  // An explicit batch with one service behind a closed gate is refused as a whole: nothing starts.
  if (!isAutomatic(request.trigger)) for (const service of services) updater.held.gates.decide(service, request, arrivedAt)
  const jobs: Array<ReturnType<ServiceUpdater['submit']>> = []
  let refusal: unknown
  for (const service of services) {
    try {
      jobs.push(updater.submit(service, { appName: service.name, tag: request.tag, requestedBy: request.requestedBy, trigger: request.trigger, force: request.force, batchId }, arrivedAt))
    } catch (error) {
      refusal ??= error
      skipped.push({ service: service.name, reason: (error as Error).message })
    }
  }
  if (jobs.length === 0 && refusal !== undefined) throw refusal
  const batch: StoredBatch = {
    batchId,
    target: request.target,
    updateIds: jobs.map((job) => job.record.updateId),
    skipped,
    createdAt: new Date(arrivedAt).toISOString(),
    ...(request.requestedBy !== undefined && { requestedBy: request.requestedBy })
  }
  updater.store.saveBatch(batch)
  return { batch, jobs }
}
