/**
 * What the store keeps, it keeps for a while, in event time:
 * - identities idle for `baselines.forgetIdleAfter` are forgotten: their record and baseline are deleted,
 *   so a fleet of short-lived instances (one identity per pod or run) does not grow the store without
 *   end. By then most of what they learned has decayed away (`halfLife`). One that comes back starts
 *   again as new: judged against its peer group until it has a history of its own. Alerts about it are
 *   kept;
 * - over `baselines.maxIdentities` identities, the least recently active are forgotten likewise, so a
 *   fleet that gives every run its own identity (thousands a day) cannot fill the disk in 90 days;
 * - alerts are deleted `alerts.retention` after their event, or after they were raised if that was later
 *   (a backdated span's alert), so the SOC never loses an alert it has just been shown (the SIEM the
 *   webhooks feed keeps the longer record). A webhook delivery still owed goes with its alert (a trigger);
 * - revocation records, the audit trail of what was done, are kept as long once settled (pending ones
 *   until they are): their last change is wall time, which event time follows while serving.
 */
import type { AlertManager } from '../alerts/manager.js';
import type { Stage } from '../stage.js';
import type { IdentityStore } from './identities.js';

/** Each kind is looked for this often, as a share of its retention of event time (and at the first commit). */
const SCAN_SHARE = 1 / 24;
/** Identities forgotten, or alerts deleted, per commit at most (an identity may read its baseline from SQLite). */
const PER_COMMIT = 500;

/**
 * Retention's clock: the newest event time seen, but never past the wall clock as it read at start,
 * carried forward by the monotonic clock (plus `time.maxFutureSkew`, as far ahead as a span may start).
 * A host clock stepped forward for a moment (a bad NTP source, a restored VM snapshot) let one span
 * stamped by it move the newest event time a year on: the next sweep deleted the alerts just raised and
 * forgot every baseline, and did again at every restart, as the newest event time is reloaded from the
 * store (review35 H1). The monotonic clock does not step; the wall clock at start is trusted.
 */
export function retentionClock(identities: IdentityStore, maxFutureSkew: number, wallAtStart = Date.now()): () => number {
  const monotonicAtStart = performance.now();
  return () => Math.min(identities.newest, wallAtStart + (performance.now() - monotonicAtStart) + maxFutureSkew);
}

export interface RetentionOptions {
  identities: IdentityStore;
  /** Retention's "now" (retentionClock). */
  now(): number;
  forgetIdleAfter: number;
  maxIdentities: number;
  /** Deletes what else is kept about an identity (its baseline), inside the commit. */
  forget(identity: string): void;
  alerts: AlertManager;
  alertRetention: number;
  /** Deletes settled revocations last changed before a cutoff (`settledRevocationsSweep`). */
  settledRevocations(cutoff: number, limit: number): number;
  /** Counts what went, per commit (metrics). */
  onForgotten?(identities: number): void;
  onAlertsDeleted?(alerts: number): void;
}

/**
 * One kind of expiry: scanned every SCAN_SHARE of its retention, and at the next commit while more is
 * left. A scan counts (and is not due again) only once its commit succeeds: a failed one rolled the
 * deletions back, and the next commit tries again.
 */
class Sweep {
  private scannedAt = Number.NEGATIVE_INFINITY;
  private more = false;
  private pending: { at: number; n: number } | null = null;

  /** @param expire deletes up to PER_COMMIT items older than its cutoff; returns how many. */
  constructor(
    private readonly retention: number,
    private readonly expire: (cutoff: number, limit: number) => number,
    private readonly onExpired: (n: number) => void = () => {},
  ) {}

  run(now: number): void {
    if (!this.more && !(now - this.scannedAt >= this.retention * SCAN_SHARE)) return;
    this.pending = { at: now, n: this.expire(now - this.retention, PER_COMMIT) };
  }

  afterCommit(ok: boolean): void {
    if (ok && this.pending) {
      this.scannedAt = this.pending.at;
      this.more = this.pending.n === PER_COMMIT;
      this.onExpired(this.pending.n);
    }
    this.pending = null;
  }
}

/**
 * Over `max` identities, the least recently active are forgotten, PER_COMMIT per commit, down to 90% of
 * the bound (so the trim runs now and then, not at every new identity). Counted once committed.
 */
class IdentityCap {
  private trimming = false;
  private pending: number | null = null;

  constructor(
    private readonly max: number,
    private readonly identities: IdentityStore,
    private readonly forgetOldest: (limit: number) => number,
    private readonly onForgotten: (n: number) => void = () => {},
  ) {}

  private get keep(): number {
    return Math.max(1, Math.floor(this.max * 0.9));
  }

  run(): void {
    const size = this.identities.size;
    if (!(size > this.max || (this.trimming && size > this.keep))) return;
    this.pending = this.forgetOldest(Math.min(PER_COMMIT, size - this.keep));
  }

  afterCommit(ok: boolean): void {
    if (ok && this.pending !== null) {
      this.trimming = this.identities.size > this.keep;
      this.onForgotten(this.pending);
    }
    this.pending = null;
  }
}

export class Retention implements Stage {
  private readonly sweeps: Sweep[];
  private readonly cap: IdentityCap;

  constructor(private readonly o: RetentionOptions) {
    const forgetIdle = (cutoff: number, limit: number) => {
      const idle = o.identities.idleBefore(cutoff, limit);
      for (const identity of idle) o.forget(identity);
      if (idle.length > 0) o.identities.forget(idle);
      return idle.length;
    };
    this.sweeps = [
      new Sweep(o.forgetIdleAfter, forgetIdle, o.onForgotten),
      new Sweep(o.alertRetention, (cutoff, limit) => o.alerts.deleteBefore(cutoff, limit), o.onAlertsDeleted),
      new Sweep(o.alertRetention, o.settledRevocations),
    ];
    this.cap = new IdentityCap(o.maxIdentities, o.identities, (limit) => forgetIdle(Number.POSITIVE_INFINITY, limit), o.onForgotten);
  }

  process(): void {}
  finish(): void {}
  beforeCommit(): void {}

  afterCommit(ok: boolean): void {
    for (const sweep of this.sweeps) sweep.afterCommit(ok);
    this.cap.afterCommit(ok);
  }

  /**
   * Runs in the group commit, after the identity records are written and before the detection engine's
   * commit, whose checkpoint writes the peer groups this changes. In event time (retentionClock).
   */
  commit(): void {
    const now = this.o.now();
    for (const sweep of this.sweeps) sweep.run(now);
    this.cap.run();
  }
}
