/**
 * An identity's sensitive reads per source in the current event-time hour, and of all its sources together,
 * for scope_drift's bulk-read rule (review31 F6: 3,000 customer records read through a learned tool in one
 * hour, 250 times the identity's usual rate, raised nothing). A read is a sensitive call, and a step (a
 * tool call) counts at least one: a tool making 3,000 calls is 3,000 reads (review33 H1), a tool and its
 * one HTTP call are one. When a source's next read starts a new hour, the hour before is settled: its
 * count is learned as the source's hourly peak, or, when it raised an alert, as the source's largest raised
 * hour, which an operator may allow as its peak (review33 M3: a nightly job). A read stamped before its
 * source's current hour (a late or backdated span) counts in an hour count of its own, up to LATE_HOURS
 * back, judged but never learned: uncounted, 3,000 reads backdated an hour passed unseen (review33 L2);
 * counted in the current hour, a second replica's reads arriving hours late raised bulk reads (review36 M4).
 * Not persisted: after a restart an hour counts from then on.
 */
const HOUR_MS = 3_600_000;
/** Sources counted one by one per identity; past them, see `evict`. All of them count in ALL_SOURCES too. */
const MAX_SOURCES = 32;
/** Steps of a source remembered in an hour, for their calls: parallel tool calls interleave theirs. */
const MAX_STEPS = 64;
/** How far back (hours) a late read is still counted, in its own hour; older ones are not counted. */
const LATE_HOURS = 48;
/** Earlier hours counted per identity (sources and all of them, by hour); past it the oldest goes. */
const MAX_LATE_COUNTS = 128;
/** The source name of all an identity's sensitive reads together (review33 M1: reads spread over sources). */
export const ALL_SOURCES = '*';

interface HourCount {
  hour: number;
  count: number;
  /** This hour's latest steps and how many calls of each were counted (a step counts max(1, calls)). */
  steps: Map<string, number>;
  alerted: boolean;
}

/** A source's reads so far in the current hour (`since`: its start). */
export interface ReadCount {
  source: string;
  count: number;
  since: number;
}

/** Learns a settled hour's count: as the source's peak, or (`raised`: it raised a bulk read) as its largest raised hour. */
/** What an action that is no sensitive read counts towards bulk reads: shared, not one per action. */
export const NO_COUNTS: readonly ReadCount[] = [];

export type SettleHour = (source: string, count: number, raised: boolean) => void;

const NOT_LEARNED: SettleHour = () => {};

const newHour = (hour: number): HourCount => ({ hour, count: 0, steps: new Map(), alerted: false });

export class ReadVolume {
  private readonly bySource = new Map<string, HourCount>();
  private readonly all = newHour(-1);
  /** The hour whose reads of all sources raised an alert (-1: none yet). */
  private raisedAll = -1;
  /** Counts of earlier hours that late reads fell in, by source and hour (lateKey). */
  private readonly late = new Map<string, HourCount>();

  /**
   * Counts a read of `source` in step `step` at `time` (`isCall`: a call made inside that tool step, not
   * the step itself). Returns the source's and all sources' counts in the read's hour; empty for a read
   * more than LATE_HOURS before the source's current hour. Hours it settles go to `settle`.
   */
  count(source: string, step: string, isCall: boolean, time: number, settle: SettleHour): readonly ReadCount[] {
    const hour = Math.floor(time / HOUR_MS);
    let c = this.bySource.get(source);
    if (c === undefined) {
      if (this.bySource.size >= MAX_SOURCES) this.evict(hour, settle);
      c = newHour(hour);
      this.bySource.set(source, c);
    }
    if (hour < c.hour) return hour < c.hour - LATE_HOURS ? [] : this.countLate(source, hour, step, isCall);
    roll(source, c, hour, this.raisedAll === c.hour ? NOT_LEARNED : settle);
    add(c, step, isCall);
    const since = hour * HOUR_MS;
    const counted = { source, count: c.count, since };
    // Reads spread over sources were raised as a whole this hour: every read is that alert's now (one
    // alert, not one more per source as each reaches the bar), and no source learns this hour.
    if (this.raisedAll === hour) return [{ source: ALL_SOURCES, count: ++this.all.count, since }];
    // Past an alert on its source, a read is that alert's (folded into it), not the identity's as a whole.
    if (hour < this.all.hour || c.alerted) return [counted]; // (or another source is an hour on already)
    roll(ALL_SOURCES, this.all, hour, settle);
    add(this.all, step, isCall);
    return [counted, { source: ALL_SOURCES, count: this.all.count, since }];
  }

