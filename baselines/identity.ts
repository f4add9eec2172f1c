/**
 * One identity's baseline: decayed counts of what it uses (tools, targets, hosts, zones, scopes, delegated
 * agents, access class per subject, tool-to-tool transitions, sensitive flows), its outcome rates
 * (actions, failures + retries) and its activity by hour of the week (what `baseline show` says of when
 * it works). Serialised whole to SQLite.
 */
import { bumpOutcome, takeBack, valueAt, type Counter, type Outcome } from './decay.js';
import { failuresKey } from './keys.js';

const FAILURES_PREFIX = failuresKey('');

const HOURS_PER_WEEK = 168;
const HOUR_MS = 3_600_000;
/** What `learn` returns when nothing is new (nearly always): one shared, frozen empty array. */
const NONE: readonly string[] = Object.freeze([]);

export interface BaselineSettings {
  halfLifeMs: number;
  minActions: number;
  minAgeMs: number;
  /** A counter decayed below this is treated as forgotten. */
  forgetBelow: number;
  /** How far one action dated before the first seen may move it back (`time.lateness`; none: any). */
  firstSeenBackMs?: number;
}

/**
 * First seen after an action at `time`: a late action moves it back by at most `backMs`, so one span
 * dated days back (a buffered exporter, a backdated span) does not give a new identity, or a new group,
 * days of history and make it mature at once (review40 M2). A backfill in reverse order still walks it back.
 */
export function firstSeenAfter(first: number, time: number, backMs = Number.POSITIVE_INFINITY): number {
  if (!(time < first)) return first;
  return first === Number.POSITIVE_INFINITY ? time : Math.max(time, first - backMs);
}

const DAY_MS = 86_400_000;
/** The largest |time| a Date can hold; beyond it getUTCDay() is NaN. */
const MAX_DATE_MS = 8.64e15;

/**
 * Hour of the week (0 = Monday 00:00 UTC … 167), for day/night and weekday/weekend awareness.
 * The weekday is computed as Date does it (days since the epoch, a Thursday; the time truncated to
 * whole ms) rather than by making a Date per learned action.
 */
