/**
 * Which stored alert a finding folds into (CONTRACT §5: one alert per identity, detector and subject per
 * suppression window): the subject's open alert, the newest in event time, when its window holds the
 * finding; else, for a finding dated before it (a backfill, a drained Collector queue), the earlier alert
 * whose window holds it (review42 M3); else none, and the finding is an alert of its own (review40 L1).
 * Cached, so repeats fold into one object that the group commit writes.
 */
import type { Db } from '../store/database.js';
import { Lru } from '../collections/lru.js';
import type { Alert } from './alert.js';

/** Open alerts kept in memory (one per subject); the rest are read back from the store when needed. */
const MAX_OPEN = 50_000;
/** Earlier alerts kept for late repeats of their incident (a backfill folds into a few at a time). */
const MAX_EARLIER = 1_000;

type StoredAlert = { seq: number; body: string };

export class OpenAlerts {
  private readonly open = new Lru<Alert>(MAX_OPEN);
  /** Earlier alerts late findings folded into, by seq. */
  private readonly earlier = new Lru<Alert>(MAX_EARLIER);
  /**
   * Alerts folded into since the last commit, by seq: read back from here, never from the store, until
   * the commit writes them. A cache that dropped one meanwhile read a stale copy, and the next fold's
   * write lost the first's count (review43 M1: 158 of 1,100 backfilled alerts one short).
   */
  private readonly unwritten = new Map<number, Alert>();
  private readonly latest;
  private readonly around;

  constructor(db: Db, private readonly windowMs: number) {
    // The newest in event time: an alert raised later for an older finding (a backfill) is not the open one.
    this.latest = db.prepare('SELECT seq, body FROM alerts WHERE identity = ? AND detector = ? AND subject = ? ORDER BY event_time DESC, seq DESC LIMIT 1');
    this.around = db.prepare(
      'SELECT seq, body FROM alerts WHERE identity = ? AND detector = ? AND subject = ? AND event_time > ? AND event_time < ? ORDER BY event_time DESC LIMIT 1',
    );
  }

  /** The alert under fold key `k` (of `identity`, `detector`, `subject`) whose window holds `time`, if any. */
  find(k: string, identity: string, detector: string, subject: string, time: number): Alert | undefined {
    let alert = this.open.get(k);
    if (!alert) {
      const row = this.latest.get(identity, detector, subject) as StoredAlert | undefined;
      if (!row) return undefined;
      this.open.set(k, (alert = this.unwritten.get(row.seq) ?? (JSON.parse(row.body) as Alert)));
    }
    const at = Date.parse(alert.eventTime);
    if (time < at + this.windowMs && time > at - this.windowMs) return alert;
    if (time >= at) return undefined;
    const row = this.around.get(identity, detector, subject, time - this.windowMs, time + this.windowMs) as StoredAlert | undefined;
    if (!row) return undefined;
    let earlier = this.earlier.get(String(row.seq));
    if (!earlier) this.earlier.set(String(row.seq), (earlier = this.unwritten.get(row.seq) ?? (JSON.parse(row.body) as Alert)));
    return earlier;
  }

  /** `alert` was folded into: its count waits for the next commit. */
  folded(alert: Alert): void {
    this.unwritten.set(alert.seq, alert);
  }

  /** The alerts folded into since the last commit: what the group commit writes. */
  unwrittenAlerts(): Iterable<Alert> {
    return this.unwritten.values();
  }

  /** The commit wrote every folded alert. */
  written(): void {
    this.unwritten.clear();
  }

  /**
   * A new alert under `k` was stored. The newest in event time is the open one: an alert for an older
   * finding (`find` has cached the newer) leaves the newer open.
   */
  raised(k: string, alert: Alert): void {
    const open = this.open.get(k);
    if (open === undefined || Date.parse(alert.eventTime) >= Date.parse(open.eventTime)) this.open.set(k, alert);
    else this.earlier.set(String(alert.seq), alert);
  }

  /** Retention deleted alert `seq` under `k`: it is no longer cached, nor written. */
  deleted(k: string, seq: number): void {
    this.unwritten.delete(seq);
    if (this.open.get(k)?.seq === seq) this.open.delete(k);
    this.earlier.delete(String(seq));
  }
}
