import type { Database } from 'better-sqlite3'
import type { Action, StoredBatch, StoredUpdate, Trigger, UpdateState } from './records.js'
import { FREEZES_TABLE } from './freeze-schema.js'

/**
 * The database layout and how records map onto it. Every field of a record has a column of its
 * own, so an operator can answer "who rolled api back last Tuesday?" with the sqlite3 shell alone.
 * The `_ms` columns are the instants the store sorts and prunes by (the ISO strings are kept as
 * given, so a record reads back exactly as it was saved).
 */
export const SCHEMA_VERSION = 5

const MIGRATIONS: Record<number, string> = {
  1: `
    CREATE TABLE updates (
      update_id TEXT PRIMARY KEY NOT NULL,
      app_name TEXT NOT NULL,
      service TEXT NOT NULL,
      status TEXT NOT NULL,
      previous_image TEXT,
      image TEXT,
      target_image TEXT,
      started_at TEXT NOT NULL,
      started_ms INTEGER NOT NULL,
      finished_at TEXT,
      finished_ms INTEGER,
      duration_ms INTEGER,
      status_url TEXT NOT NULL,
      message TEXT,
      warning TEXT,
      superseded_by TEXT,
      requested_by TEXT,
      batch_id TEXT,
      service_id TEXT NOT NULL,
      base_version INTEGER,
      base_status_started_at TEXT
    );
    -- The names in the paging indexes let a scoped listing skip invisible rows without reading them.
    CREATE INDEX updates_newest ON updates (started_ms DESC, update_id DESC, service, app_name);
    CREATE INDEX updates_by_service ON updates (service, started_ms DESC, update_id DESC, app_name);
    CREATE INDEX updates_by_status ON updates (status, started_ms DESC, update_id DESC, service, app_name);
    -- Every (service, app_name) pair ever saved: a scope is evaluated once per pair (list), so
    -- reading them must not scan the history. Pairs outlive pruned records; they match nothing then.
    CREATE TABLE names (service TEXT NOT NULL, app_name TEXT NOT NULL, PRIMARY KEY (service, app_name)) WITHOUT ROWID;
    CREATE INDEX updates_by_end ON updates (coalesce(finished_ms, started_ms));
    CREATE INDEX updates_by_batch ON updates (batch_id) WHERE batch_id IS NOT NULL;
    CREATE TABLE batches (
      batch_id TEXT PRIMARY KEY NOT NULL,
      target TEXT NOT NULL,
      update_ids TEXT NOT NULL,
      skipped TEXT NOT NULL,
      created_at TEXT NOT NULL,
      created_ms INTEGER NOT NULL,
      requested_by TEXT
    );
    CREATE INDEX batches_by_age ON batches (created_ms);
    -- One row written at every open: proves at start that the database takes writes.
    CREATE TABLE opened (id INTEGER PRIMARY KEY CHECK (id = 1), at TEXT NOT NULL, pid INTEGER NOT NULL);
  `,
  // The registry watcher's state (src/watch/watch-store.ts, DESIGN §7).
  2: `
    -- Per watched service: when it was last checked (schedules resume from it after a restart),
    -- its last result, and the digest/tag it last notified as available (notified once).
    CREATE TABLE watch_services (
      service_id TEXT PRIMARY KEY NOT NULL,
      service TEXT NOT NULL,
      last_checked_ms INTEGER,
      state TEXT,
      message TEXT,
      notified TEXT
    ) WITHOUT ROWID;
    -- When the updater first saw a digest under repo:tag: min-age counts from it.
    CREATE TABLE watch_seen (
      image TEXT NOT NULL,
      digest TEXT NOT NULL,
      first_seen_ms INTEGER NOT NULL,
      PRIMARY KEY (image, digest)
    ) WITHOUT ROWID;
    -- A digest that rolled back or paused on a service: never rolled onto it again by watch or hooks.
    CREATE TABLE quarantines (
      service_id TEXT PRIMARY KEY NOT NULL,
      service TEXT NOT NULL,
      digest TEXT NOT NULL,
      update_id TEXT NOT NULL,
      since_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
  `,
  // DESIGN §8's record fields: who started an update, why, what it does, and until when it is held.
  3: `
    ALTER TABLE updates ADD COLUMN trigger TEXT;
    ALTER TABLE updates ADD COLUMN reason TEXT;
    ALTER TABLE updates ADD COLUMN action TEXT;
    ALTER TABLE updates ADD COLUMN held_until TEXT;
  `,
  // Migration 4 (issue #24 item 6; the lead renumbers it when merging): the event ids of registry
  // push deliveries already handled (src/hooks/delivery-store.ts), so a redelivery after a restart is
  // still a duplicate. Bounded by the store: ids are at most 128 characters (longer ones are kept as
  // their sha256), rows older than the TTL go, and the oldest go beyond the count.
  4: `
    CREATE TABLE hook_deliveries (
      source TEXT NOT NULL,
      event_id TEXT NOT NULL,
      seen_ms INTEGER NOT NULL,
      PRIMARY KEY (source, event_id)
    ) WITHOUT ROWID;
    CREATE INDEX hook_deliveries_by_age ON hook_deliveries (seen_ms);
  `,
  // Migration 5 (issue #20): the freezes table (src/store/freeze-schema.ts).
  5: FREEZES_TABLE
}

export class NewerSchema extends Error {
  override name = 'NewerSchema'
  constructor (readonly found: number) {
    super(`schema version ${found} is newer than this updater's ${SCHEMA_VERSION}`)
  }
}

/**
 * Brings the schema to SCHEMA_VERSION (PRAGMA user_version), each step in its own transaction.
 * `upTo` stops earlier: tests build the database an older updater wrote.
 */
export function migrate (db: Database, upTo = SCHEMA_VERSION): void {
  const current = db.pragma('user_version', { simple: true }) as number
  if (current > SCHEMA_VERSION) throw new NewerSchema(current)
  for (let version = current + 1; version <= upTo; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version] ?? '')
      db.pragma(`user_version = ${version}`)
    }).immediate()
  }
}

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
