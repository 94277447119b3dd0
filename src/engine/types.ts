import type { ServiceEvents } from '../docker/events.js'
import type { RegistryAuthCheck } from '../docker/registry-auth.js'
import type { Swarm } from '../docker/swarm.js'
import type { Action, Trigger, UpdateRecord, UpdateStore } from '../store/records.js'
import type { FreezeBoard } from './gates/freezes.js'
import type { Preflight } from './gates/preflight.js'

export interface UpdateRequest {
  appName: string
  tag?: string | undefined
  /** the token's subject, or hook:<source> */
  requestedBy?: string | undefined
  batchId?: string | undefined
  /** who started it (DESIGN §8): api, hook, watch or ui */
  trigger?: Trigger | undefined
  /** why an automatic update was started */
  reason?: string | undefined
  /** an admin's `"force": true`: past a closed window or a freeze (explicit requests only) */
  force?: boolean | undefined
  /** `rollback`: `docker service rollback` (POST /rollback) instead of rolling onto an image */
  action?: Action | undefined
}

/** What a caller learns: the record, and the domain error of a failed update (for its status). */
export interface Answer {
  record: UpdateRecord
  error?: Error
}

/** `parked`: the record became held or pending approval (DESIGN §8) */
export type RecordEvent = 'final' | 'timeout' | 'parked'

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
  /** the pre-flight of every update (gates/preflight.ts); none: updates start unchecked (fake-runner tests) */
  preflight?: Preflight | undefined
  /** only services carrying this label (`key` or `key=value`) may be updated */
  requiredLabel?: string | undefined
  /** the updater's own service ID: updating it is answered at once (Swarm replaces this process) */
  selfServiceId?: string | undefined
  /** a record could not be written after it was first saved (the live record is kept) */
  onStoreError?: (error: unknown) => void
  /** a record reached a final state, or its caller stopped waiting (`timeout`) */
  onRecord?: (record: UpdateRecord, event: RecordEvent) => void
  /** every change of a record, after it is written (GET /events) */
  onChange?: (record: UpdateRecord) => void
  /** UPDATE_WINDOWS (validated by config.ts); undefined: always open */
  updateWindows?: string | undefined
  /** the freezes in force (POST /freezes) */
  freezes?: FreezeBoard | undefined
  /** APPROVAL_TTL in ms (default 24 h) */
  approvalTtlMs?: number
  /** PUBLIC_URL: where callers reach the updater, for the approve URL of a notification */
  publicUrl?: string | undefined
}