export function hourOfWeek(time: number): number {
  if (!(Math.abs(time) <= MAX_DATE_MS)) return NaN;
  const daysSinceEpoch = Math.floor(Math.trunc(time) / DAY_MS);
  const day = (((daysSinceEpoch + 3) % 7) + 7) % 7; // Monday = 0
  return day * 24 + Math.floor((((time % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS); // a time before 1970 too
}

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/**
 * When an identity works, from its hour-of-week profile: the share (%) of its learned actions on each
 * weekday and in each hour of the day, UTC (`baseline show`: "weekdays, 08:00-18:00").
 */
export function activityUtc(hours: Float64Array): { byWeekday: Record<string, number>; byHour: number[] } {
  const total = hours.reduce((a, b) => a + b, 0);
  const pct = (n: number) => (total > 0 ? Math.round((1000 * n) / total) / 10 : 0);
  const byHour = new Array<number>(24).fill(0);
  const byDay = new Array<number>(7).fill(0);
  hours.forEach((n, h) => {
    byDay[Math.floor(h / 24)] += n;
    byHour[h % 24] += n;
  });
  return { byWeekday: Object.fromEntries(WEEKDAYS.map((d, i) => [d, pct(byDay[i])])), byHour: byHour.map(pct) };
}

/**
 * A v: 1 body from before failures were counted per subject: it learned failures (its decayed count is
 * not nil) yet holds no per-subject failure counter. (Later v: 1 bodies, which did count them, hold one
 * for each subject that failed.)
 */
function countedAsAWhole(o: { outcome: Outcome; counters: Array<[string, ...number[]]> }): boolean {
  return o.outcome.bad.c > 0 && !o.counters.some(([k]) => k.startsWith(FAILURES_PREFIX));
}

export class IdentityBaseline {
  /** Actions seen (judged or not), raw. */
  actions = 0;
  /** Decayed counts: actions learned, and failures + retries among them. */
  readonly outcome: Outcome;
  readonly counters = new Map<string, Counter>();
  /** Actions learned per hour of the week (raw; a profile, so only proportions matter). */
  readonly hours = new Float64Array(HOURS_PER_WEEK);
  dirty = false;
  /** Latest event time of an action naming `peerGroup` (BaselineStore.joinGroup, peer-move.ts). */
  ownGroupSeen = Number.NEGATIVE_INFINITY;
  /** Another group named by its actions since then: their first and last event time, and how many. */
  groupCandidate: { name: string; first: number; last: number; actions: number } | null = null;
  /**
   * Event time since which its failures are counted per subject (`failuresKey`): always, for a baseline
   * this version started; from its first load, for one stored by a version that counted them for the
   * identity as a whole only (body `v: 1`). Until its earlier uses have decayed (see view.ts), such a
   * baseline's subjects read as never failing, so retry_storm judges the identity as a whole (review26 H1).
   */
  subjectFailuresFrom = Number.NEGATIVE_INFINITY;

  constructor(
    readonly identity: string,
    public peerGroup: string,
    public firstSeen: number,
    public lastSeen: number,
  ) {
    this.outcome = { actions: { c: 0, t: firstSeen, f: firstSeen }, bad: { c: 0, t: firstSeen, f: firstSeen } };
  }

  /** Old enough and busy enough to be judged against itself (CONTRACT §4: ≤ 48 h and ≤ 300 actions). */
  isMature(s: BaselineSettings): boolean {
    return this.actions >= s.minActions && this.lastSeen - this.firstSeen >= s.minAgeMs;
  }

  /** Notes that an action happened (judged or not): keeps first/last seen and the raw count. */
  observe(time: number, firstSeenBackMs?: number): void {
    this.actions++;
    if (time > this.lastSeen) this.lastSeen = time;
    this.firstSeen = firstSeenAfter(this.firstSeen, time, firstSeenBackMs);
    this.dirty = true;
  }

  /**
   * Folds items (keys from keys.ts) into the baseline. Returns the keys new to it (usually none: the
   * shared empty array then, so the common case allocates nothing).
   */
  learn(keys: readonly string[], time: number, s: BaselineSettings): readonly string[] {
    let created: string[] | null = null;
    for (const k of keys) if (this.learnOne(k, time, s)) (created ??= []).push(k);
    this.dirty = true;
    return created ?? NONE;
  }

  /**
   * Folds one item into the baseline. True when it has no counter yet: its peer group counts the
   * identities holding a counter for each item (a forgotten one, used again, is not counted twice).
   */
  learnOne(k: string, time: number, s: BaselineSettings): boolean {
    this.dirty = true;
    const c = this.counters.get(k);
    if (!c) {
      this.counters.set(k, { c: 1, t: time, f: time });
      return true;
    }
    c.c = valueAt(c, time, s.halfLifeMs) + 1;
    if (time > c.t) c.t = time;
    return false;
  }

  /**
   * Folds a settled hour's count of `k` (`peakKey`) into its peak: the larger of the peak decayed to `time`
   * and `count`, rising at most `maxRise`-fold an hour once there is one, so a bulk read ramped up hour by
   * hour takes many hours to become usual rather than two. (`raisedBulkKey` and an operator's allow keep
   * the largest count whole: `maxRise` Infinity.)
   */
  learnPeak(k: string, count: number, time: number, s: BaselineSettings, maxRise = 2): void {
    this.dirty = true;
    const c = this.counters.get(k);
    if (!c) {
      this.counters.set(k, { c: count, t: time, f: time });
      return;
    }
    const peak = valueAt(c, time, s.halfLifeMs);
    c.c = Math.max(peak, Math.min(count, maxRise * peak));
    if (time > c.t) c.t = time;
  }

  /**
   * Drops the counters forgotten by `time` (decayed below `forgetBelow`): they read as 0 already, and a
   * baseline that kept them would grow with every item ever used (an agent browsing many hosts).
   * Returns their keys, so the peer group stops counting this identity among their users.
   */
  prune(time: number, s: BaselineSettings): string[] {
    // A counter is at least 1 when last bumped, so only one idle for log2(1 / forgetBelow) half-lives
    // (4.3 for 0.05) can have decayed that far: most are skipped unread.
    const idleBefore = time - Math.log2(1 / s.forgetBelow) * s.halfLifeMs;
    let gone: string[] | null = null;
    for (const [k, c] of this.counters) {
      if (c.t < idleBefore && valueAt(c, time, s.halfLifeMs) < s.forgetBelow) {
        this.counters.delete(k);
        (gone ??= []).push(k);
      }
    }
    if (gone !== null) this.dirty = true;
    return gone ?? (NONE as string[]);
  }

  /** Folds an action's outcome (failed or retried, or not) into the usual rates and the weekly profile. */
  learnOutcome(time: number, bad: boolean, s: BaselineSettings): void {
    this.hours[hourOfWeek(time)]++;
    bumpOutcome(this.outcome, time, bad, s.halfLifeMs);
  }

  /**
   * Takes back failures + retries learned shortly before `time` (a storm's, once raised): `all` from the
   * outcome, and each subject's from its failures counter.
   */
  takeBackFailures(time: number, all: number, bySubject: ReadonlyMap<string, number>, s: BaselineSettings): void {
    takeBack(this.outcome.bad, time, all, s.halfLifeMs);
    for (const [subject, n] of bySubject) {
      const c = this.counters.get(failuresKey(subject));
      if (c) takeBack(c, time, n, s.halfLifeMs);
    }
    this.dirty = true;
  }

  /** The decayed count of `k` at `time` (0 when unknown or forgotten). */
  count(k: string, time: number, s: BaselineSettings): number {
    const c = this.counters.get(k);
    if (!c) return 0;
    const v = valueAt(c, time, s.halfLifeMs);
    return v < s.forgetBelow ? 0 : v;
  }

  toJSON(): unknown {
    return {
      v: 2,
      peerGroup: this.peerGroup,
      firstSeen: this.firstSeen,
      lastSeen: this.lastSeen,
      actions: this.actions,
      outcome: this.outcome,
      hours: Array.from(this.hours),
      counters: Array.from(this.counters, ([k, c]) => [k, c.c, c.t, c.f]),
      // A move's evidence is kept, so a restart or an eviction does not start its streak again.
      ownGroupSeen: Number.isFinite(this.ownGroupSeen) ? this.ownGroupSeen : null,
      groupCandidate: this.groupCandidate,
      subjectFailuresFrom: Number.isFinite(this.subjectFailuresFrom) ? this.subjectFailuresFrom : null,
    };
  }

  static fromJSON(identity: string, raw: ReturnType<IdentityBaseline['toJSON']>): IdentityBaseline {
    const o = raw as {
      v?: number; subjectFailuresFrom?: number | null; // v: 1 did not count failures per subject
      peerGroup: string; firstSeen: number; lastSeen: number; actions: number;
      outcome: Outcome; hours: number[]; counters: Array<[string, number, number, number]>;
      ownGroupSeen?: number | null; groupCandidate?: IdentityBaseline['groupCandidate']; // absent before 2026-11
    };
    const b = new IdentityBaseline(identity, o.peerGroup, o.firstSeen, o.lastSeen);
    b.actions = o.actions;
    Object.assign(b.outcome.actions, o.outcome.actions);
    Object.assign(b.outcome.bad, o.outcome.bad);
    b.hours.set(o.hours.slice(0, HOURS_PER_WEEK));
    for (const [k, c, t, f] of o.counters) b.counters.set(k, { c, t, f });
    if (typeof o.ownGroupSeen === 'number') b.ownGroupSeen = o.ownGroupSeen;
    b.groupCandidate = o.groupCandidate ?? null;
    if (typeof o.subjectFailuresFrom === 'number') b.subjectFailuresFrom = o.subjectFailuresFrom;
    else if ((o.v ?? 1) < 2 && countedAsAWhole(o)) b.subjectFailuresFrom = o.lastSeen;
    return b;
  }
}
