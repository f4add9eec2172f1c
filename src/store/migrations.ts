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
  {
    version: 3,
    description: 'webhook outbox, disabled endpoints, revocations and their attempts',
    sql: `
      -- One row per alert and endpoint until the endpoint answers 2xx (then deleted): the durable outbox.
      -- Rows are written in the transaction that stores the alert, so no alert exists without them.
      CREATE TABLE webhook_outbox (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        endpoint    TEXT NOT NULL,    -- the endpoint's url: its identity across restarts and config edits
        msg_id      TEXT NOT NULL,    -- webhook-id, the same on every attempt
        body        TEXT NOT NULL,    -- the exact payload, so every attempt signs the same bytes
        attempts    INTEGER NOT NULL DEFAULT 0,
        next_at     REAL NOT NULL,    -- wall clock, unix ms: not before then
        last_status INTEGER,          -- HTTP status of the last attempt, NULL for none or a network error
        last_error  TEXT,
        created_at  REAL NOT NULL,
        UNIQUE (endpoint, msg_id)
      ) STRICT;
      CREATE INDEX webhook_outbox_due ON webhook_outbox(endpoint, next_at);

      -- Endpoints that answered 410 Gone: no delivery until their entry in the config changes.
      CREATE TABLE webhook_disabled (
        endpoint    TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,    -- hash of the endpoint's config entry when it was disabled
        at          REAL NOT NULL,
        reason      TEXT NOT NULL
      ) STRICT;

      -- One revocation per credential (cred_key), whatever the number of alerts naming it.
      CREATE TABLE revocations (
        id              TEXT PRIMARY KEY,   -- revocationId
        cred_key        TEXT UNIQUE,        -- idempotency key; NULL when there is nothing to be idempotent on
        alert_id        TEXT NOT NULL,      -- the alert that opened it
        identity        TEXT NOT NULL,
        credential_id   TEXT,
        credential_type TEXT,
        broker          TEXT NOT NULL,
        mode            TEXT NOT NULL,      -- dry_run | enforce
        status          TEXT NOT NULL,      -- dry_run | pending | succeeded | failed | not_revocable
        attempts        INTEGER NOT NULL DEFAULT 0,
        reason          TEXT NOT NULL,
        detector        TEXT NOT NULL,
        severity        TEXT NOT NULL,
        cause           TEXT NOT NULL,      -- why revoke, as told to the broker (the alert's title)
        created_at      REAL NOT NULL,
        at              REAL NOT NULL,      -- last state change, wall clock unix ms
        next_at         REAL                -- pending only: not before then
      ) STRICT;
      CREATE INDEX revocations_due ON revocations(status, broker, next_at);

      -- Every call made to a broker, for the audit trail.
      CREATE TABLE revocation_attempts (
        revocation_id TEXT NOT NULL REFERENCES revocations(id),
        attempt       INTEGER NOT NULL,
        at            REAL NOT NULL,
        http_status   INTEGER,
        outcome       TEXT NOT NULL,      -- succeeded | retry | failed (later also in_flight | interrupted)
        error         TEXT,
        PRIMARY KEY (revocation_id, attempt)
      ) STRICT;
    `,
  },
  {
    version: 4,
    description: 'action counts per kind as one column of the identity row',
    sql: `
      -- One upsert per dirty identity per group commit instead of one per identity and kind: under
      -- load a commit rewrote thousands of rows and stalled the event loop.
      ALTER TABLE identities ADD COLUMN by_kind TEXT NOT NULL DEFAULT '{}';
      UPDATE identities SET by_kind = coalesce(
        (SELECT json_group_object(kind, count) FROM identity_kind_counts k WHERE k.identity = identities.identity), '{}');
      DROP TABLE identity_kind_counts;
    `,
  },
  {
    version: 5,
    description: 'peer-group members and items as rows',
    sql: `
      -- A group's members and items rarely change once a fleet has settled, while its outcome rates
      -- change with every action: rows let a checkpoint write only what changed (a whole group as one
      -- document was rewritten at every checkpoint, megabytes for a large group).
      CREATE TABLE peer_members (
        peer_group TEXT NOT NULL,
        identity   TEXT NOT NULL,
        mature     INTEGER NOT NULL,   -- 1 once the member is judged against its own baseline
        PRIMARY KEY (peer_group, identity)
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE peer_items (
        peer_group TEXT NOT NULL,
        item       TEXT NOT NULL,      -- a baselines/keys.ts key
        users      INTEGER NOT NULL,   -- members that learned it
        adopters   TEXT NOT NULL,      -- JSON [[identity, first attempt ms], …], oldest first, bounded
        PRIMARY KEY (peer_group, item)
      ) STRICT, WITHOUT ROWID;
      INSERT INTO peer_members (peer_group, identity, mature)
        SELECT p.peer_group, m.value, 0 FROM peer_baselines p, json_each(p.body, '$.members') m WHERE true
        ON CONFLICT DO NOTHING;
      INSERT INTO peer_members (peer_group, identity, mature)
        SELECT p.peer_group, m.value, 1 FROM peer_baselines p, json_each(p.body, '$.mature') m WHERE true
        ON CONFLICT DO UPDATE SET mature = 1;
      INSERT INTO peer_items (peer_group, item, users, adopters)
        SELECT p.peer_group, i.value ->> '$[0]', i.value ->> '$[1]', i.value -> '$[2]'
        FROM peer_baselines p, json_each(p.body, '$.items') i WHERE true
        ON CONFLICT DO NOTHING;
      -- What stays in the document: the outcome rates.
      UPDATE peer_baselines SET body = json_object('v', 2, 'outcome', body -> '$.outcome');
    `,
  },
  {
    version: 6,
    description: 'peer-group members leave when idle; a group has its own history',
    sql: `
      -- A member idle for baselines.peerIdleAfter leaves its group: when each one last acted (event time).
      ALTER TABLE peer_members ADD COLUMN last_seen REAL NOT NULL DEFAULT 0;
      UPDATE peer_members SET last_seen = coalesce(
        (SELECT b.body ->> '$.lastSeen' FROM identity_baselines b WHERE b.identity = peer_members.identity), 0);
      -- The group's first and latest action and its action count, from its members' baselines: a
      -- group of short-lived instances is judged-ready on its own history.
      UPDATE peer_baselines SET body = json_object('v', 3, 'outcome', body -> '$.outcome', 'history', (
        SELECT json_object('firstSeen', min(b.body ->> '$.firstSeen'), 'lastSeen', max(b.body ->> '$.lastSeen'),
                           'actions', coalesce(sum(b.body ->> '$.actions'), 0))
        FROM identity_baselines b WHERE b.peer_group = peer_baselines.peer_group));
    `,
  },
  {
    version: 7,
    description: 'whether learned state was written by a clean shutdown',
    sql: `
      -- 'baselines_clean' is 1 only while the daemon is stopped after writing everything: after a crash,
      -- the peer groups' user counts are recounted from the members' baselines (see BaselineStore). An
      -- upgraded database is recounted once, too.
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
      INSERT INTO meta (key, value) VALUES ('baselines_clean', '0');
    `,
  },
  {
    version: 8,
    description: 'identities by last action, for forgetting idle ones',
    sql: `
      CREATE INDEX identities_last_seen ON identities(last_seen);
    `,
  },
  {
    version: 9,
    description: 'alerts by event time, for deleting those older than alerts.retention',
    sql: `
      CREATE INDEX alerts_event_time ON alerts(event_time);
    `,
  },
  {
    version: 10,
    description: 'alerts kept for alerts.retention from when they were raised, not only from their event',
    sql: `
      -- An alert about a backdated span (event a year old, raised today) was deleted at the next sweep,
      -- after the SOC and the webhooks had been told of it. retain_from is the later of its event and the
      -- event time Vigil had reached when it raised it. For alerts already stored, that is estimated as
      -- the latest event among them and the alerts raised before (seq order).
      ALTER TABLE alerts ADD COLUMN retain_from REAL NOT NULL DEFAULT 0;
      UPDATE alerts SET retain_from = raised.reached
        FROM (SELECT seq, max(event_time) OVER (ORDER BY seq) AS reached FROM alerts) AS raised
        WHERE raised.seq = alerts.seq;
      DROP INDEX alerts_event_time;
      CREATE INDEX alerts_retain_from ON alerts(retain_from);
    `,
  },
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
