/**
 * Numbered schema migrations. Each runs once, in order, inside a transaction, and `PRAGMA user_version`
 * records the last applied number — so a database written by an older Vigil is brought forward at start,
 * and one written by a newer Vigil is refused rather than silently misread.
 */
import type { Database } from 'better-sqlite3';
import { FIRST_MIGRATIONS } from './migrations-first.js';

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  ...FIRST_MIGRATIONS,
  {
    version: 11,
    description: 'webhook deliveries remembered while their alert is pending for another endpoint',
    sql: `
      -- A delivery that got its 2xx stays (delivered_at set) while the same alert is still pending for
      -- another endpoint, and goes with the last of them. At start, a delivery pending for an endpoint no
      -- longer in the config goes to the configured endpoints that want the alert and do not have it:
      -- without this mark, one that had already received it could not be told from one that never had it.
      ALTER TABLE webhook_outbox ADD COLUMN delivered_at REAL;
      CREATE INDEX webhook_outbox_msg ON webhook_outbox(msg_id);
    `,
  },
  {
    version: 12,
    description: 'revocations found by credential id, whatever type the spans gave',
    sql: `
      -- One credential is one revocation even when some spans name its type and others do not.
      CREATE INDEX revocations_credential ON revocations(credential_id);
    `,
  },
  {
    version: 13,
    description: 'who presented each credential first, kept across restarts',
    sql: `
      -- revocation/owners.ts: only the first presenter's alerts revoke a credential. Kept so that after a
      -- restart the next identity to name it does not become its owner. claim_seq orders an identity's
      -- claims (its oldest go first past its cap); presented_at (wall ms, written at most hourly) orders
      -- the least recently presented, forgotten first past the global bound.
      CREATE TABLE credential_owners (
        credential TEXT PRIMARY KEY,
        identity TEXT NOT NULL,
        peer_groups TEXT NOT NULL,
        claim_seq INTEGER NOT NULL,
        presented_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      -- Earlier versions kept the binding in memory only. What the store still tells of it: the identity of
      -- the first alert naming each credential (review26 L1). Not telemetry_integrity's, which names the
      -- credential on the identity that presented it without owning it.
      INSERT OR IGNORE INTO credential_owners (credential, identity, peer_groups, claim_seq, presented_at)
        SELECT json_extract(body, '$.evidence.credential.id'), identity, json_array(json_extract(body, '$.peerGroup')), seq, CAST(event_time AS INTEGER)
        FROM alerts
        WHERE detector <> 'telemetry_integrity' AND json_extract(body, '$.evidence.credential.id') IS NOT NULL
        ORDER BY seq;
    `,
  },
  {
    version: 14,
    description: 'delivered webhook marks: out of the due index, without their body',
    sql: `
      -- A delivered mark (kept while another endpoint has its alert pending) is looked up by
      -- (endpoint, msg_id) only. In the due index, every poll of its endpoint scanned all of them: with one
      -- endpoint failing for days, tens of thousands, 41 ms per 100 ms poll on the main thread (review24
      -- H1). Nor does it need the alert's body, which took megabytes per endpoint (review24 M1).
      DROP INDEX webhook_outbox_due;
      CREATE INDEX webhook_outbox_due ON webhook_outbox(endpoint, next_at) WHERE delivered_at IS NULL;
      UPDATE webhook_outbox SET body = '' WHERE delivered_at IS NOT NULL;
    `,
  },
  {
    version: 15,
    description: 'webhook endpoint health kept across restarts',
    sql: `
      -- endpoint-health.ts: an endpoint's failure streak and last error. In memory only, a restart began
      -- the streak again, so a daemon restarted more often than hourly never warned of an endpoint that
      -- had been failing for days, and vigil_webhook_failing_seconds fell back to 0 at each start.
      CREATE TABLE webhook_health (
        endpoint      TEXT PRIMARY KEY,  -- the endpoint's url, as in webhook_outbox
        failures      INTEGER NOT NULL,  -- failed attempts since the last delivery
        failing_since REAL,              -- wall ms of the first of them; NULL while deliveries get through
        last_error    TEXT,
        last_error_at REAL
      ) STRICT;
    `,
  },
  {
    version: 16,
    description: 'webhook deliveries and settled revocations expire with alerts.retention',
    sql: `
      -- An endpoint failing for good (or removed from the config) kept every delivery it was owed, and the
      -- other endpoints' marks for the same alerts, for ever: 743 rows a minute in review29's soak (#4).
      -- A delivery goes with its alert, whoever deletes it.
      CREATE TRIGGER alerts_deliveries_expire AFTER DELETE ON alerts BEGIN
        DELETE FROM webhook_outbox WHERE msg_id = OLD.id;
      END;
      -- Settled revocations are deleted alerts.retention after their last change (retention.ts; #3).
      CREATE INDEX revocations_settled ON revocations(at) WHERE status != 'pending';
    `,
  },
  {
    version: 17,
    description: "identities' recent sensitive reads survive a restart",
    sql: `
      -- lateral_chaining judges a task's sends against its reads however long after (review40 M1).
      CREATE TABLE sensitive_reads (
        identity TEXT PRIMARY KEY,
        body     TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 18,
    description: "operators' allows and disallows, listable",
    sql: `
      -- An allow is written into baselines as learned use; this says who allowed what, for whom, and when,
      -- so a wrong one can be found and undone (review41 H2). Kept: it is the operators' audit trail.
      CREATE TABLE operator_allows (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        at         REAL NOT NULL,
        by         TEXT NOT NULL,
        action     TEXT NOT NULL,   -- allow | disallow
        identity   TEXT,            -- an identity's, or
        peer_group TEXT,            -- every member's of a peer group
        items      TEXT NOT NULL    -- JSON [{dimension, item}]
      ) STRICT;
      CREATE INDEX operator_allows_identity ON operator_allows(identity) WHERE identity IS NOT NULL;
      CREATE INDEX operator_allows_peer_group ON operator_allows(peer_group) WHERE peer_group IS NOT NULL;
    `,
  },
  {
    version: 19,
    description: "operators' mutes",
    sql: `
      -- For a while, one identity's findings of one detector (one subject, or all) raise no alert
      -- (alerts/mutes.ts). Kept after they end: what each swallowed is the operators' audit trail.
      CREATE TABLE mutes (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        identity      TEXT NOT NULL,
        detector      TEXT NOT NULL,
        subject       TEXT,           -- null: every subject
        reason        TEXT NOT NULL,
        by            TEXT NOT NULL,
        created_at    REAL NOT NULL,
        until         REAL NOT NULL,
        ended_at      REAL,           -- ended early by an operator
        muted         INTEGER NOT NULL,
        last_muted_at REAL
      ) STRICT;
      CREATE INDEX mutes_identity ON mutes(identity);
    `,
  },
  {
    version: 20,
    description: "identities: when an operator's reset began the baseline",
    sql: `
      -- Maturity is measured from an operator's reset: the identity list reads how each is judged from
      -- here, without loading every baseline (review44 L1: after a reset and a restart it showed 'own').
      ALTER TABLE identities ADD COLUMN baseline_since REAL;                        -- null: never reset
      ALTER TABLE identities ADD COLUMN actions_before INTEGER NOT NULL DEFAULT 0;  -- actions before that reset
    `,
  },
  {
    version: 21,
    description: "mutes: the most severe finding each swallows",
    sql: `
      -- A more severe finding than this raises all the same (review45 M5). Mutes set before get the
      -- default a new mute has: a critical finding is raised unless an operator names it (review46).
      ALTER TABLE mutes ADD COLUMN max_severity TEXT NOT NULL DEFAULT 'high';
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
