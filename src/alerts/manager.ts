/**
 * The alert manager: folds findings into alerts, assigns `seq` by persisting, and announces alerts and
 * count updates to subscribers (replay's stdout, the log, the websocket feed, webhooks and revocation).
 *
 * A new alert is inserted at once (its own autocommit), before the export that raised it is acknowledged
 * and before any subscriber sees it, so nothing announced can be lost by a crash. Count updates of folded
 * alerts, and of findings held for a rollout, are written at the next group commit.
 *
 * When the store refuses writes (disk full, a read-only volume), a new finding is kept in memory, in the
 * order found, and raised by `storePending` once the store takes writes again; until then every group
 * commit fails, so the exports that produced it are not acknowledged and a crash meanwhile loses
 * nothing an exporter will not send again.
 */
import Database from 'better-sqlite3';
import { key, type DimensionItem } from '../../baselines/keys.js';
import type { Finding } from '../../detectors/types.js';
import type { Action } from '../actions/types.js';
import type { Config, Severity } from '../config/schema.js';
import { severityRank } from '../../detectors/severity.js';
import { OpenAlerts } from './open-alerts.js';
import type { Metrics } from '../metrics.js';
import type { Db } from '../store/database.js';
import { buildAlert, foldKey, type Alert } from './alert.js';
import { restoreHeld, usesOf, type HeldFinding } from './held-finding.js';
import type { Mutes } from './mutes.js';

export type AlertEvent =
  | { type: 'alert'; alert: Alert }
  | { type: 'update'; update: { id: string; seq: number; count: number; lastEventTime: string } };

/**
 * Decides, as an alert is raised and inside the transaction that stores it, whether a revocation rule
 * matches; returns the alert's `response` (and records the revocation durably) or undefined.
 */
export interface Responder {
  /** A transaction storing new alerts starts: anything queued by one that rolled back is void. */
  begin(): void;
  respond(alert: Alert, action: Action): Alert['response'] | undefined;
  /**
   * Whether `action`'s credential would get a revocation of its own from a rule matching `alert`: one
   * that would really be sent (enforce mode, a broker able to revoke it) and that no record covers yet.
   */
  revokesAnew(alert: Alert, action: Action): boolean;
}

/** What must be durable together with each new alert (the webhook outbox), written in its transaction. */
export interface RaiseHook {
  /** A transaction storing new alerts starts: anything queued by one that rolled back is void. */
  begin(): void;
  /** Runs for each new alert inside its transaction, after its `response` is decided; a throw rolls it back. */
  raised(alert: Alert): void;
}

export class AlertManager {
  private readonly open: OpenAlerts;
  private readonly held = new Map<string, HeldFinding>();
  /** Held findings whose row is out of date (the store refused it, or a repeat folded in since): `flush` writes them. */
  private readonly heldStale = new Set<string>();
  /** New findings the store refused, in the order found, with their fold keys: raised first when it is back. */
  private readonly unsaved = new Map<HeldFinding, string>();
  /** The same by fold key: one per suppression window, as stored alerts are (review41 M1). */
  private readonly unsavedByKey = new Map<string, HeldFinding[]>();
  private readonly listeners: Array<(e: AlertEvent) => void> = [];
  private responder: Responder | null = null;
  private mutes: Mutes | null = null;
  private readonly raiseHooks: RaiseHook[] = [];
  private readonly insert;
  private readonly updateCount;
  private readonly saveHeld;
  private readonly deleteHeld;
  private readonly deleteExpired;
  private readonly latestOf;

  constructor(
    private readonly db: Db,
    private readonly config: Config,
    private readonly metrics: Metrics,
    private readonly wallClock: () => number,
    /**
     * The newest event time the daemon has seen: retention's clock. An alert is kept for
     * `alerts.retention` from the later of its event and this, so one about a backdated span is not
     * deleted at the next sweep, right after the SOC was told of it.
     */
    private readonly eventNow: () => number,
  ) {
    this.insert = db.prepare(
      'INSERT INTO alerts (id, detector, severity, identity, subject, event_time, retain_from, count, body) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)',
    );
    this.updateCount = db.prepare('UPDATE alerts SET count = ?, body = ? WHERE seq = ?');
    this.open = new OpenAlerts(db, config.alerts.suppressionWindow);
    this.latestOf = db.prepare('SELECT body FROM alerts WHERE identity = ? ORDER BY seq DESC LIMIT 1000').pluck();
    this.saveHeld = db.prepare('INSERT OR REPLACE INTO held_findings (fold_key, body) VALUES (?, ?)');
    this.deleteHeld = db.prepare('DELETE FROM held_findings WHERE fold_key = ?');
    this.deleteExpired = db.prepare(
      'DELETE FROM alerts WHERE seq IN (SELECT seq FROM alerts WHERE retain_from < ? ORDER BY retain_from LIMIT ?) RETURNING seq, identity, detector, subject',
    );
    for (const row of db.prepare('SELECT fold_key, body FROM held_findings').iterate() as Iterable<{ fold_key: string; body: string }>) {
      this.held.set(row.fold_key, restoreHeld(row.body));
    }
  }

