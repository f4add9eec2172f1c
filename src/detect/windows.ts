/**
 * Short-lived, per-identity event-time state the detectors need beyond the baseline: the retry window
 * (failures and retries in the last few minutes, in buckets) and recent sensitive reads. Not persisted:
 * after a restart both refill within one window.
 */
import type { OutcomeWindow, SensitiveRead } from '../../detectors/types.js';

const BUCKETS = 5;
/** Sensitive reads remembered per identity; older ones fall out first. */
const MAX_READS = 32;
/** The window's failures per subject when it has none (never written to: OutcomeWindow's map is read-only). */
const NO_SUBJECTS = new Map<string, number>();

interface Bucket {
  start: number;
  actions: number;
  bad: number;
  bySubject: Map<string, number>;
}

/** Failures + retries in a sliding window made of BUCKETS buckets (coarse, O(1) memory per identity). */
export class RetryWindow {
  private readonly buckets: Bucket[] = [];
  constructor(private readonly windowMs: number) {}

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
    b.actions++;
    if (bad) {
      b.bad++;
      b.bySubject.set(subject, (b.bySubject.get(subject) ?? 0) + 1);
    }
    const horizon = time - this.windowMs;
    while (this.buckets.length > 0 && this.buckets[0].start + width <= horizon) this.buckets.shift();
    return this.snapshot();
  }

  private snapshot(): OutcomeWindow {
    let actions = 0;
    let bad = 0;
    for (const b of this.buckets) {
      actions += b.actions;
      bad += b.bad;
    }
    // Most windows hold no failure: they share one empty map instead of allocating one per action.
    const badBySubject = bad === 0 ? NO_SUBJECTS : new Map<string, number>();
    if (bad > 0) {
      for (const b of this.buckets) for (const [s, n] of b.bySubject) badBySubject.set(s, (badBySubject.get(s) ?? 0) + n);
    }
    return { actions, bad, badBySubject, since: this.buckets[0]?.start ?? 0 };
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
