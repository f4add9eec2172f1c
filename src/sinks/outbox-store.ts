/**
 * The webhook outbox's SQL (tables in migration 3): one row per alert and endpoint until a 2xx, and the
 * endpoints a 410 disabled. Statements are prepared once; every call is a single autocommit statement
 * except `insert`, which runs inside the alert's own transaction.
 */
import type { Db } from '../store/database.js';

/** A delivery waiting in the outbox. */
export interface OutboxRow {
  id: number;
  endpoint: string;
  msg_id: string;
  body: string;
  attempts: number;
}

/** A 410's durable mark on an endpoint. */
export interface DisabledEndpoint {
  endpoint: string;
  fingerprint: string;
  at: number;
  reason: string;
}

export class OutboxStore {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      insert: db.prepare('INSERT OR IGNORE INTO webhook_outbox (endpoint, msg_id, body, next_at, created_at) VALUES (?, ?, ?, ?, ?)'),
      due: db.prepare('SELECT id, endpoint, msg_id, body, attempts FROM webhook_outbox WHERE endpoint = ? AND next_at <= ? ORDER BY next_at, id LIMIT ?'),
      done: db.prepare('DELETE FROM webhook_outbox WHERE id = ?'),
      failed: db.prepare('UPDATE webhook_outbox SET attempts = attempts + 1, next_at = ?, last_status = ?, last_error = ? WHERE id = ?'),
      count: db.prepare('SELECT count(*) FROM webhook_outbox').pluck(),
      byEndpoint: db.prepare('SELECT endpoint, count(*) AS n FROM webhook_outbox GROUP BY endpoint'),
      disabled: db.prepare('SELECT endpoint, fingerprint, at, reason FROM webhook_disabled'),
      disable: db.prepare('INSERT OR REPLACE INTO webhook_disabled (endpoint, fingerprint, at, reason) VALUES (?, ?, ?, ?)'),
      enable: db.prepare('DELETE FROM webhook_disabled WHERE endpoint = ?'),
    };
  }

  /** Adds a delivery; a second insert of the same (endpoint, id) is ignored, keeping enqueue idempotent. */
  insert(endpoint: string, msgId: string, body: string, now: number): boolean {
    return this.stmts.insert.run(endpoint, msgId, body, now, now).changes > 0;
  }

  due(endpoint: string, now: number, limit: number): OutboxRow[] {
    return this.stmts.due.all(endpoint, now, limit) as OutboxRow[];
  }

  delivered(id: number): void {
    this.stmts.done.run(id);
  }

  /** Counts a failed attempt and sets when the next one may start. */
  failed(id: number, nextAt: number, status: number | null, error: string | null): void {
    this.stmts.failed.run(nextAt, status, error, id);
  }

  count(): number {
    return this.stmts.count.get() as number;
  }

  pendingByEndpoint(): Map<string, number> {
    const rows = this.stmts.byEndpoint.all() as Array<{ endpoint: string; n: number }>;
    return new Map(rows.map((r) => [r.endpoint, r.n]));
  }

  disabled(): DisabledEndpoint[] {
    return this.stmts.disabled.all() as DisabledEndpoint[];
  }

  disable(endpoint: string, fingerprint: string, at: number, reason: string): void {
    this.stmts.disable.run(endpoint, fingerprint, at, reason);
  }

  enable(endpoint: string): void {
    this.stmts.enable.run(endpoint);
  }
}
