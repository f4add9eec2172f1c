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

/**
 * The last decay factor computed, and for what. Counters updated by one action share its event time,
 * so reading them at a later action's time asks for the same factor again (about half of all calls
 * in a replay of a generated week): Math.exp was the engine's most expensive line.
 */
let lastAge = NaN;
let lastHalfLifeMs = NaN;
let lastFactor = 1;

/** The counter's value at event time `now` (never grows when `now` is earlier than its last update). */
export function valueAt(counter: Counter, now: number, halfLifeMs: number): number {
  const age = now - counter.t;
  if (age <= 0) return counter.c;
  if (age !== lastAge || halfLifeMs !== lastHalfLifeMs) {
    lastFactor = Math.exp((-age * Math.LN2) / halfLifeMs);
    lastAge = age;
    lastHalfLifeMs = halfLifeMs;
  }
  return counter.c * lastFactor;
}

/** Decayed counts of actions learned, and of failures + retries among them. */
export interface Outcome {
  actions: Counter;
  bad: Counter;
}

/** Folds one learned action (failed or retried: `bad`) into `o`, at event time `time`. */
export function bumpOutcome(o: Outcome, time: number, bad: boolean, halfLifeMs: number): void {
  o.actions.c = valueAt(o.actions, time, halfLifeMs) + 1;
  o.bad.c = valueAt(o.bad, time, halfLifeMs) + (bad ? 1 : 0);
  o.actions.t = o.bad.t = Math.max(o.actions.t, time);
}

/**
 * Takes `n` back from `counter` at event time `time` (never below 0): counts learned within the last hour or
 * so, whose decay since (0.2% over an hour at a 14-day half-life) is not worth tracking.
 */
export function takeBack(counter: Counter, time: number, n: number, halfLifeMs: number): void {
  counter.c = Math.max(0, valueAt(counter, time, halfLifeMs) - n);
  if (time > counter.t) counter.t = time;
}
