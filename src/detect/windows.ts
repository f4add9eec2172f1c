/**
 * Short-lived, per-identity event-time state the detectors need beyond the baseline: the retry windows
 * (failures and retries in the last few minutes, and in the last hour, in buckets) and recent sensitive
 * reads. Not persisted: after a restart they refill within one window.
 */
import type { OutcomeWindow, SensitiveRead, SubjectOutcome } from '../../detectors/types.js';

const BUCKETS = 5;
/**
 * Subjects a bucket counts one by one; the actions of any more count only towards the whole. Bounds
 * the memory of an identity spraying targets (which scope_drift sees anyway).
 */
const MAX_SUBJECTS = 64;
const NO_OUTCOME: SubjectOutcome = Object.freeze({ actions: 0, bad: 0 });
/** Sensitive reads remembered per identity; older ones fall out first. */
const MAX_READS = 32;

interface Bucket {
  start: number;
  actions: number;
  bad: number;
  bySubject: Map<string, { actions: number; bad: number }>;
}

/**
 * An OutcomeWindow summed over buckets, computed when read: only retry_storm reads it, on failed or
 * retried actions, and nothing is added to it while detectors run. (A snapshot object per action was a
 * tenth of the engine's allocation.)
 */
abstract class BucketWindow implements OutcomeWindow {
  constructor(readonly length: number) {}
  /** The buckets the window counts now. */
  protected abstract counted(): Iterable<Bucket>;
  abstract readonly since: number;
  abstract add(time: number, bad: boolean, subject: string): OutcomeWindow;
  /** The bucket holding `time`, if the window still has it. */
  protected abstract bucketAt(time: number): Bucket | undefined;

  /** Takes back a failure or retry `add` counted (its action and subject stay counted). */
  unmarkBad(time: number, subject: string): void {
    const b = this.bucketAt(time);
    const o = b?.bySubject.get(subject);
    if (b === undefined || b.bad === 0) return;
    b.bad--;
    if (o !== undefined && o.bad > 0) o.bad--;
  }

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
    for (const b of this.counted()) for (const [s, o] of b.bySubject) if (o.bad > 0) bySubject.set(s, (bySubject.get(s) ?? 0) + o.bad);
    return bySubject;
  }

  subject(s: string): SubjectOutcome {
    let actions = 0;
    let bad = 0;
    for (const b of this.counted()) {
      const o = b.bySubject.get(s);
      if (o !== undefined) {
        actions += o.actions;
        bad += o.bad;
      }
    }
    return actions === 0 ? NO_OUTCOME : { actions, bad };
  }
}

/** Counts one action into its bucket. */
function count(b: Bucket, bad: boolean, subject: string): void {
  b.actions++;
  if (bad) b.bad++;
  let o = b.bySubject.get(subject);
  if (o === undefined) {
    if (b.bySubject.size >= MAX_SUBJECTS) return;
    b.bySubject.set(subject, (o = { actions: 0, bad: 0 }));
  }
  o.actions++;
  if (bad) o.bad++;
}

/**
 * Failures + retries in a sliding window made of BUCKETS buckets (coarse, O(1) memory per identity).
 * It is itself the OutcomeWindow the detectors read.
 */
export class RetryWindow extends BucketWindow {
  private readonly buckets: Bucket[] = [];

  protected counted(): Iterable<Bucket> {
    return this.buckets;
  }

  add(time: number, bad: boolean, subject: string): OutcomeWindow {
    const width = this.length / BUCKETS;
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
    const horizon = time - this.length;
    while (this.buckets.length > 0 && this.buckets[0].start + width <= horizon) this.buckets.shift();
    return this;
  }

