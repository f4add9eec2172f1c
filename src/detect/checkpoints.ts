import type { BaselineStore } from '../../baselines/store.js';

/**
 * A checkpoint is spread over the commits of about half a checkpoint interval, at least this many
 * baselines per commit: a few milliseconds per commit, and done well before the next one is due.
 */
const MIN_SLICE = 25;

/**
 * When learned state is written: every `interval` a checkpoint round, a slice per group commit, until
 * every baseline dirty at its start is written. A round ends only when its last slice has committed:
 * one rolled back (the store refused it) is written again at the next commit, not an interval later.
 */
export class CheckpointSchedule {
  private last = 0;
  private running = false;
  /** When the commit under way writes the round's last slice: else null. */
  private endsAt: number | null = null;
  private slice = MIN_SLICE;

  constructor(
    private readonly baselines: BaselineStore,
    private readonly interval: number,
    private readonly flushInterval: number,
  ) {}

  /** Writes what is due at `now`; `final` writes everything (shutdown). Runs in the commit transaction. */
  commit(now: number, final: boolean): void {
    if (final) {
      this.baselines.checkpoint();
      this.baselines.markCleanShutdown();
      this.running = false;
      this.last = now;
      return;
    }
    if (!this.running && now - this.last >= this.interval) {
      this.running = true;
      const commitsInHalfInterval = Math.max(1, this.interval / 2 / this.flushInterval);
      this.slice = Math.max(MIN_SLICE, Math.ceil(this.baselines.beginCheckpoint() / commitsInHalfInterval));
    }
    if (this.running && this.baselines.continueCheckpoint(this.slice) === 0) this.endsAt = now;
  }

  /** The commit succeeded (`ok`) or rolled back. */
  afterCommit(ok: boolean): void {
    if (ok && this.endsAt !== null) {
      this.running = false;
      this.last = this.endsAt;
    }
    this.endsAt = null;
  }
}
