/** Migrations 1 to 10, the schema's first ones (migrations.ts adds the later ones and applies them all). */
import type { Migration } from './migrations.js';

export const FIRST_MIGRATIONS: readonly Migration[] = [
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
];
