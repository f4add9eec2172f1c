/**
 * Forgets identities idle for `baselines.forgetIdleAfter` of event time: their record and baseline are
 * deleted, so a fleet of short-lived instances (one identity per pod or run) does not grow the store
 * without end. By then most of what they learned has decayed away (`halfLife`). One that comes back
 * starts again as new: judged against its peer group until it has a history of its own. Alerts about
 * it are kept.
 */
import type { Stage } from '../pipeline.js';
import type { IdentityStore } from './identities.js';

/** Looked for this often, as a share of `forgetIdleAfter` of event time (and at the first commit). */
const SCAN_SHARE = 1 / 24;
/** Identities forgotten per commit at most (each may read its baseline from SQLite). */
const PER_COMMIT = 500;

export class Retention implements Stage {
  private scannedAt = Number.NEGATIVE_INFINITY;
  private more = false;

  /** @param forget deletes what else is kept about an identity (its baseline), inside the commit. */
  constructor(
    private readonly idleAfter: number,
    private readonly identities: IdentityStore,
    private readonly forget: (identity: string) => void,
    private readonly onForgotten: (n: number) => void = () => {},
  ) {}

  process(): void {}
  finish(): void {}
  beforeCommit(): void {}
  afterCommit(): void {}

  /**
   * Runs in the group commit, after the identity records are written and before the detection engine's
   * commit, whose checkpoint writes the peer groups this changes.
   */
  commit(): void {
    const now = this.identities.newest;
    if (!this.more && !(now - this.scannedAt >= this.idleAfter * SCAN_SHARE)) return;
    this.scannedAt = now;
    const idle = this.identities.idleBefore(now - this.idleAfter, PER_COMMIT);
    for (const identity of idle) this.forget(identity);
    if (idle.length > 0) this.identities.forget(idle);
    this.more = idle.length === PER_COMMIT;
    this.onForgotten(idle.length);
  }
}
