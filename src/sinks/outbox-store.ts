/**
 * The webhook outbox's SQL (tables in migrations 3, 11 and 15): one row per alert and endpoint until a 2xx,
 * the endpoints a 410 disabled, and each endpoint's health. A delivered row stays, marked, only while its alert is still pending
 * for another endpoint (see `delivered`). Statements are prepared once; every call is a single autocommit
 * statement or one transaction, except `insert`, which runs inside the alert's own transaction.
 */
import type { Db } from '../store/database.js';
import type { HealthState } from './endpoint-health.js';

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

const PENDING = 'delivered_at IS NULL';

export class OutboxStore {
  private readonly stmts;
  private readonly deliveredTx;
  private readonly dropTx;

  constructor(db: Db) {
    this.stmts = {
      insert: db.prepare('INSERT OR IGNORE INTO webhook_outbox (endpoint, msg_id, body, next_at, created_at) VALUES (?, ?, ?, ?, ?)'),
      due: db.prepare(`SELECT id, endpoint, msg_id, body, attempts FROM webhook_outbox WHERE endpoint = ? AND next_at <= ? AND ${PENDING} ORDER BY next_at, id LIMIT ?`),
      // A mark needs no body: it only says the endpoint has the alert (see migration 14).
      markDelivered: db.prepare("UPDATE webhook_outbox SET delivered_at = ?, body = '' WHERE id = ?"),
      delete: db.prepare('DELETE FROM webhook_outbox WHERE id = ?'),
      // The marks of an alert go once no endpoint has it pending: they only matter while one does.
      forgetSettled: db.prepare(`DELETE FROM webhook_outbox WHERE msg_id = ? AND NOT EXISTS (SELECT 1 FROM webhook_outbox WHERE msg_id = ? AND ${PENDING})`),
      failed: db.prepare('UPDATE webhook_outbox SET attempts = attempts + 1, next_at = ?, last_status = ?, last_error = ? WHERE id = ?'),
      count: db.prepare(`SELECT count(*) FROM webhook_outbox WHERE ${PENDING}`).pluck(),
      byEndpoint: db.prepare(`SELECT endpoint, count(*) AS n, min(next_at) AS next FROM webhook_outbox WHERE ${PENDING} GROUP BY endpoint`),
      dueNow: db.prepare(`UPDATE webhook_outbox SET next_at = ? WHERE endpoint = ? AND next_at > ? AND ${PENDING}`),
      pendingFor: db.prepare(`SELECT id, endpoint, msg_id, body, attempts FROM webhook_outbox WHERE endpoint = ? AND ${PENDING} ORDER BY id`),
      has: db.prepare('SELECT 1 FROM webhook_outbox WHERE endpoint = ? AND msg_id = ?').pluck(),
      disabled: db.prepare('SELECT endpoint, fingerprint, at, reason FROM webhook_disabled'),
      disable: db.prepare('INSERT OR REPLACE INTO webhook_disabled (endpoint, fingerprint, at, reason) VALUES (?, ?, ?, ?)'),
      enable: db.prepare('DELETE FROM webhook_disabled WHERE endpoint = ?'),
      health: db.prepare('SELECT endpoint, failures, failing_since, last_error, last_error_at FROM webhook_health'),
      saveHealth: db.prepare('INSERT OR REPLACE INTO webhook_health (endpoint, failures, failing_since, last_error, last_error_at) VALUES (?, ?, ?, ?, ?)'),
      forgetHealth: db.prepare('DELETE FROM webhook_health WHERE endpoint = ?'),
    };
    this.deliveredTx = db.transaction((row: Pick<OutboxRow, 'id' | 'msg_id'>, now: number) => {
      this.stmts.markDelivered.run(now, row.id);
      this.stmts.forgetSettled.run(row.msg_id, row.msg_id);
    });
    this.dropTx = db.transaction((row: Pick<OutboxRow, 'id' | 'msg_id'>) => {
      this.stmts.delete.run(row.id);
      this.stmts.forgetSettled.run(row.msg_id, row.msg_id);
    });
  }

  /** Adds a delivery; a second insert of the same (endpoint, id) is ignored, keeping enqueue idempotent. */
  insert(endpoint: string, msgId: string, body: string, now: number): boolean {
    return this.stmts.insert.run(endpoint, msgId, body, now, now).changes > 0;
  }

  due(endpoint: string, now: number, limit: number): OutboxRow[] {
    return this.stmts.due.all(endpoint, now, limit) as OutboxRow[];
  }

  /** Records a 2xx: the row is marked while another endpoint has the alert pending, else deleted. */
  delivered(row: Pick<OutboxRow, 'id' | 'msg_id'>, now: number): void {
    this.deliveredTx(row, now);
  }

  /** Removes a pending delivery that will not be made (its endpoint left the config; see rehome.ts). */
  drop(row: Pick<OutboxRow, 'id' | 'msg_id'>): void {
    this.dropTx(row);
  }

  /** Counts a failed attempt and sets when the next one may start. */
  failed(id: number, nextAt: number, status: number | null, error: string | null): void {
    this.stmts.failed.run(nextAt, status, error, id);
  }

  /** Deliveries still to be made. */
  count(): number {
    return this.stmts.count.get() as number;
  }

  /** Per endpoint: its pending deliveries (`n`) and when the first of them is due (`next`, ms). */
  pendingByEndpoint(): Map<string, { n: number; next: number }> {
    const rows = this.stmts.byEndpoint.all() as Array<{ endpoint: string; n: number; next: number }>;
    return new Map(rows.map((r) => [r.endpoint, { n: r.n, next: r.next }]));
  }

  /** Makes every pending delivery of `endpoint` due at `now`, whatever its own backoff (an operator's resume). */
  dueNow(endpoint: string, now: number): void {
    this.stmts.dueNow.run(now, endpoint, now);
  }

  /** An endpoint's pending deliveries, oldest first, due or not. */
  pendingFor(endpoint: string): OutboxRow[] {
    return this.stmts.pendingFor.all(endpoint) as OutboxRow[];
  }

  /** Whether `endpoint` has the alert, pending or delivered. */
  has(endpoint: string, msgId: string): boolean {
    return this.stmts.has.get(endpoint, msgId) !== undefined;
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

  /** Every endpoint's kept health, by url (endpoints no longer configured included). */
  health(): Map<string, HealthState> {
    type Row = { endpoint: string; failures: number; failing_since: number | null; last_error: string | null; last_error_at: number | null };
    const rows = this.stmts.health.all() as Row[];
    return new Map(
      rows.map((r) => [
        r.endpoint,
        { failures: r.failures, failingSince: r.failing_since, lastError: r.last_error === null || r.last_error_at === null ? null : { at: r.last_error_at, error: r.last_error } },
      ]),
    );
  }

  saveHealth(endpoint: string, h: HealthState): void {
    this.stmts.saveHealth.run(endpoint, h.failures, h.failingSince, h.lastError?.error ?? null, h.lastError?.at ?? null);
  }

  forgetHealth(endpoint: string): void {
    this.stmts.forgetHealth.run(endpoint);
  }
}
