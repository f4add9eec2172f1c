/**
 * How one webhook endpoint's deliveries have gone: failed attempts since the last one that got through,
 * since when, and the last error — what `GET /v1/webhooks` shows and `vigil_webhook_failing_seconds`
 * measures.
 *
 * Why it warns (review24 L3): an endpoint answering 404 or 401, or whose name no longer resolves, keeps
 * every alert in the outbox "until a 2xx", for days, and the per-delivery warnings stop after an alert's
 * fifth attempt; only the outbox-wide pending gauge grew. Once it has failed for an hour it is said, again
 * at most once an hour while it goes on, and its recovery is said too.
 *
 * Kept in SQLite too (`keep`, at each change: failed attempts are spaced by the backoff), so the streak
 * goes on across restarts: a daemon restarted more often than hourly would otherwise never warn.
 */
import type { Logger } from '../log.js';

/**
 * How long an endpoint fails before a warning, and the least time between two: an hour is well past a
 * receiver's redeploy or restart, so the warning means someone must act, and once an hour cannot flood.
 */
const FAILING_WARN_EVERY_MS = 3_600_000;

/** What is kept of an endpoint's health across restarts. */
export interface HealthState {
  /** Failed attempts since the last delivery. */
  failures: number;
  /** When the first of them failed (ms); null while deliveries get through. */
  failingSince: number | null;
  /** The latest failed attempt's error, also after a recovery (then `failures` is 0). */
  lastError: { at: number; error: string } | null;
}

export class EndpointHealth implements HealthState {
  failures = 0;
  failingSince: number | null = null;
  lastError: { at: number; error: string } | null = null;
  /** When the last warning was said; not kept, so a start with a streak over an hour says it again. */
  private warnedAt: number | null = null;

  /**
   * @param pending the endpoint's deliveries waiting in the outbox, read only when a warning is due.
   * @param keep stores the state at each change.
   * @param kept the state stored before the restart.
   */
  constructor(
    private readonly endpoint: { index: number; label: string },
    private readonly logger: Logger,
    private readonly pending: () => number,
    private readonly keep: (state: HealthState) => void = () => {},
    kept?: HealthState,
  ) {
    if (kept) ({ failures: this.failures, failingSince: this.failingSince, lastError: this.lastError } = kept);
  }

  failed(now: number, error: string): void {
    this.failures++;
    this.failingSince ??= now;
    this.lastError = { at: now, error };
    this.kept();
    this.check(now);
  }

  delivered(now: number): void {
    if (this.failures === 0) return; // the usual case, every delivery: nothing changes
    if (this.warnedAt !== null && this.failingSince !== null) {
      const { label } = this.endpoint;
      this.logger.info(
        { endpoint: label, failingSince: new Date(this.failingSince).toISOString(), failures: this.failures },
        `webhook endpoint ${label} recovered: a delivery got through after ${hours(now - this.failingSince)} of failures`,
      );
    }
    this.clear();
    this.kept();
  }

  /** The endpoint answered 410 and is disabled, which is said apart: no failure streak, the reason as its last error. */
  disabled(at: number, reason: string): void {
    this.clear();
    this.lastError = { at, error: reason };
    this.kept();
  }

  private kept(): void {
    this.keep({ failures: this.failures, failingSince: this.failingSince, lastError: this.lastError });
  }

  private clear(): void {
    this.failures = 0;
    this.failingSince = null;
    this.warnedAt = null;
  }

  /**
   * Warns once the endpoint has failed for FAILING_WARN_EVERY_MS, then at most that often. Called at every
   * failed attempt and from a timer: under a `Retry-After`, attempts can be up to a day apart.
   */
  check(now: number): void {
    if (this.failingSince === null || now - this.failingSince < FAILING_WARN_EVERY_MS) return;
    if (this.warnedAt !== null && now - this.warnedAt < FAILING_WARN_EVERY_MS) return;
    this.warnedAt = now;
    const { index, label } = this.endpoint;
    const pending = this.pending();
    this.logger.warn(
      { endpoint: label, failingSince: new Date(this.failingSince).toISOString(), failures: this.failures, lastError: this.lastError?.error, pending },
      `webhook endpoint ${label} has been failing for ${hours(now - this.failingSince)} (${this.failures} attempts, the last: ${this.lastError?.error}); ` +
        `${pending} deliveries wait for it. Check the receiver, its url and its secret; once it is fixed, \`vigil webhook resume ${index}\` sends them at once`,
    );
  }

  /** How long it has been failing, in seconds; 0 while deliveries get through. */
  failingSeconds(now: number): number {
    return this.failingSince === null ? 0 : Math.max(0, (now - this.failingSince) / 1000);
  }
}

const hours = (ms: number) => `${(ms / 3_600_000).toFixed(1)} h`;
