import type { Database } from 'better-sqlite3'
import { FREEZES_TABLE } from './freeze-schema.js'

/**
 * The database layout, one migration per schema version (PRAGMA user_version); sqlite-schema.ts maps
 * records onto the `updates` and `batches` tables. A new table or column is a new migration, never
 * an edit of an applied one.
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
