/**
 * Revocations and their attempts in SQLite (migration 3). A revocation is one row per credential whose
 * state changes in place; every call to a broker adds a row to `revocation_attempts` in the same
 * transaction as the state change it caused, so the audit trail and the state never disagree.
 */
import type { Db } from '../store/database.js';
import type { RevocationJob, RevocationMode, RevocationRecord, RevocationStatus } from './types.js';

/** A `revocations` row. */
export interface RevocationRow {
  id: string;
  cred_key: string | null;
  alert_id: string;
  identity: string;
  credential_id: string | null;
  credential_type: string | null;
  broker: string;
  mode: RevocationMode;
  status: RevocationStatus;
  attempts: number;
  reason: string;
  detector: string;
  severity: string;
  cause: string;
  created_at: number;
  at: number;
  next_at: number | null;
}

/** What an attempt changes in its revocation; the rest (its credential, its alert) may change meanwhile. */
export type RevocationState = Pick<RevocationRow, 'attempts' | 'status' | 'reason' | 'at' | 'next_at'>;

/**
 * One broker call, as recorded. `in_flight` is written before the call is made and replaced by its
 * outcome; one found at start was cut short by a crash (`interrupted`: the broker may have acted on it).
 */
export interface AttemptRow {
  revocation_id: string;
  attempt: number;
  at: number;
  http_status: number | null;
  outcome: 'in_flight' | 'interrupted' | 'succeeded' | 'retry' | 'failed';
  error: string | null;
}

/** What an attempt found in flight at start says. */
const INTERRUPTED = 'the daemon stopped during this attempt; the broker may have acted on it (the next attempt carries the same id)';

/** The idempotency key of a revocation of one credential, whatever broker revokes it. */
export function credentialKey(credential: { id: string; type: string | null }): string {
  return `credential\u0000${credential.type ?? ''}\u0000${credential.id}`;
}

/**
 * The idempotency key of a revocation of an identity's sessions (no credential id on its spans): per
 * broker, since each broker cuts off the sessions of its own identity provider.
 */
export function sessionsKey(broker: string, identity: string): string {
  return `sessions\u0000${broker}\u0000${identity}`;
}

const COLUMNS = 'id, cred_key, alert_id, identity, credential_id, credential_type, broker, mode, status, attempts, reason, detector, severity, cause, created_at, at, next_at';

export function toRecord(r: RevocationRow): RevocationRecord {
  return {
    revocationId: r.id,
    alertId: r.alert_id,
    identity: r.identity,
    credentialId: r.credential_id,
    credentialType: r.credential_type,
    broker: r.broker,
    mode: r.mode,
    status: r.status,
    attempts: r.attempts,
    reason: r.reason,
    at: new Date(r.at).toISOString(),
  };
}

export function toJob(r: RevocationRow): RevocationJob {
  return {
    revocationId: r.id,
    alertId: r.alert_id,
    identity: r.identity,
    credentialId: r.credential_id,
    credentialType: r.credential_type,
    detector: r.detector,
    severity: r.severity,
    cause: r.cause,
    createdAt: r.created_at,
    attempts: r.attempts,
  };
}

export class RevocationStore {
  private readonly stmts;

