import type { Action, StoredBatch, StoredUpdate, Trigger, UpdateState } from './records.js'

/**
 * How records map onto the database (the tables are migrations.ts's). Every field of a record has a
 * column of its own, so an operator can answer "who rolled api back last Tuesday?" with the sqlite3
 * shell alone. The `_ms` columns are the instants the store sorts and prunes by (the ISO strings are
 * kept as given, so a record reads back exactly as it was saved).
 */
export interface UpdateRow {
  update_id: string
  app_name: string
  service: string
  status: string
  previous_image: string | null
  image: string | null
  target_image: string | null
  started_at: string
  started_ms: number
  finished_at: string | null
  finished_ms: number | null
  duration_ms: number | null
  status_url: string
  message: string | null
  warning: string | null
  superseded_by: string | null
  requested_by: string | null
  batch_id: string | null
  service_id: string
  base_version: number | null
  base_status_started_at: string | null
  trigger: string | null
  reason: string | null
  action: string | null
  held_until: string | null
}

export const UPDATE_COLUMNS = ['update_id', 'app_name', 'service', 'status', 'previous_image', 'image', 'target_image',
  'started_at', 'started_ms', 'finished_at', 'finished_ms', 'duration_ms', 'status_url', 'message', 'warning',
  'superseded_by', 'requested_by', 'batch_id', 'service_id', 'base_version', 'base_status_started_at',
  'trigger', 'reason', 'action', 'held_until'] as const

function instant (iso: string, field: string): number {
  const ms = Date.parse(iso)
  // A programming error of the caller, not a store failure: the engine writes toISOString().
  if (Number.isNaN(ms)) throw new TypeError(`${field} is not a date: ${iso}`)
  return ms
}

export function toRow (record: StoredUpdate): UpdateRow {
  return {
    update_id: record.updateId,
    app_name: record.appName,
    service: record.service,
    status: record.status,
    previous_image: record.previousImage,
    image: record.image,
    target_image: record.targetImage ?? null,
    started_at: record.startedAt,
    started_ms: instant(record.startedAt, 'startedAt'),
    finished_at: record.finishedAt,
    finished_ms: record.finishedAt === null ? null : instant(record.finishedAt, 'finishedAt'),
    duration_ms: record.durationMs,
    status_url: record.statusUrl,
    message: record.message ?? null,
    warning: record.warning ?? null,
    superseded_by: record.supersededBy ?? null,
    requested_by: record.requestedBy ?? null,
    batch_id: record.batchId ?? null,
    service_id: record.serviceId,
    base_version: record.baseVersion ?? null,
    base_status_started_at: record.baseStatusStartedAt ?? null,
    trigger: record.trigger ?? null,
    reason: record.reason ?? null,
    action: record.action ?? null,
    held_until: record.heldUntil ?? null
  }
}

export function fromRow (row: UpdateRow): StoredUpdate {
  // Optional fields are absent, not null, exactly as the record schema has them.
  return {
    updateId: row.update_id,
    appName: row.app_name,
    service: row.service,
    status: row.status as UpdateState,
    previousImage: row.previous_image,
    image: row.image,
    ...(row.target_image !== null && { targetImage: row.target_image }),
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    durationMs: row.duration_ms,
    statusUrl: row.status_url,
    ...(row.message !== null && { message: row.message }),
    ...(row.warning !== null && { warning: row.warning }),
    ...(row.superseded_by !== null && { supersededBy: row.superseded_by }),
    ...(row.requested_by !== null && { requestedBy: row.requested_by }),
    ...(row.batch_id !== null && { batchId: row.batch_id }),
    ...(row.trigger !== null && { trigger: row.trigger as Trigger }),
    ...(row.reason !== null && { reason: row.reason }),
    ...(row.action !== null && { action: row.action as Action }),
    ...(row.held_until !== null && { heldUntil: row.held_until }),
    serviceId: row.service_id,
    ...(row.base_version !== null && { baseVersion: row.base_version }),
    ...(row.base_status_started_at !== null && { baseStatusStartedAt: row.base_status_started_at })
  }
}

export interface BatchRow {
  batch_id: string
  target: string
  update_ids: string
  skipped: string
  created_at: string
  created_ms: number
  requested_by: string | null
}

export function toBatchRow (batch: StoredBatch): BatchRow {
  return {
    batch_id: batch.batchId,
    target: JSON.stringify(batch.target),
    update_ids: JSON.stringify(batch.updateIds),
    skipped: JSON.stringify(batch.skipped),
    created_at: batch.createdAt,
    created_ms: instant(batch.createdAt, 'createdAt'),
    requested_by: batch.requestedBy ?? null
  }
}

export function fromBatchRow (row: BatchRow): StoredBatch {
  return {
    batchId: row.batch_id,
    target: JSON.parse(row.target),
    updateIds: JSON.parse(row.update_ids),
    skipped: JSON.parse(row.skipped),
    createdAt: row.created_at,
    ...(row.requested_by !== null && { requestedBy: row.requested_by })
  }
}