  protected bucketAt(time: number): Bucket | undefined {
    const start = Math.floor(time / (this.length / BUCKETS)) * (this.length / BUCKETS);
    for (const b of this.buckets) if (b.start === start) return b;
    return undefined;
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

  add(time: number, bad: boolean, subject: string): OutcomeWindow {
    const width = this.length / BUCKETS;
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

  protected bucketAt(time: number): Bucket | undefined {
    return this.buckets.get(Math.floor(time / (this.length / BUCKETS)));
  }

  get since(): number {
    for (const b of this.counted()) return b.start;
    return this.at * (this.length / BUCKETS);
  }
}

/**
 * An identity's retry windows, fed together: the short one (`retry_storm.window`) and the sustained one
 * (`sustainedWindow`), where a loop too slow to fill the short one still adds up (CONTRACT §4: "a quiet
 * identity's small sustained loop can be a storm"). Late actions have a pair of their own (LateRetryWindow).
 */
export class RetryWindows {
  readonly short: OutcomeWindow & BucketWindow;
  readonly sustained: OutcomeWindow & BucketWindow;

  constructor(shortMs: number, sustainedMs: number, late: boolean) {
    this.short = late ? new LateRetryWindow(shortMs) : new RetryWindow(shortMs);
    this.sustained = late ? new LateRetryWindow(sustainedMs) : new RetryWindow(sustainedMs);
  }

  add(time: number, bad: boolean, subject: string): this {
    this.short.add(time, bad, subject);
    this.sustained.add(time, bad, subject);
    return this;
  }

  /**
   * A failure that raised a storm is that storm's evidence: it leaves the sustained window, so the tail of
   * a storm already raised does not make a "slow loop" of its own once its suppression window has passed.
   */
  raisedStorm(time: number, subject: string): void {
    this.sustained.unmarkBad(time, subject);
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

/** Identities whose short-lived windows are kept; the least recently active are dropped first. */
const MAX_WINDOWS = 50_000;

/** One identity's windows. */
export class Windows {
  private late: RetryWindows | null = null;
  readonly retry: RetryWindows;
  readonly reads: SensitiveReads;

  constructor(
    private readonly retrySettings: { window: number; sustainedWindow: number },
    readsMs: number,
    /** IdentityWindows' count of lookups when this one last moved to the back of its order. */
    public touched: number,
  ) {
    this.retry = new RetryWindows(retrySettings.window, retrySettings.sustainedWindow, false);
    this.reads = new SensitiveReads(readsMs);
  }

  /**
   * Late actions' own retry windows, in their event time (made at the identity's first late action): theirs
   * has left the live one, and a storm backdated past time.lateness would otherwise go unjudged and teach
   * its failures as usual. (Counted at the identity's current time instead, a backfill's held calls,
   * released together, made storms of their own.)
   */
  lateRetry(): RetryWindows {
    return (this.late ??= new RetryWindows(this.retrySettings.window, this.retrySettings.sustainedWindow, true));
  }
}

/** The windows of the most recently active identities (MAX_WINDOWS of them). */
export class IdentityWindows {
  private readonly byIdentity = new Map<string, Windows>();
  private touches = 0;

  constructor(
    private readonly retrySettings: { window: number; sustainedWindow: number },
    private readonly readsMs: number,
  ) {}

  of(identity: string): Windows {
    let w = this.byIdentity.get(identity);
    if (w) {
      // Map order is the eviction order; re-inserting on every action costs a hole per delete, so an
      // entry only moves to the back when it has not moved for a while.
      if (this.touches - w.touched > MAX_WINDOWS / 4) {
        this.byIdentity.delete(identity);
        this.byIdentity.set(identity, w);
        w.touched = this.touches;
      }
    } else {
      w = new Windows(this.retrySettings, this.readsMs, this.touches);
      if (this.byIdentity.size >= MAX_WINDOWS) this.byIdentity.delete(this.byIdentity.keys().next().value!);
      this.byIdentity.set(identity, w);
    }
    this.touches++;
    return w;
  }

  delete(identity: string): void {
    this.byIdentity.delete(identity);
  }
}