  constructor(private readonly db: Db) {
    this.stmts = {
      insert: db.prepare(`INSERT INTO revocations (${COLUMNS}) VALUES (${COLUMNS.split(', ').map((c) => '@' + c).join(', ')})`),
      byKey: db.prepare(`SELECT ${COLUMNS} FROM revocations WHERE cred_key = ?`),
      get: db.prepare(`SELECT ${COLUMNS} FROM revocations WHERE id = ?`),
      byCredentialId: db.prepare(`SELECT ${COLUMNS} FROM revocations WHERE credential_id = ? ORDER BY rowid`),
      all: db.prepare(`SELECT ${COLUMNS} FROM revocations ORDER BY rowid`), // creation order, as `page` gives it
      page: db.prepare(
        `SELECT rowid AS position, ${COLUMNS} FROM revocations WHERE rowid > @since AND (@status IS NULL OR status = @status) AND (@identity IS NULL OR identity = @identity) ORDER BY rowid LIMIT @limit`,
      ),
      newestPosition: db.prepare('SELECT coalesce(max(rowid), 0) FROM revocations').pluck(),
      due: db.prepare(`SELECT ${COLUMNS} FROM revocations WHERE status = 'pending' AND broker = ? AND next_at <= ? ORDER BY next_at LIMIT ?`),
      succeeded: db.prepare(`SELECT credential_id, at FROM revocations WHERE status = 'succeeded' AND credential_id IS NOT NULL ORDER BY at DESC LIMIT ?`),
      pendingByBroker: db.prepare(
        `SELECT broker, sum(status = 'pending') AS n, min(CASE WHEN status = 'pending' THEN created_at END) AS oldest, sum(status = 'failed') AS failed
         FROM revocations WHERE status IN ('pending', 'failed') GROUP BY broker`,
      ),
      pendingOn: db.prepare(`SELECT ${COLUMNS} FROM revocations WHERE status = 'pending' AND broker = ? ORDER BY created_at, rowid`),
      update: db.prepare(
        `UPDATE revocations SET cred_key = @cred_key, credential_type = @credential_type, alert_id = @alert_id, broker = @broker, mode = @mode, status = @status, attempts = @attempts, reason = @reason,
           detector = @detector, severity = @severity, cause = @cause, at = @at, next_at = @next_at WHERE id = @id`,
      ),
      dueNow: db.prepare("UPDATE revocations SET next_at = ? WHERE id = ? AND status = 'pending'"),
      attempt: db.prepare(
        'INSERT OR REPLACE INTO revocation_attempts (revocation_id, attempt, at, http_status, outcome, error) VALUES (@revocation_id, @attempt, @at, @http_status, @outcome, @error)',
      ),
      countAttempt: db.prepare('UPDATE revocations SET attempts = ? WHERE id = ?'),
      settle: db.prepare('UPDATE revocations SET attempts = @attempts, status = @status, reason = @reason, at = @at, next_at = @next_at WHERE id = @id'),
      interrupted: db.prepare(`UPDATE revocation_attempts SET outcome = 'interrupted', error = ? WHERE outcome = 'in_flight'`),
      attempts: db.prepare('SELECT revocation_id, attempt, at, http_status, outcome, error FROM revocation_attempts WHERE revocation_id = ? ORDER BY attempt'),
    };
  }

  byKey(key: string): RevocationRow | undefined {
    return this.stmts.byKey.get(key) as RevocationRow | undefined;
  }

  /**
   * The revocation of a credential: by its key, else — the spans named its type for some calls only —
   * one of the same id whose type is unknown (for a typed credential), or of any type (for an untyped one).
   */
  ofCredential(credential: { id: string; type: string | null }): RevocationRow | undefined {
    const exact = this.byKey(credentialKey(credential));
    if (exact !== undefined) return exact;
    const sameId = this.stmts.byCredentialId.all(credential.id) as RevocationRow[];
    return credential.type === null ? sameId[0] : sameId.find((r) => r.credential_type === null);
  }

  get(id: string): RevocationRow | undefined {
    return this.stmts.get.get(id) as RevocationRow | undefined;
  }

  insert(row: RevocationRow): void {
    this.stmts.insert.run(row);
  }

  /**
   * Writes a row's new state (every column but its id, identity and credential id; the key changes when a
   * sessions revocation moves to another broker, or a credential's type becomes known).
   */
  update(row: RevocationRow): void {
    this.stmts.update.run(row);
  }

  /**
   * Makes a pending revocation due at `now`. Only the time changes: an attempt in flight records its
   * outcome over the rest of the row, and that outcome stands.
   */
  dueNow(id: string, now: number): void {
    this.stmts.dueNow.run(now, id);
  }

