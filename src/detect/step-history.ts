/**
 * The step history a trace keeps per task owner (steps.ts places steps in it): its records, their order,
 * the rule for a step's previous, and what trimming, a late tool and a late hop take out of it.
 */
import type { Action } from '../actions/types.js';
import type { ChainStep } from '../../detectors/types.js';
import { CLOCK_SLACK_MS } from '../actions/clock.js';
import type { Recent } from '../collections/recency.js';

/** Steps remembered per owner and trace: enough to skip a wide fan-out of parallel siblings. */
export const MAX_STEPS = 16;

/** A step as remembered: `own` turns false when a hop adopts it (`adoptCallee`), `learned` when it raised. */
export interface StepRecord extends ChainStep {
  /** The step's target (its tool's name): what a call made in it later names as `within`. */
  target: string;
  /** A call made outside any step known when it came (its tool, if it has one, exported later). */
  call: boolean;
  /** The `annotate` call that placed it: a batch's own steps follow each other as they are placed. */
  batch: number;
  /** The span it was made in (`madeInSpan`): steps made in one span may run in parallel. */
  madeIn: string;
  time: number;
  endTime: number;
  /** The first step a trimmed history kept: its previous is gone (`trim`). */
  cut?: boolean;
  /** A call made directly in a request's entry span (`Action.inEntrySpan`), until its hop takes it back. */
  entry: boolean;
}

/** A trace's step history (owner -> recent steps). */
export interface TraceEntry extends Recent {
  traceId: string;
  owners: Map<string, StepRecord[]>;
  /** Call records in its histories by the span they were made in, and how many (`takeCallsMadeIn`). */
  callsIn?: Map<string, number>;
  /** Transitions into steps trimmed from an owner's history (`trim`): owner -> the latest of each name pair. */
  cut?: Map<string, Array<[StepRecord, StepRecord]>>;
}

/** Steps (actions or records) in order of start, then end, then span id. */
export function stepOrder(x: Timed, y: Timed): number {
  return x.time - y.time || x.endTime - y.endTime || (x.spanId < y.spanId ? -1 : 1);
}

type Timed = Pick<StepRecord, 'time' | 'endTime' | 'spanId'>;

/**
 * True when `earlier` runs beside `later` as a parallel sibling (made in the same span, ending after it
 * starts): no transition of it. Millisecond-stamped starts against finer ends: an overlap within the
 * slack is rounding, not parallel.
 */
function runsBeside(earlier: StepRecord, later: StepRecord): boolean {
  return earlier.madeIn === later.madeIn && earlier.endTime > later.time + CLOCK_SLACK_MS;
}

/**
 * False for two calls each made directly in a request's entry span (`Action.inEntrySpan`): in order each
 * is in a hop into its identity, and a hop into an identity after one into the same is no transition. As a
 * chain of their own, a fetch server's calls (exported before the hops into it) had the order of its
 * requests judged: 29 false alerts in 359k actions, each callee's export first.
 */
export function chained(from: StepRecord, to: StepRecord): boolean {
  return !(from.entry && to.entry);
}

/**
 * The step before `history[h]` by the rule above: the latest earlier one not running beside it, among the
 * `MAX_STEPS` before it (all a history holds between batches; a batch's steps make it longer meanwhile).
 */
export function previousOf(history: readonly StepRecord[], h: number): StepRecord | null {
  for (let k = h - 1; k >= 0 && k >= h - MAX_STEPS; k--) if (!runsBeside(history[k], history[h])) return history[k];
  return null;
}

/** Where `record` goes in `history` (kept in step order): after every record before it. Mostly the end. */
export function placeOf(history: readonly StepRecord[], record: StepRecord): number {
  let at = history.length;
  while (at > 0 && stepOrder(history[at - 1], record) > 0) at--;
  return at;
}

/**
 * Trims `history` to its last MAX_STEPS steps. The transitions into the steps that go, and into the first
 * that stays (then marked `cut`), are kept for a hop that may adopt the history later, which judges them as
 * its caller's: else a callee that padded its chain with 16 steps before its hop came hid its start
 * (review48 H1), and the hop became the previous of the first step kept, a transition never made (M4).
 * At most MAX_STEPS, the latest of each name pair: a routine repeated for hours keeps a few.
 */
export function trim(entry: TraceEntry, owner: string, history: StepRecord[]): void {
  const gone = history.length - MAX_STEPS;
  const byName = new Map<string, [StepRecord, StepRecord]>();
  for (const pair of entry.cut?.get(owner) ?? []) byName.set(`${pair[0].name} ${pair[1].name}`, pair);
  for (let h = 1; h <= gone; h++) {
    const p = previousOf(history, h);
    // A call made in a request's entry span is in a hop, no step of the chain an adopting hop judges.
    if (p === null || p.entry || history[h].entry) continue;
    const k = `${p.name} ${history[h].name}`;
    byName.delete(k); // re-added last: the latest of a pair is kept
    byName.set(k, [p, history[h]]);
  }
  history[gone].cut = true;
  for (let h = 0; h < gone; h++) countCall(entry, history[h], -1);
  history.splice(0, gone);
  if (byName.size > 0) (entry.cut ??= new Map()).set(owner, [...byName.values()].slice(-MAX_STEPS));
}

/** A callee's step record moved onto its caller's clock by `hop`'s shift (review48 H2: else a clock behind put it first). */
export function shiftOnto(r: StepRecord, hop: Action): void {
  const shift = hop.calleeClockShiftMs ?? 0;
  r.time += shift;
  r.endTime += shift;
}

/**
 * Removes the calls recorded as steps that were made in span `spanId`; returns `zones` with theirs added.
 * The history is searched only when the trace holds such calls (`callsIn`): a batch of thousands of tool
 * steps in one trace would otherwise search it once a step (review48 L1).
 */
export function takeCallsMadeIn(entry: TraceEntry, history: StepRecord[], spanId: string, zones: readonly string[]): readonly string[] {
  if (!entry.callsIn?.has(spanId)) return zones;
  let merged = zones;
  for (let h = history.length - 1; h >= 0; h--) {
    const s = history[h];
    if (!s.call || s.madeIn !== spanId) continue;
    history.splice(h, 1);
    countCall(entry, s, -1);
    for (const z of s.zones) if (!merged.includes(z)) merged = [...merged, z];
  }
  return merged;
}

/** Counts a call record in (1) or out of (-1) the trace's histories, by the span it was made in. */
export function countCall(entry: TraceEntry, r: StepRecord, by: 1 | -1): void {
  if (!r.call) return;
  const calls = (entry.callsIn ??= new Map());
  const n = (calls.get(r.madeIn) ?? 0) + by;
  if (n > 0) calls.set(r.madeIn, n);
  else calls.delete(r.madeIn);
}

