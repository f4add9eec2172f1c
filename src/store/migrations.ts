/**
 * Numbered schema migrations. Each runs once, in order, inside a transaction, and `PRAGMA user_version`
 * records the last applied number — so a database written by an older Vigil is brought forward at start,
 * and one written by a newer Vigil is refused rather than silently misread.
 */
import type { Database } from 'better-sqlite3';

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'identities, action counters, alerts',
    sql: `
      -- One row per identity: the record the API and detectors look up first.
      CREATE TABLE identities (
        identity    TEXT PRIMARY KEY,
        peer_group  TEXT NOT NULL,
        first_seen  REAL NOT NULL,   -- event time, unix ms
        last_seen   REAL NOT NULL,
        actions     INTEGER NOT NULL DEFAULT 0,
        failures    INTEGER NOT NULL DEFAULT 0,
        retries     INTEGER NOT NULL DEFAULT 0
      ) STRICT;
      CREATE INDEX identities_peer_group ON identities(peer_group);

      -- Action counts per identity and kind (tool, http, db, …).
      CREATE TABLE identity_kind_counts (
        identity TEXT NOT NULL,
        kind     TEXT NOT NULL,
        count    INTEGER NOT NULL,
        PRIMARY KEY (identity, kind)
      ) STRICT, WITHOUT ROWID;

      -- Alerts in raise order; seq is the websocket resume cursor (strictly increasing, never reused).
      CREATE TABLE alerts (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        id          TEXT NOT NULL UNIQUE,
        detector    TEXT NOT NULL,
        severity    TEXT NOT NULL,
        identity    TEXT NOT NULL,
        subject     TEXT NOT NULL,
        event_time  REAL NOT NULL,
        count       INTEGER NOT NULL DEFAULT 1,
        body        TEXT NOT NULL     -- the alert JSON (schema: shared/spec/alert.schema.json)
      ) STRICT;
      CREATE INDEX alerts_fold ON alerts(identity, detector, subject, event_time);
    `,
  },
  {
    version: 2,
    description: 'identity and peer-group baselines',
    sql: `
      -- One JSON document per identity (baselines/identity.ts): loaded when the identity is next active.
      CREATE TABLE identity_baselines (
        identity   TEXT PRIMARY KEY,
        peer_group TEXT NOT NULL,
        body       TEXT NOT NULL
      ) STRICT;
      CREATE TABLE peer_baselines (
        peer_group TEXT PRIMARY KEY,
        body       TEXT NOT NULL
      ) STRICT;
      -- Findings waiting out a hold (scope_drift's rollout grace): kept so a crash cannot lose them.
      CREATE TABLE held_findings (
        fold_key TEXT PRIMARY KEY,
        body     TEXT NOT NULL
      ) STRICT;
    `,
  },
];

/** Applies every migration newer than the database's `user_version`. */
export function migrate(db: Database): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = MIGRATIONS[MIGRATIONS.length - 1].version;
  if (current > latest) {
    throw new Error(
      `the database was written by a newer Vigil (schema ${current}, this one knows ${latest}); ` +
        'upgrade Vigil or point storage.path at another file',
    );
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return latest;
}