  /**
   * Records that attempt number `attempt` is about to be made, counted, before the call: a crash during
   * the call must not leave a request the broker received missing from the audit trail.
   */
  startAttempt(id: string, attempt: number, at: number): void {
    this.db.transaction(() => {
      this.stmts.attempt.run({ revocation_id: id, attempt, at, http_status: null, outcome: 'in_flight', error: null });
      this.stmts.countAttempt.run(attempt, id);
    })();
  }

  /** Marks the attempts a crash cut short (call at start, before any attempt). Returns how many. */
  markInterrupted(): number {
    return this.stmts.interrupted.run(INTERRUPTED).changes;
  }

  /**
   * Records an attempt's outcome (over its `in_flight` row) and the state it led to, atomically; returns
   * the revocation as it now stands. Only the state is written: an alert may have changed the rest while
   * the call was out (a credential type learned), and a snapshot taken before the call would undo it.
   */
  recordAttempt(id: string, state: RevocationState, attempt: AttemptRow): RevocationRow {
    return this.db.transaction(() => {
      this.stmts.attempt.run(attempt);
      this.stmts.settle.run({ ...state, id });
      return this.get(id)!;
    })();
  }

  all(): RevocationRow[] {
    return this.stmts.all.all() as RevocationRow[];
  }

  /** Up to `limit` revocations created after `position` (a rowid), in creation order, each with its position. */
  page(position: number, limit: number, only: RevocationFilter = {}): Array<RevocationRow & { position: number }> {
    return this.stmts.page.all({ since: position, limit, status: only.status ?? null, identity: only.identity ?? null }) as Array<RevocationRow & { position: number }>;
  }

  /** Rows are never deleted (kept for audit), so a position once given stays the newest or below it. */
  newestPosition(): number {
    return this.stmts.newestPosition.get() as number;
  }

  due(broker: string, now: number, limit: number): RevocationRow[] {
    return this.stmts.due.all(broker, now, limit) as RevocationRow[];
  }

  /** Credentials revoked, with when, the latest `limit`, oldest first. */
  succeeded(limit: number): Array<[string, number]> {
    return (this.stmts.succeeded.all(limit) as Array<{ credential_id: string; at: number }>).reverse().map((r) => [r.credential_id, r.at]);
  }

  /** Revocations per broker whose credential is still valid: pending (how many, the oldest's creation), and failed. */
  pendingByBroker(): Map<string, { n: number; oldest: number | undefined; failed: number }> {
    type Row = { broker: string; n: number; oldest: number | null; failed: number };
    return new Map((this.stmts.pendingByBroker.all() as Row[]).map((r) => [r.broker, { n: r.n, oldest: r.oldest ?? undefined, failed: r.failed }]));
  }

  /** Pending revocations of one broker, oldest first. */
  pendingOn(broker: string): RevocationRow[] {
    return this.stmts.pendingOn.all(broker) as RevocationRow[];
  }

  attempts(id: string): AttemptRow[] {
    return this.stmts.attempts.all(id) as AttemptRow[];
  }
}

/** Which revocations a page holds: of one status, of one identity (absent: any). */
export interface RevocationFilter {
  status?: string;
  identity?: string;
}

/**
 * Deletes up to `limit` settled revocations (any state but pending) last changed before `cutoff`, with
 * their attempts, and returns how many; inside the caller's transaction. Kept for good, they grew with
 * every rotated credential an alert revoked, and the unpaged `GET /v1/revocations` with them (review29 #3).
 */
export function settledRevocationsSweep(db: Db): (cutoff: number, limit: number) => number {
  const settled = db.prepare("SELECT id FROM revocations WHERE status != 'pending' AND at < ? ORDER BY at LIMIT ?").pluck();
  const attempts = db.prepare('DELETE FROM revocation_attempts WHERE revocation_id = ?');
  const record = db.prepare('DELETE FROM revocations WHERE id = ?');
  return (cutoff, limit) => {
    const ids = settled.all(cutoff, limit) as string[];
    for (const id of ids) {
      attempts.run(id);
      record.run(id);
    }
    return ids.length;
  };
}
