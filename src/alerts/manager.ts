/**
 * The alert manager: folds findings into alerts, assigns `seq` by persisting, and announces alerts and
 * count updates to subscribers (replay's stdout, the log, later the websocket and webhooks).
 *
 * A new alert is inserted at once (its own autocommit), before the export that raised it is acknowledged
 * and before any subscriber sees it, so nothing announced can be lost by a crash. Count updates of folded
 * alerts are written at the next group commit.
 */
import type { Finding } from '../../detectors/types.js';
import type { Action } from '../actions/types.js';
import type { Config } from '../config/schema.js';
import type { Metrics } from '../metrics.js';
import type { Db } from '../store/database.js';
import { buildAlert, foldKey, type Alert } from './alert.js';

export type AlertEvent =
  | { type: 'alert'; alert: Alert }
  | { type: 'update'; update: { id: string; seq: number; count: number; lastEventTime: string } };

/** A finding waiting for its hold to end (scope_drift's rollout grace). */
export interface HeldFinding {
  finding: Finding;
  action: Action;
  identity: string;
  count: number;
  lastEventTime: number;
}

/**
 * Decides, as an alert is raised and inside the transaction that stores it, whether a revocation rule
 * matches; returns the alert's `response` (and records the revocation durably) or undefined.
 */
export type Responder = (alert: Alert, action: Action) => Alert['response'] | undefined;

/**
 * Runs inside the transaction that stores a new alert, after its `response` is decided: for what must be
 * durable together with the alert (the webhook outbox). A throw rolls the alert back.
 */
export type RaiseHook = (alert: Alert) => void;

/** Open (foldable) alerts kept in memory; older ones are found in SQLite if a finding needs them. */
const MAX_OPEN = 50_000;

export class AlertManager {
  private readonly open = new Map<string, Alert>();
  private readonly held = new Map<string, HeldFinding>();
  private readonly dirty = new Set<Alert>();
  private readonly listeners: Array<(e: AlertEvent) => void> = [];
  private responder: Responder | null = null;
  private readonly raiseHooks: RaiseHook[] = [];
  private readonly insert;
  private readonly updateCount;
  private readonly latest;
  private readonly saveHeld;
  private readonly deleteHeld;

  constructor(
    private readonly db: Db,
    private readonly config: Config,
    private readonly metrics: Metrics,
    private readonly wallClock: () => number = Date.now,
  ) {
    this.insert = db.prepare('INSERT INTO alerts (id, detector, severity, identity, subject, event_time, count, body) VALUES (?, ?, ?, ?, ?, ?, 1, ?)');
    this.updateCount = db.prepare('UPDATE alerts SET count = ?, body = ? WHERE seq = ?');
    this.latest = db.prepare('SELECT body FROM alerts WHERE identity = ? AND detector = ? AND subject = ? ORDER BY seq DESC LIMIT 1').pluck();
    this.saveHeld = db.prepare('INSERT OR REPLACE INTO held_findings (fold_key, body) VALUES (?, ?)');
    this.deleteHeld = db.prepare('DELETE FROM held_findings WHERE fold_key = ?');
    for (const row of db.prepare('SELECT fold_key, body FROM held_findings').iterate() as Iterable<{ fold_key: string; body: string }>) {
      this.held.set(row.fold_key, JSON.parse(row.body) as HeldFinding);
    }
  }