  subscribe(listener: (e: AlertEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Sets the revocation responder: serve's revokes, replay's (a backtest) only says what a rule would do. */
  setResponder(responder: Responder): void {
    this.responder = responder;
  }

  /** Sets the operators' mutes (serve only: a replay is a backtest of what would be raised). */
  setMutes(mutes: Mutes): void {
    this.mutes = mutes;
  }

  /** Adds a hook run inside each new alert's transaction, after the responder (serve only). */
  addRaiseHook(hook: RaiseHook): void {
    this.raiseHooks.push(hook);
  }

  /**
   * Routes a finding: folded into an open (or unsaved) alert, held, or raised as a new alert. A finding
   * more severe than the alert it would fold into is raised as a new alert (which becomes the open one):
   * a mild alert must not mute a severe one on the same subject — a delete after a write, an egress after
   * an internal chain — for the webhooks, pagers and revocation rules that wait for the severe.
   *
   * `refold`: what a repeat adds to the open alert it folds into besides its count (telemetry_integrity's
   * claims: the spans and what they claimed), written with the count at the next commit; a repeat
   * folded into a finding not stored yet (held, or refused by the store) adds only its count.
   */
  report(finding: Finding, action: Action, identity: string, refold?: (open: Alert) => void): void {
    // Before folding too: an open alert's count and updates are the SOC being told.
    if (this.mutes?.swallows(identity, finding, action.time)) return;
    const k = foldKey(identity, finding.detector, finding.subject);
    const open = this.open.find(k, identity, finding.detector, finding.subject, action.time);
    if (open && !this.newCredential(open, action) && !moreSevere(finding, open.severity)) {
      refold?.(open);
      return this.fold(open, action.time);
    }
    const unsaved = this.unsavedAt(k, action.time);
    if (unsaved && moreSevere(finding, unsaved.finding.severity)) {
      // Not stored yet (the store refused): it will be raised as the more severe finding, counting both.
      unsaved.finding = finding;
      unsaved.action = action;
      unsaved.count++;
      unsaved.lastEventTime = Math.max(unsaved.lastEventTime, action.time);
      return;
    }
    const held = this.held.get(k);
    // A held finding waits for a rollout to explain it; a more severe one on its subject does not wait.
    const waiting = unsaved ?? (held !== undefined && !moreSevere(finding, held.finding.severity) ? held : undefined);
    if (waiting) {
      const uses = usesOf(waiting, finding, action);
      uses.count++;
      uses.lastEventTime = Math.max(uses.lastEventTime, action.time);
      // Written by the next group commit, so the repeat is as durable as the export that carried it.
      if (this.held.has(k)) this.heldStale.add(k);
      return;
    }
    const h: HeldFinding = { finding, action, identity, count: 1, lastEventTime: action.time };
    if (finding.holdUntil !== undefined && held === undefined) {
      h.heldAtWall = this.wallClock();
      // Durable at once, like a raised alert: a crash during the hold must not lose the finding.
      this.held.set(k, h);
      try {
        this.saveHeld.run(k, JSON.stringify(h));
      } catch (err) {
        if (!(err instanceof Database.SqliteError)) throw err;
        this.heldStale.add(k); // written by the next group commit
      }
      return;
    }
    if (this.unsaved.size === 0) {
      const raised = this.tryStore(h);
      if (raised) return this.announce(k, raised);
    }
    // Behind the findings refused before it, so seq follows the order found.
    this.unsaved.set(h, k);
    const ofKey = this.unsavedByKey.get(k);
    if (ofKey) ofKey.push(h);
    else this.unsavedByKey.set(k, [h]);
  }

  /**
   * The finding under fold key `k` the store refused whose suppression window holds `time`, if any: a
   * store outage longer than the window must not fold a later incident into an earlier one, which would
   * raise no alert, webhook or revocation for it when the store is back (review41 M1).
   */
  private unsavedAt(k: string, time: number): HeldFinding | undefined {
    const window = this.config.alerts.suppressionWindow;
    return this.unsavedByKey.get(k)?.find((h) => time < h.action.time + window && time > h.action.time - window);
  }

  /**
   * Stores a new alert (and those it splits into) in a transaction of its own; undefined when the store
   * refuses it (kept: the commit that follows fails and says why). Any other error is a bug and is thrown.
   */
  private tryStore(h: HeldFinding): Alert[] | undefined {
    try {
      return this.db.transaction(() => this.store(h))();
    } catch (err) {
      if (err instanceof Database.SqliteError) return undefined;
      throw err;
    }
  }

  /**
   * Stores what the store refused earlier, in the order found, announcing each raised alert as it is
   * stored. Throws, keeping the rest, while the store still refuses.
   */
  storePending(): void {
    for (const [h, k] of this.unsaved) {
      const raised = this.db.transaction(() => this.store(h))();
      // Stored: whatever a subscriber does next, it is not stored twice.
      this.unsaved.delete(h);
      const ofKey = this.unsavedByKey.get(k)!;
      if (ofKey.length === 1) this.unsavedByKey.delete(k);
      else ofKey.splice(ofKey.indexOf(h), 1);
      this.announce(k, raised);
    }
  }

  /**
   * Held findings whose hold has ended by event time `now`, as far as their peer group's own event time
   * (`groupTime`, when given) has come too; they stay held until `release`. The group's clock decides
   * because the peers' adoptions that decide a rollout come in it: a peer group whose traffic arrives
   * hours late (a backfill, a Collector's queue drained after an outage) beside live ones had its holds
   * ended by the live traffic's time before those adoptions came (review39 M4).
   * Serving, `wall` (its `now` already less `time.lateness`) ends a hold too: once it has lasted as long in
   * wall time as in event time, or, when the stream has gone `quiet`, once the wall clock is past its end.
   * The wall clock alone must not end a hold while actions keep coming (review37 F1, the same backfill).
   */
  dueHeld(now: number, wall?: { now: number; quiet: boolean }, groupTime?: (peerGroup: string) => number): HeldFinding[] {
    const due: HeldFinding[] = [];
    for (const h of this.held.values()) {
      const holdUntil = h.finding.holdUntil!;
      const eventNow = groupTime === undefined ? now : Math.min(now, groupTime(h.action.peerGroup));
      const byWall = wall !== undefined && ((h.heldAtWall ?? 0) + (holdUntil - h.action.time) <= wall.now || (wall.quiet && holdUntil <= wall.now));
      if (holdUntil <= eventNow || byWall) due.push(h);
    }
    return due;
  }

  /**
   * Narrows `identity`'s held findings as `narrow` says (an operator allowed some of their items): a finding
   * it returns unchanged stays as it is, one it returns null for ends raising nothing.
   */
  narrowHeld(identity: string, narrow: (f: Finding) => Finding | null): void {
    for (const h of [...this.held.values()]) {
      if (h.identity !== identity) continue;
      const left = narrow(h.finding);
      if (left === h.finding) continue;
      this.release(h, null);
      // What is left waits out the rest of the hold under its own subject (or folds into its open alert).
      if (left !== null) this.report(left, h.action, identity);
    }
  }

  /** Every held finding, regardless of time (end of replay, shutdown). */
  allHeld(): HeldFinding[] {
    return [...this.held.values()];
  }

  /**
   * Ends a hold, raising `raise` (the held finding as decided) or nothing. Removing it from the hold and
   * storing the alert are one transaction: if the store refuses, it is still held, to be decided again.
   */
  release(h: HeldFinding, raise: HeldFinding | null): void {
    const k = foldKey(h.identity, h.finding.detector, h.finding.subject);
    // Muted since it was held: decided all the same, raised as nothing (counted once the release commits).
    const mute = raise ? this.mutes?.muting(raise.identity, raise.finding) : undefined;
    const raised = this.db.transaction(() => {
      this.deleteHeld.run(k);
      return raise && !mute ? this.store(raise) : [];
    })();
    if (mute) this.mutes!.counted(mute, raise!.finding, raise!.lastEventTime, raise!.count);
    this.held.delete(k);
    this.heldStale.delete(k);
    this.announce(k, raised);
  }

  /**
   * A repeat carrying a credential that a rule would revoke and nothing has revoked yet (the agent's token
   * was refreshed after the first was revoked) is raised as an alert of its own, so that credential is
   * revoked too: folded, it would go on unrevoked for the rest of the suppression window. Anything else
   * folds: a credential already covered (replicas taking turns), dry_run, nothing revocable.
   */
  private newCredential(open: Alert, action: Action): boolean {
    return open.response !== undefined && this.responder !== null && this.responder.revokesAnew(open, action);
  }

  private fold(alert: Alert, time: number): void {
    alert.count++;
    if (time > Date.parse(alert.lastEventTime)) alert.lastEventTime = new Date(time).toISOString();
    this.open.folded(alert); // written by the next group commit (`flush`)
    this.emit({ type: 'update', update: { id: alert.id, seq: alert.seq, count: alert.count, lastEventTime: alert.lastEventTime } });
  }

  /**
   * Stores a finding as a new alert, deciding its response, and the other credentials it waited with:
   * each that a rule would revoke anew as an alert of its own, the uses of the rest folded into it. Call
   * inside a transaction (seq is the row id); returns the alerts in seq order.
   */
  private store(h: HeldFinding): Alert[] {
    this.responder?.begin();
    for (const hook of this.raiseHooks) hook.begin();
    const first = this.insertAlert(h.finding, h.action, h.identity, h.count, h.lastEventTime);
    const raised = [first];
    const { severity, explanation } = h.finding; // as decided: a held finding may have been lowered
    for (const o of h.others ?? []) {
      if (this.newCredential(first, o.action)) {
        raised.push(this.insertAlert({ ...o.finding, severity, explanation, holdUntil: undefined }, o.action, h.identity, o.count, o.lastEventTime));
      } else {
        first.count += o.count;
        if (o.lastEventTime > Date.parse(first.lastEventTime)) first.lastEventTime = new Date(o.lastEventTime).toISOString();
      }
    }
    for (const alert of raised) {
      for (const hook of this.raiseHooks) hook.raised(alert);
      this.updateCount.run(alert.count, JSON.stringify(alert), alert.seq);
    }
    return raised;
  }

  /** Inserts one alert and decides its response (the responder records a revocation in the same transaction). */
  private insertAlert(f: Finding, action: Action, identity: string, count: number, lastEventTime: number): Alert {
    const draft = buildAlert(f, action, identity, this.wallClock());
    draft.count = count;
    draft.lastEventTime = new Date(lastEventTime).toISOString();
    // seq is the row id: strictly increasing, never reused (AUTOINCREMENT), durable once committed.
    const info = this.insert.run(draft.id, f.detector, f.severity, identity, f.subject, action.time, Math.max(action.time, this.eventNow()), '{}');
    const stored: Alert = { seq: Number(info.lastInsertRowid), ...draft };
    const response = this.responder?.respond(stored, action);
    if (response) stored.response = response;
    return stored;
  }

  /** After the alerts' transaction committed: subscribers see them, in seq order (OpenAlerts keeps the newest open). */
  private announce(k: string, raised: Alert[]): void {
    for (const alert of raised) {
      this.open.raised(k, alert);
      this.metrics.alerts.inc({ detector: alert.detector, severity: alert.severity });
      this.emit({ type: 'alert', alert });
    }
  }

  private emit(e: AlertEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** Writes folded counts and held findings changed since the last commit. Call inside the group-commit transaction. */
  flush(): void {
    for (const a of this.open.unwrittenAlerts()) this.updateCount.run(a.count, JSON.stringify(a), a.seq);
    for (const k of this.heldStale) this.saveHeld.run(k, JSON.stringify(this.held.get(k)));
    this.mutes?.flush();
  }

  /** The group commit succeeded (`ok`): what `flush` wrote is clean; else it is written again later. */
  afterCommit(ok: boolean): void {
    if (!ok) return;
    this.open.written();
    this.heldStale.clear();
    this.mutes?.afterCommit(ok);
  }

  /**
   * Deletes up to `limit` alerts kept since before `cutoff` (event time; `alerts.retention`; kept since
   * the later of their event and the event time reached when they were raised), oldest first, and
   * returns how many. Call inside a transaction. `seq` is never reused (AUTOINCREMENT), so a
   * client resuming from a deleted alert's seq still gets every later one. A finding for a deleted
   * alert's subject raises a new alert (its fold window closed long before).
   */
  deleteBefore(cutoff: number, limit: number): number {
    const gone = this.deleteExpired.all(cutoff, limit) as Array<{ seq: number; identity: string; detector: string; subject: string }>;
    for (const { seq, identity, detector, subject } of gone) {
      this.open.deleted(foldKey(identity, detector, subject), seq);
    }
    return gone.length;
  }

  /**
   * The baseline keys of the items that `identity`'s held findings and latest 1,000 alerts name for an
   * operator to allow (`allow`, and scope_drift's `newItems`): the ones an allow most often comes from.
   */
  namedItems(identity: string): Set<string> {
    const named = new Set<string>();
    const add = (details: Record<string, unknown>) => {
      const { allow = [], newItems = [] } = details as { allow?: DimensionItem[]; newItems?: DimensionItem[] };
      for (const i of [...allow, ...newItems]) named.add(key(i.dimension, i.item));
    };
    for (const h of this.held.values()) if (h.identity === identity) add(h.finding.details);
    for (const body of this.latestOf.all(identity) as string[]) add((JSON.parse(body) as Alert).evidence);
    return named;
  }
}

function moreSevere(f: Finding, than: Severity): boolean {
  return severityRank(f.severity) > severityRank(than);
}
