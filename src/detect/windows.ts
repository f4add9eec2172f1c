/**
 * Short-lived, per-identity event-time state the detectors need beyond the baseline: the retry window
 * (failures and retries in the last few minutes, in buckets) and recent sensitive reads. Not persisted:
 * after a restart both refill within one window.
 */
import type { OutcomeWindow, SensitiveRead } from '../../detectors/types.js';

const BUCKETS = 5;
/** Sensitive reads remembered per identity; older ones fall out first. */
const MAX_READS = 32;

interface Bucket {
  start: number;
  actions: number;
  bad: number;
  bySubject: Map<string, number>;
}

/**
 * An OutcomeWindow summed over buckets, computed when read: only retry_storm reads it, on failed or
 * retried actions, and nothing is added to it while detectors run. (A snapshot object per action was a
 * tenth of the engine's allocation.)
 */
abstract class BucketWindow implements OutcomeWindow {
  /** The buckets the window counts now. */
  protected abstract counted(): Iterable<Bucket>;
  abstract readonly since: number;

  get actions(): number {
    let n = 0;
    for (const b of this.counted()) n += b.actions;
    return n;
  }

  get bad(): number {
    let n = 0;
    for (const b of this.counted()) n += b.bad;
    return n;
  }

  get badBySubject(): ReadonlyMap<string, number> {
    const bySubject = new Map<string, number>();
    for (const b of this.counted()) for (const [s, n] of b.bySubject) bySubject.set(s, (bySubject.get(s) ?? 0) + n);
    return bySubject;
  }
}

/** Counts one action into its bucket. */
function count(b: Bucket, bad: boolean, subject: string): void {
  b.actions++;
  if (bad) {
    b.bad++;
    b.bySubject.set(subject, (b.bySubject.get(subject) ?? 0) + 1);
  }
}

/**
 * Failures + retries in a sliding window made of BUCKETS buckets (coarse, O(1) memory per identity).
 * It is itself the OutcomeWindow the detectors read.
 */
export class RetryWindow extends BucketWindow {
  private readonly buckets: Bucket[] = [];
  constructor(private readonly windowMs: number) {
    super();
  }

  protected counted(): Iterable<Bucket> {
    return this.buckets;
  }

  add(time: number, bad: boolean, subject: string): OutcomeWindow {
    const width = this.windowMs / BUCKETS;
    const start = Math.floor(time / width) * width;
    // A loop rather than `find`: no closure per action.
    let b: Bucket | undefined;
    for (const x of this.buckets) {
      if (x.start === start) {
        b = x;
        break;
      }
    }
    if (!b) {
      b = { start, actions: 0, bad: 0, bySubject: new Map() };
      // Kept in order of start by inserting in place (nearly always at the end): no sort, which
      // copied the array for every new bucket.
      let at = this.buckets.length;
      while (at > 0 && this.buckets[at - 1].start > start) at--;
      if (at === this.buckets.length) this.buckets.push(b);
      else this.buckets.splice(at, 0, b);
    }
    count(b, bad, subject);
    const horizon = time - this.windowMs;
    while (this.buckets.length > 0 && this.buckets[0].start + width <= horizon) this.buckets.shift();
    return this;
  }

  get since(): number {
    return this.buckets[0]?.start ?? 0;
  }
}

/** Buckets a late-action window keeps (a day of 1-minute buckets at the default 5-minute window). */
const LATE_BUCKETS = 1440;

/**
 * The retry window of an identity's late actions (behind it by more than `time.lateness`), in their own
 * event time. They arrive in any order, so no action's time moves the window: each counts into the
 * buckets around its own time, and the oldest buckets go only past LATE_BUCKETS (a sliding window
 * following the last late action let an attacker flush a backdated storm with one later late call
 * between its failures).
 */
export class LateRetryWindow extends BucketWindow {
  /** By bucket number (event time / bucket width): whole numbers, whatever the width. */
  private readonly buckets = new Map<number, Bucket>();
  /** The bucket of the latest action added: the window ends there. */
  private at = 0;
  constructor(private readonly windowMs: number) {
    super();
  }

  add(time: number, bad: boolean, subject: string): OutcomeWindow {
    const width = this.windowMs / BUCKETS;
    const n = Math.floor(time / width);
    let b = this.buckets.get(n);
    if (!b) {
      b = { start: n * width, actions: 0, bad: 0, bySubject: new Map() };
      this.buckets.set(n, b);
      if (this.buckets.size > LATE_BUCKETS) this.buckets.delete(Math.min(...this.buckets.keys()));
    }
    count(b, bad, subject);
    this.at = n;
    return this;
  }

  /** The buckets of the window that ends with the latest action's, oldest first. */
  protected *counted(): Generator<Bucket> {
    for (let n = this.at - BUCKETS + 1; n <= this.at; n++) {
      const b = this.buckets.get(n);
      if (b) yield b;
    }
  }

  get since(): number {
    for (const b of this.counted()) return b.start;
    return this.at * (this.windowMs / BUCKETS);
  }
}

/** Recent sensitive reads of one identity (the trace owner), within the lateral window. */
export class SensitiveReads {
  private readonly reads: SensitiveRead[] = [];
  constructor(private readonly windowMs: number) {}

  add(read: SensitiveRead): void {
    this.reads.push(read);
    if (this.reads.length > MAX_READS) this.reads.shift();
  }

  /** Reads within the window before `time`. */
  recent(time: number): SensitiveRead[] {
    const from = time - this.windowMs;
    return this.reads.filter((r) => r.time >= from && r.time <= time);
  }
}