  subscribe(listener: (e: AlertEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Sets the revocation responder (serve only: replay is a backtest and revokes nothing). */
  setResponder(responder: Responder): void {
    this.responder = responder;
  }

  /** Adds a hook run inside each new alert's transaction, after the responder (serve only). */
  addRaiseHook(hook: RaiseHook): void {
    this.raiseHooks.push(hook);
  }

  /** Routes a finding: folded into an open alert, held, or raised as a new alert. */
  report(finding: Finding, action: Action, identity: string): void {
    const k = foldKey(identity, finding.detector, finding.subject);
    const open = this.openAlert(k, identity, finding, action.time);
    if (open) return this.fold(open, action.time);
    const held = this.held.get(k);
    if (held) {
      held.count++;
      held.lastEventTime = Math.max(held.lastEventTime, action.time);
      return;
    }
    if (finding.holdUntil !== undefined) {
      // Durable at once, like a raised alert: a crash during the hold must not lose the finding.
      const h: HeldFinding = { finding, action, identity, count: 1, lastEventTime: action.time };
      this.held.set(k, h);
      this.saveHeld.run(k, JSON.stringify(h));
      return;
    }
    this.raise(finding, action, identity, 1, action.time);
  }

  /** True when some held finding's hold has ended by event time `now`. */
  hasDue(now: number): boolean {
    for (const h of this.held.values()) if (h.finding.holdUntil! <= now) return true;
    return false;
  }

  /** Held findings whose hold has ended by event time `now` (removed from the hold). */
  takeDue(now: number): HeldFinding[] {
    const due: HeldFinding[] = [];
    for (const [k, h] of this.held) {
      if (h.finding.holdUntil! <= now) {
        due.push(h);
        this.held.delete(k);
        this.deleteHeld.run(k);
      }
    }
    return due;
  }

  /** Every held finding, regardless of time (end of replay, shutdown). */
  takeAllHeld(): HeldFinding[] {
    const all = [...this.held.values()];
    for (const k of this.held.keys()) this.deleteHeld.run(k);
    this.held.clear();
    return all;
  }

  /** Raises a held finding that nothing explained. */
  confirm(h: HeldFinding): void {
    this.raise(h.finding, h.action, h.identity, h.count, h.lastEventTime);
  }

  private openAlert(k: string, identity: string, f: Finding, time: number): Alert | undefined {
    let alert = this.open.get(k);
    if (!alert) {
      const body = this.latest.get(identity, f.detector, f.subject) as string | undefined;
      if (!body) return undefined;
      alert = JSON.parse(body) as Alert;
      this.remember(k, alert);
    }
    const windowEnd = Date.parse(alert.eventTime) + this.config.alerts.suppressionWindow;
    return time < windowEnd ? alert : undefined;
  }

  private remember(k: string, alert: Alert): void {
    this.open.delete(k);
    this.open.set(k, alert);
    if (this.open.size > MAX_OPEN) this.open.delete(this.open.keys().next().value!);
  }

  private fold(alert: Alert, time: number): void {
    alert.count++;
    if (time > Date.parse(alert.lastEventTime)) alert.lastEventTime = new Date(time).toISOString();
    this.dirty.add(alert);
    this.emit({ type: 'update', update: { id: alert.id, seq: alert.seq, count: alert.count, lastEventTime: alert.lastEventTime } });
  }

  private raise(f: Finding, action: Action, identity: string, count: number, lastEventTime: number): void {
    const draft = buildAlert(f, action, identity, this.wallClock());
    draft.count = count;
    draft.lastEventTime = new Date(lastEventTime).toISOString();
    // seq is the row id: strictly increasing, never reused (AUTOINCREMENT), durable once this returns.
    const alert = this.db.transaction(() => {
      const info = this.insert.run(draft.id, f.detector, f.severity, identity, f.subject, action.time, '{}');
      const stored: Alert = { seq: Number(info.lastInsertRowid), ...draft };
      const response = this.responder?.(stored, action);
      if (response) stored.response = response;
      for (const hook of this.raiseHooks) hook(stored);
      this.updateCount.run(stored.count, JSON.stringify(stored), stored.seq);
      return stored;
    })();
    this.remember(foldKey(identity, f.detector, f.subject), alert);
    this.metrics.alerts.inc({ detector: f.detector, severity: f.severity });
    this.emit({ type: 'alert', alert });
  }

  private emit(e: AlertEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** Writes folded counts changed since the last flush. Call inside the group-commit transaction. */
  flush(): void {
    for (const a of this.dirty) this.updateCount.run(a.count, JSON.stringify(a), a.seq);
    this.dirty.clear();
  }

  /** Alerts with seq > since, ascending (the REST API and websocket resume read this). */
  since(since: number, limit: number): Alert[] {
    return (this.db.prepare('SELECT body FROM alerts WHERE seq > ? ORDER BY seq LIMIT ?').pluck().all(since, limit) as string[]).map((b) => JSON.parse(b) as Alert);
  }
}
