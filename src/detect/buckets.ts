/**
 * The buckets retry windows are made of: a slice of event time with its actions, and its failures and
 * retries, per subject, and the window summed over them (windows.ts).
 */
import type { OutcomeWindow, StormRun, SubjectOutcome } from '../../detectors/types.js';

/** Failures + retries taken back from a baseline: how many in all, and how many on each subject. */
export interface LearnedFailures {
  all: number;
  bySubject: ReadonlyMap<string, number>;
}

/** Buckets a window is made of. */
export const BUCKETS = 5;
/**
 * Subjects a bucket counts one by one; the actions of any more count only towards the whole. Bounds
 * the memory of an identity spraying targets (which scope_drift sees anyway).
 */
const MAX_SUBJECTS = 64;
const NO_OUTCOME: SubjectOutcome = Object.freeze({ actions: 0, bad: 0 });

/**
 * A copy of `a` with `xs` at its end, sized exactly: push reserves 16 more slots (~130 bytes; these arrays
 * are per bucket, across 50,000 identities), and concat cost ~150 ns a call (a tenth of the engine).
 */
export function appended<T>(a: readonly T[], ...xs: T[]): T[] {
  const b = new Array<T>(a.length + xs.length);
  for (let i = 0; i < a.length; i++) b[i] = a[i];
  for (let i = 0; i < xs.length; i++) b[a.length + i] = xs[i];
  return b;
}

/** Subjects whose runs of storms a window follows; the one first noted goes first. */
const MAX_STORM_RUNS = 16;

/** Subjects a bucket finds by scanning; past this many, by a Map of their places. */
const FEW_SUBJECTS = 8;

/**
 * One slice of a window, with its actions and failures + retries per subject in plain arrays: most
 * buckets hold a few subjects, and a Map per bucket with an object per subject cost ~40 MB more across
 * 50,000 identities' windows (the memory benchmark). A busy bucket (an agent calling many targets within
 * a 12-minute bucket of the sustained window) gets a Map of their places.
 */
export class Bucket {
  actions = 0;
  bad = 0;
  /** Its actions that were not learned (they raised an alert): few, so made only for the first. */
  private unlearned: { actions: number; bad: number; bySubject: Map<string, [number, number]> } | null = null;
  /** Its subjects, and their [actions, bad] pairs at 2 × their place; copied larger while few, sized exactly. */
  private names: string[] = [];
  private counts: number[] = [];
  private index: Map<string, number> | null = null;

  constructor(readonly start: number) {}

  /** Counts one action; past `maxSubjects` subjects, a new one counts only towards the whole. */
  count(bad: boolean, subject: string, maxSubjects = MAX_SUBJECTS): void {
    this.actions++;
    if (bad) this.bad++;
    let i = this.indexOf(subject);
    if (i < 0) {
      i = this.names.length;
      if (i >= maxSubjects) return;
      if (this.index === null) {
        this.names = appended(this.names, subject);
        this.counts = appended(this.counts, 0, 0);
        if (i + 1 > FEW_SUBJECTS) this.index = new Map(this.names.map((n, j) => [n, j]));
      } else {
        this.names.push(subject);
        this.counts.push(0, 0);
        this.index.set(subject, i);
      }
    }
    this.counts[2 * i]++;
    if (bad) this.counts[2 * i + 1]++;
  }

  /** Takes back a failure or retry `count` counted (its action stays counted). */
  unmarkBad(subject: string): void {
    if (this.bad === 0) return;
    this.bad--;
    const i = this.indexOf(subject);
    if (i >= 0 && this.counts[2 * i + 1] > 0) this.counts[2 * i + 1]--;
  }

  /** Marks one action `count` counted as not learned. */
  markUnlearned(bad: boolean, subject: string): void {
    const u = (this.unlearned ??= { actions: 0, bad: 0, bySubject: new Map() });
    u.actions++;
    if (bad) u.bad++;
    const c = u.bySubject.get(subject) ?? [0, 0];
    c[0]++;
    if (bad) c[1]++;
    u.bySubject.set(subject, c);
  }

  /**
   * Marks the failures + retries still counted as learned as not learned (their actions stay learned) and
   * adds them to `into`, per subject; returns how many there were in all (subjects past the bucket's
   * first ones count only there). `only`: those of that subject alone. `also`: a bucket of another window
   * holding the same actions, marked the same way.
   */
  forgetLearnedBad(into: Map<string, number>, only: string | null, also?: Bucket): number {
    const all = this.bad - (this.unlearned?.bad ?? 0);
    if (all <= 0) return 0;
    let taken = 0;
    for (const s of this.names) {
      if (only !== null && s !== only) continue;
      const learned = this.forgetLearnedBadOf(s, Infinity);
      if (learned === 0) continue;
      into.set(s, (into.get(s) ?? 0) + learned);
      also?.forgetLearnedBadOf(s, learned);
      taken += learned;
    }
    if (only !== null) return taken;
    (this.unlearned ??= { actions: 0, bad: 0, bySubject: new Map() }).bad = this.bad;
    return all;
  }

