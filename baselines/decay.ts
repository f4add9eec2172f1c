/**
 * Exponentially decayed counters in event time: old behaviour fades with a configurable half-life, so an
 * identity's baseline follows how it behaves now rather than forever. Decay is applied lazily, when a
 * counter is read or bumped, so idle identities cost nothing.
 */

/** A decayed count: value `c` as of event time `t`, first seen at `f`. */
export interface Counter {
  c: number;
  t: number;
  f: number;
}

/** The counter's value at event time `now` (never grows when `now` is earlier than its last update). */
export function valueAt(counter: Counter, now: number, halfLifeMs: number): number {
  const age = now - counter.t;
  return age <= 0 ? counter.c : counter.c * Math.exp((-age * Math.LN2) / halfLifeMs);
}
