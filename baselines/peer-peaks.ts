/**
 * A peer group's busiest hour of sensitive reads per source: the largest peak its mature members learned,
 * decayed. A new member is judged against it until it has peaks of its own (review33 M2: a newcomer's
 * unjudged first hours became its peaks, so it could read in bulk from its first action and after).
 */
import { valueAt, type Counter } from './decay.js';

/** Sources kept per group; past it, the smallest peak makes room (a group reads few sensitive sources). */
const MAX_SOURCES = 1024;

export class PeerReadPeaks {
  private readonly bySource = new Map<string, Counter>();

  /** The group's peak for `source` at `now` (0: none learned). */
  value(source: string, now: number, halfLifeMs: number): number {
    const c = this.bySource.get(source);
    return c === undefined ? 0 : valueAt(c, now, halfLifeMs);
  }

  /** A mature member's peak for `source` is now `peak`: the group's is the larger of the two. */
  learn(source: string, peak: number, time: number, halfLifeMs: number): void {
    const c = this.bySource.get(source);
    if (c !== undefined) {
      c.c = Math.max(valueAt(c, time, halfLifeMs), peak);
      if (time > c.t) c.t = time;
      return;
    }
    if (this.bySource.size >= MAX_SOURCES) this.dropSmallest(time, halfLifeMs);
    this.bySource.set(source, { c: peak, t: time, f: time });
  }

  toJSON(): Record<string, Counter> {
    return Object.fromEntries(this.bySource);
  }

  restore(stored: Record<string, Counter> | undefined): void {
    for (const [source, c] of Object.entries(stored ?? {})) this.bySource.set(source, { ...c });
  }

  private dropSmallest(time: number, halfLifeMs: number): void {
    let smallest: string | undefined;
    let least = Infinity;
    for (const [s, c] of this.bySource) {
      const v = valueAt(c, time, halfLifeMs);
      if (v < least) [smallest, least] = [s, v];
    }
    if (smallest !== undefined) this.bySource.delete(smallest);
  }
}
