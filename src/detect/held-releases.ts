/**
 * When held findings are decided (held.ts says how). By event time, as the engine judges: a hold ends once
 * event time has passed its end, in its peer group's own clock too. Serving, by the wall clock as well, so
 * an identity or a stream gone quiet still has its findings decided (AlertManager.dueHeld).
 */
import Database from 'better-sqlite3';
import type { BaselineStore } from '../../baselines/store.js';
import type { HeldFinding } from '../alerts/held-finding.js';
import type { AlertManager } from '../alerts/manager.js';
import type { Config } from '../config/schema.js';
import { decideHeld, rolloutKeys } from './held.js';
import type { BaselineLearning } from './learning.js';

/**
 * Serving, no action judged for this long: the stream has gone quiet (the end of a backfill or of a test's
 * fixture), so a hold that ended by the wall clock is decided without waiting for more event time.
 */
const QUIET_STREAM_MS = 5000;

export class HeldReleases {
  /** Wall time the last batch of actions was judged at (serving: how long the stream has been quiet). */
  private lastBatchWall = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly alerts: AlertManager,
    private readonly baselines: BaselineStore,
    private readonly learning: BaselineLearning,
    private readonly config: Config,
    private readonly wallClock: () => number,
    /** Serving: holds end by the wall clock too (`beforeCommit`). Replay must not do this. */
    private readonly live: boolean,
  ) {}

  /** A batch of actions is being judged now. */
  batchJudged(): void {
    if (this.live) this.lastBatchWall = this.wallClock();
  }

  /** Decides the holds ended by event time `now`; while the store refuses writes they stay held, for the next commit. */
  dueBy(now: number): void {
    try {
      this.release(now);
    } catch (err) {
      // The store refuses writes: held findings stay held, and the next commit tries again and fails.
      if (!(err instanceof Database.SqliteError)) throw err;
    }
  }

  /**
   * Before the group commit, outside it: what the store refused earlier is stored, and serving, holds ended
   * by the wall clock are decided. Throws (failing the commit) while the store refuses.
   */
  beforeCommit(watermark: number): void {
    this.alerts.storePending();
    if (!this.live) return;
    const now = this.wallClock();
    this.release(watermark, { now: now - this.config.time.lateness, quiet: now - this.lastBatchWall >= QUIET_STREAM_MS });
  }

  /** Ends a replay or a shutdown: held findings are decided with what is known now. */
  finish(): void {
    this.alerts.storePending();
    this.decide(this.alerts.allHeld());
  }

  /**
   * Decides the held findings due by event time `now`, after the findings the store refused earlier (so
   * seq follows the order found). Throws while the store refuses writes.
   */
  private release(now: number, wall?: { now: number; quiet: boolean }): void {
    this.alerts.storePending();
    this.decide(this.alerts.dueHeld(now, wall, this.groupTime));
  }

  /** The latest event time of a peer group's members (its holds end by it); none known (gone, or every member left), no bound. */
  private readonly groupTime = (peerGroup: string): number => {
    const seen = this.baselines.knownGroup(peerGroup)?.history.lastSeen;
    return seen === undefined || seen === Number.NEGATIVE_INFINITY ? Number.POSITIVE_INFINITY : seen;
  };

  /**
   * Ends held findings, each in a transaction of its own (AlertManager.release), as `decideHeld` says.
   * What a rollout teaches is learned only once the release is stored, so a release the store refused is
   * decided again, the same way, at the next commit.
   */
  private decide(due: HeldFinding[]): void {
    for (const h of due) {
      const b = this.baselines.identity(h.identity, h.action.peerGroup, h.action.time);
      // The group it is in now: it may have moved since the finding was held.
      const decision = decideHeld(h, this.baselines.group(b.peerGroup), this.config.detectors.scope_drift);
      this.alerts.release(h, decision.raise);
      if (decision.learn) for (const k of rolloutKeys(h.finding)) this.learning.key(b, k, h.lastEventTime);
    }
  }
}
