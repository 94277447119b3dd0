import { Type, type Static } from '@sinclair/typebox'

/**
 * The update record: what callers, the history API, notifications and the database all see
 * (docs/API.md, "Update record"). One schema; the TypeScript type is derived from it.
 */
export const UPDATE_STATES = ['queued', 'held', 'pending_approval', 'updating', 'verifying', 'completed', 'rolled_back', 'paused',
  'timeout', 'failed', 'superseded', 'rejected', 'expired', 'cancelled'] as const
export type UpdateState = typeof UPDATE_STATES[number]

/** States after which nothing changes any more (`timeout` is not one: the record goes on). */
export const FINAL_STATES: readonly UpdateState[] = ['completed', 'rolled_back', 'paused', 'failed', 'superseded', 'rejected', 'expired', 'cancelled']

/** Who started an update (DESIGN §8): a request of ours, a registry hook, the watcher, the dashboard. */
export const TRIGGERS = ['api', 'hook', 'watch', 'ui'] as const
export type Trigger = typeof TRIGGERS[number]
/** What the update does to the service: roll onto an image, or `docker service rollback`. */
export const ACTIONS = ['update', 'rollback'] as const
export type Action = typeof ACTIONS[number]
export const isFinal = (state: UpdateState): boolean => FINAL_STATES.includes(state)

const nullable = <T extends ReturnType<typeof Type.String> | ReturnType<typeof Type.Integer>>(schema: T) => Type.Union([schema, Type.Null()])

export const UpdateRecordSchema = Type.Object({
  updateId: Type.String({ format: 'uuid' }),
  appName: Type.String({ description: 'the name the request used (for image/stack/hook targets: the service name)' }),
  service: Type.String({ description: 'the resolved Swarm service name' }),
  status: Type.Union(UPDATE_STATES.map((s) => Type.Literal(s))),
  previousImage: nullable(Type.String({ description: 'spec image (with digest) before the update' })),
  image: nullable(Type.String({ description: 'spec image (with digest) after the update or rollback' })),
  targetImage: Type.Optional(Type.String({ description: 'the repo:tag the update rolls onto (its digest is resolved by Docker)' })),
  startedAt: Type.String({ format: 'date-time', description: 'when the request arrived' }),
  finishedAt: nullable(Type.String({ format: 'date-time' })),
  durationMs: nullable(Type.Integer()),
  statusUrl: Type.String({ description: 'GET this path for the state of the update' }),
  message: Type.Optional(Type.String({ description: "Docker's reason for a rollback, pause, timeout or failure; or a warning" })),
  warning: Type.Optional(Type.String({ description: 'Docker could not verify the image (e.g. the registry was unreachable, so the spec is not pinned to a digest)' })),
  supersededBy: Type.Optional(Type.String({ format: 'uuid', description: 'the later update that replaced this one before Swarm finished it' })),
  requestedBy: Type.Optional(Type.String({ description: "the token's subject, or hook:<source> for registry events" })),
  batchId: Type.Optional(Type.String({ format: 'uuid', description: 'the image/stack/hook batch this update belongs to' })),
  trigger: Type.Optional(Type.Union(TRIGGERS.map((t) => Type.Literal(t)), { description: 'who started it: api (POST /update, /rollback), hook (a registry push), watch (the registry watcher), ui (the dashboard)' })),
  reason: Type.Optional(Type.String({ description: 'why an automatic update was started, e.g. "semver:minor 1.2.3 → 1.3.0"' })),
  action: Type.Optional(Type.Union(ACTIONS.map((a) => Type.Literal(a)), { description: 'update (the default) or rollback (POST /rollback)' })),
  heldUntil: Type.Optional(Type.String({ format: 'date-time', description: 'a held update starts then (its window opens, its freeze ends)' }))
}, { $id: 'UpdateRecord', description: 'An update of one service, shared by every request merged into it' })

export type UpdateRecord = Static<typeof UpdateRecordSchema>

/**
 * What the updater keeps beside the public record so that another process can pick a running
 * update up again (docs/API.md, "Durable records"): never sent to callers.
 */
export interface UpdateInternals {
  /** full Swarm service ID */
  serviceId: string
  /** `Version.Index` of the service as read just before our `service update` */
  baseVersion?: number
  /** `UpdateStatus.StartedAt` before our update: a status with another StartedAt is ours */
  baseStatusStartedAt?: string
}

export type StoredUpdate = UpdateRecord & UpdateInternals

/** The public part of a stored record. */
export function publicRecord (stored: StoredUpdate): UpdateRecord {
  const { serviceId: _s, baseVersion: _v, baseStatusStartedAt: _b, ...record } = stored
  return record
}

export const BatchTargetSchema = Type.Object({
  appName: Type.Optional(Type.String()),
  image: Type.Optional(Type.String()),
  stack: Type.Optional(Type.String()),
  hook: Type.Optional(Type.String({ description: 'registry source and event id, for push-triggered batches' }))
}, { $id: 'BatchTarget' })

export const SkippedSchema = Type.Object({ service: Type.String(), reason: Type.String() }, { $id: 'Skipped' })

/** A multi-service update as stored: its updates are records of their own. */
export interface StoredBatch {
  batchId: string
  target: Static<typeof BatchTargetSchema>
  updateIds: string[]
  skipped: Array<Static<typeof SkippedSchema>>
  createdAt: string
  requestedBy?: string
}

/** Paging and filters of GET /updates. */
export interface ListQuery {
  service?: string
  status?: UpdateState
  /** ISO date-time: records started at or after it */
  since?: string
  limit: number
  /** opaque, from a previous page's nextCursor */
  cursor?: string
  /**
   * The caller's scope: records it may not see are skipped (without revealing them). It is decided
   * by the two names a token's scope is matched against (DESIGN §3), which lets the store evaluate it
   * once per distinct (service, appName) pair and filter the rest in SQL: a narrow scope over a long
   * history then costs an index scan, not a record built and tested per row.
   */
  visible?: (names: Pick<UpdateRecord, 'service' | 'appName'>) => boolean
}

/**
 * Where records live (DESIGN: SQLite under DATA_DIR). Synchronous on purpose: better-sqlite3 is,
 * and a write must be done before the answer that names the record.
 */
export interface UpdateStore {
  /** insert or replace */
  save: (record: StoredUpdate) => void
  get: (updateId: string) => StoredUpdate | undefined
  /** newest first (startedAt, then updateId) */
  list: (query: ListQuery) => { updates: StoredUpdate[], nextCursor: string | null }
  /** records still `queued`, `held`, `pending_approval`, `updating`, `verifying` or `timeout` (not final): to be resumed at start */
  unfinished: () => StoredUpdate[]
  saveBatch: (batch: StoredBatch) => void
  getBatch: (batchId: string) => StoredBatch | undefined
  /**
   * Deletes records in a final state that finished before `before`, then batches created before it
   * with no record left; at most `limit` rows (default: all), so a caller can delete in small steps
   * between which the event loop runs (startPruning). Returns how many rows it deleted.
   */
  prune: (before: Date, limit?: number) => number
  close: () => void
}