  /** Marks up to `n` of `subject`'s failures + retries still counted as learned as not learned; returns how many. */
  forgetLearnedBadOf(subject: string, n: number): number {
    const i = this.indexOf(subject);
    if (i < 0) return 0;
    const c = this.unlearned?.bySubject.get(subject) ?? [0, 0];
    const k = Math.min(n, this.counts[2 * i + 1] - c[1]);
    if (k <= 0) return 0;
    const u = (this.unlearned ??= { actions: 0, bad: 0, bySubject: new Map() });
    c[1] += k;
    u.bySubject.set(subject, c);
    u.bad += k;
    return k;
  }

  /** Adds the subject's actions and failures + retries to `into` ([actions, bad]); `learned`: only those learned. */
  addSubject(subject: string, into: [number, number], learned = false): void {
    const i = this.indexOf(subject);
    if (i >= 0) {
      into[0] += this.counts[2 * i];
      into[1] += this.counts[2 * i + 1];
    }
    const u = learned ? this.unlearned?.bySubject.get(subject) : undefined;
    if (u !== undefined) {
      into[0] -= u[0];
      into[1] -= u[1];
    }
  }

  /** Adds the learned part of the bucket's actions and failures + retries to `into`. */
  addLearned(into: [number, number]): void {
    into[0] += this.actions - (this.unlearned?.actions ?? 0);
    into[1] += this.bad - (this.unlearned?.bad ?? 0);
  }

  /** Adds each subject's actions and failures + retries to `into`. */
  addSubjects(into: Map<string, { actions: number; bad: number }>): void {
    this.names.forEach((s, i) => {
      const sum = into.get(s) ?? { actions: 0, bad: 0 };
      sum.actions += this.counts[2 * i];
      sum.bad += this.counts[2 * i + 1];
      into.set(s, sum);
    });
  }

  private indexOf(subject: string): number {
    if (this.index !== null) return this.index.get(subject) ?? -1;
    const names = this.names;
    for (let i = 0; i < names.length; i++) if (names[i] === subject) return i;
    return -1;
  }
}

/**
 * An OutcomeWindow summed over buckets, computed when read: only retry_storm reads it, on failed or
 * retried actions, and nothing is added to it while detectors run. (A snapshot object per action was a
 * tenth of the engine's allocation.)
 */
export abstract class BucketWindow implements OutcomeWindow {
  constructor(readonly length: number) {}
  /** The buckets the window counts now. */
  protected abstract counted(): Iterable<Bucket>;
  abstract readonly since: number;
  abstract add(time: number, bad: boolean, subject: string): OutcomeWindow;
  /** The bucket holding `time`, if the window still has it. */
  protected abstract bucketAt(time: number): Bucket | undefined;

  /** Takes back a failure or retry `add` counted (its action and subject stay counted). */
  unmarkBad(time: number, subject: string): void {
    this.bucketAt(time)?.unmarkBad(subject);
  }

  /** Marks an action `add` counted as not learned. */
  unlearned(time: number, bad: boolean, subject: string): void {
    this.bucketAt(time)?.markUnlearned(bad, subject);
  }

  /** Runs of storms raised, per finding subject, with the latest storm's time. */
  private storms: Map<string, StormRun & { last: number }> | null = null;

  /** A storm was raised on `subject` at `time`: `run` is the subject's run with it (retry_storm decides whether it begins a new one). */
  noteStorm(subject: string, time: number, run: StormRun): void {
    const storms = (this.storms ??= new Map());
    const had = storms.get(subject);
    if (had === undefined && storms.size >= MAX_STORM_RUNS) storms.delete(storms.keys().next().value!);
    // Late windows see storms out of order: a run continued keeps its latest time.
    storms.set(subject, { ...run, last: had?.since === run.since ? Math.max(had.last, time) : time });
  }

  stormRun(subject: string, now: number): StormRun | null {
    const run = this.storms?.get(subject);
    return run !== undefined && now - run.last <= 2 * this.length ? run : null;
  }

  /**
   * Marks the window's learned failures + retries as not learned, or only `subject`'s; returns them, as a
   * whole and per subject. `also`: a window that counts these actions too (in buckets of the same times), marked the same way.
   */
  forgetLearnedBad(subject: string | null = null, also?: BucketWindow): LearnedFailures {
    const bySubject = new Map<string, number>();
    let all = 0;
    for (const b of this.counted()) all += b.forgetLearnedBad(bySubject, subject, also?.bucketAt(b.start));
    return { all, bySubject };
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

  get bySubject(): ReadonlyMap<string, SubjectOutcome> {
    const sums = new Map<string, { actions: number; bad: number }>();
    for (const b of this.counted()) b.addSubjects(sums);
    return sums;
  }

  subject(s: string, learned = false): SubjectOutcome {
    const sum: [number, number] = [0, 0];
    for (const b of this.counted()) b.addSubject(s, sum, learned);
    return sum[0] === 0 ? NO_OUTCOME : { actions: sum[0], bad: sum[1] };
  }

  get learned(): SubjectOutcome {
    const sum: [number, number] = [0, 0];
    for (const b of this.counted()) b.addLearned(sum);
    return { actions: sum[0], bad: sum[1] };
  }

  learnedOn(s: string): SubjectOutcome {
    return this.subject(s, true);
  }
}
