/**
 * An identity's sensitive reads per source in the current event-time hour, for scope_drift's bulk-read
 * rule (review31 F6: 3,000 customer records read through a learned tool in one hour, 250 times the
 * identity's usual rate, raised nothing). A tool call and the calls it made are one read (one step). When
 * a source's next read starts a new hour, the hour before is settled: its count is learned as the source's
 * hourly peak, unless it raised an alert. Not persisted: after a restart an hour counts from then on.
 */
const HOUR_MS = 3_600_000;
/** Sources counted per identity; the one read longest ago goes first. */
const MAX_SOURCES = 32;

interface HourCount {
  hour: number;
  count: number;
  /** The step counted last: its other actions (the tool, its calls) are the same read. */
  lastStep: string;
  alerted: boolean;
}

/** A source's reads so far in the current hour (`since`: its start). */
export interface ReadCount {
  source: string;
  count: number;
  since: number;
}

export class ReadVolume {
  private readonly bySource = new Map<string, HourCount>();

  /**
   * Counts a read of `source` made in step `step` at `time`. Returns the hour's count so far and, when
   * `time` began a new hour, the count of the source's last hour to learn (0: none, or it raised an
   * alert). Null for a read before the source's current hour: late, not counted.
   */
  count(source: string, step: string, time: number): { now: ReadCount; settled: number } | null {
    const hour = Math.floor(time / HOUR_MS);
    let c = this.bySource.get(source);
    let settled = 0;
    if (c === undefined) {
      if (this.bySource.size >= MAX_SOURCES) this.dropOldest();
      c = { hour, count: 0, lastStep: '', alerted: false };
      this.bySource.set(source, c);
    } else if (hour < c.hour) {
      return null;
    } else if (hour > c.hour) {
      // Only the hour just ended is learned: hours with no read say nothing a peak could hold.
      settled = c.alerted ? 0 : c.count;
      Object.assign(c, { hour, count: 0, lastStep: '', alerted: false });
    }
    if (c.lastStep !== step) {
      c.count++;
      c.lastStep = step;
    }
    return { now: { source, count: c.count, since: hour * HOUR_MS }, settled };
  }

  /** The source's current hour raised an alert: it is not learned as a peak. */
  alerted(source: string): void {
    const c = this.bySource.get(source);
    if (c !== undefined) c.alerted = true;
  }

  private dropOldest(): void {
    let oldest: string | undefined;
    let hour = Infinity;
    for (const [s, c] of this.bySource) {
      if (c.hour < hour) {
        hour = c.hour;
        oldest = s;
      }
    }
    if (oldest !== undefined) this.bySource.delete(oldest);
  }
}
