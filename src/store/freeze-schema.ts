/**
 * Migration 4 (issue #20; src/store/migrations.ts applies it): freezes (DESIGN §8,
 * src/store/freeze-store.ts). One row per freeze in force; a freeze that ends or is deleted is
 * removed. `services` is the JSON array of its globs.
 */
export const FREEZES_TABLE = `
    CREATE TABLE freezes (
      freeze_id TEXT PRIMARY KEY NOT NULL,
      services TEXT NOT NULL,
      until TEXT NOT NULL,
      until_ms INTEGER NOT NULL,
      reason TEXT NOT NULL,
      created_at TEXT NOT NULL,
      created_by TEXT
    ) WITHOUT ROWID;
  `