  /** A late read, in the counts of its own (earlier) hour: judged there, never learned. */
  private countLate(source: string, hour: number, step: string, isCall: boolean): readonly ReadCount[] {
    const since = hour * HOUR_MS;
    const c = this.lateHour(source, hour);
    add(c, step, isCall);
    const counted = { source, count: c.count, since };
    if (c.alerted) return [counted];
    const all = this.lateHour(ALL_SOURCES, hour);
    add(all, step, isCall);
    return [counted, { source: ALL_SOURCES, count: all.count, since }];
  }

  private lateHour(source: string, hour: number): HourCount {
    const key = lateKey(source, hour);
    let c = this.late.get(key);
    if (c === undefined) {
      if (this.late.size >= MAX_LATE_COUNTS) this.late.delete(this.late.keys().next().value!);
      this.late.set(key, (c = newHour(hour)));
    }
    return c;
  }

  /**
   * The hour from `since` of `source` raised an alert: it is not learned as a peak, and its reads leave the
   * count of all sources (a second alert, `bulk:*`, for the same reads would say nothing new).
   */
  alerted(source: string, since: number): void {
    const hour = Math.floor(since / HOUR_MS);
    const live = this.hourOf(source);
    const c = live !== undefined && live.hour === hour ? live : this.late.get(lateKey(source, hour));
    if (c === undefined || c.alerted) return;
    c.alerted = true;
    if (c === this.all) this.raisedAll = c.hour;
    else if (c === live && c.hour === this.all.hour) this.all.count = Math.max(0, this.all.count - c.count);
  }

  /**
   * An operator allowed the bulk read `source` raised this hour: the hour is no longer raised (it will be
   * learned as the source's peak when it ends) and later reads may raise it again only at 10 times the
   * count allowed. Returns that count (0 when the source raised nothing this hour).
   */
  allowRaised(source: string): number {
    const count = this.raisedCount(source);
    if (count > 0) {
      this.hourOf(source)!.alerted = false;
      if (source === ALL_SOURCES) this.raisedAll = -1;
    }
    return count;
  }

  /** This hour's count of `source` if it raised a bulk read, else 0. */
  raisedCount(source: string): number {
    const c = this.hourOf(source);
    return c?.alerted ? c.count : 0;
  }

  private hourOf(source: string): HourCount | undefined {
    return source === ALL_SOURCES ? this.all : this.bySource.get(source);
  }

  /**
   * Makes room for a new source: a source last read in an earlier hour goes first (its hour settled), else
   * the one read least this hour, the newest of those on a tie. Evicting the oldest let 33 sources read in
   * turn push each other out, each count starting again from 1 (review33 M1); now one slot turns over.
   */
  private evict(hour: number, settle: SettleHour): void {
    let victim: string | undefined;
    let least = Infinity;
    for (const [s, c] of this.bySource) {
      const rank = c.hour < hour ? -1 : c.count;
      if (rank < least || (rank === least && rank >= 0)) [victim, least] = [s, rank];
    }
    if (victim === undefined) return;
    roll(victim, this.bySource.get(victim)!, hour, settle);
    this.bySource.delete(victim);
  }
}

const lateKey = (source: string, hour: number): string => `${hour}\u0000${source}`;

/** Moves `c` on to `hour`, settling the hour it held (only the hour just ended: hours with no read say nothing a peak could hold). */
function roll(source: string, c: HourCount, hour: number, settle: SettleHour): void {
  if (hour <= c.hour) return;
  if (c.count > 0) settle(source, c.count, c.alerted);
  c.hour = hour;
  c.count = 0;
  c.steps.clear();
  c.alerted = false;
}

/** A step counts one read, and each of its calls past the first one more. */
function add(c: HourCount, step: string, isCall: boolean): void {
  const calls = c.steps.get(step);
  if (calls === undefined) {
    if (c.steps.size >= MAX_STEPS) c.steps.delete(c.steps.keys().next().value!);
    c.steps.set(step, isCall ? 1 : 0);
    c.count++;
  } else if (isCall) {
    c.steps.set(step, calls + 1);
    if (calls >= 1) c.count++;
  }
}
