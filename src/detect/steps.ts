/**
 * Turns a trace's actions into steps for transition rules. A step is a tool call, a delegation, or a call
 * made outside any tool; calls made inside a tool are not steps but give the tool the zones it reached.
 * Steps of delegated identities join their caller's sequence (CONTRACT §3.1: the callee's actions in the
 * trace count as delegated). Parallel calls of one step (CONTRACT §3.1: made in the same span, each
 * starting before the other ends, by more than the clock slack) are no transition of each other: their
 * order is an accident of scheduling (a LangGraph ToolNode or the AI SDK running two tools at once). A
 * step's previous is the latest earlier step (by start, whatever order they were exported in) that is
 * not such a sibling. Transitions between steps of earlier batches that a step makes are judged with it
 * (`StepContext.transitions`): a step placed before them is the previous of some now, and a delegation
 * whose callee's steps came first merges them into its caller's history. This is the only place the rule
 * lives: it spans batches (a late export continues its trace's steps), which a builder-side grouping of
 * one settled part could not.
 */
import { madeInSpan, madeInTrace, type Action } from '../actions/types.js';
import type { ChainStep, StepContext } from '../../detectors/types.js';
import { stepName } from '../../baselines/keys.js';
import { CLOCK_SLACK_MS } from '../actions/clock.js';
import { RecencyQueue, type Recent } from '../collections/recency.js';

const STEP_KINDS = new Set(['tool', 'delegation']);
const CALL_KINDS = new Set(['http', 'db', 'rpc', 'messaging']);
/** Steps remembered per owner and trace: enough to skip a wide fan-out of parallel siblings. */
const MAX_STEPS = 16;
/** Traces whose step history is kept for spans arriving in later batches. */
const MAX_TRACES = 10_000;
/** Shared by every step that reached no zone (most of them): zones are only read, never changed. */
const NO_ZONES: readonly string[] = Object.freeze([]);

/** A step as remembered: `own` turns false when a hop adopts it (`adoptCallee`), `learned` when it raised. */
interface StepRecord extends ChainStep {
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
}

/** A trace's step history (owner -> recent steps). */
interface TraceEntry extends Recent {
  traceId: string;
  owners: Map<string, StepRecord[]>;
}

export class TraceSteps {
  /** traceId -> its history; the least recently seen trace is dropped first (`order`, recency.ts says why not the Map's order). */
  private readonly traces = new Map<string, TraceEntry>();
  private readonly order = new RecencyQueue<TraceEntry>();
  private batches = 0;

  /**
   * Step context for every action of the batch, at the action's index (actions of one trace are
   * contiguous or not: both work). An array rather than a Map keyed by action: no hashing of action
   * objects, one allocation per batch.
   */
  annotate(actions: readonly Action[]): StepContext[] {
    this.batches++;
    const out = new Array<StepContext>(actions.length);
    const byTrace = new Map<string, number[]>();
    for (let i = 0; i < actions.length; i++) {
      const a = actions[i];
      const traceId = madeInTrace(a);
      const list = byTrace.get(traceId);
      if (list) list.push(i);
      else byTrace.set(traceId, [i]);
    }
    for (const [traceId, list] of byTrace) this.annotateTrace(traceId, actions, list, out);
    return out;
  }

  /** Annotates the actions of one trace: `batch[i]` for each `i` of `indices`, written to `out[i]`. */
  private annotateTrace(traceId: string, batch: readonly Action[], indices: number[], out: StepContext[]): void {
    // Zones a step reached, by batch index (its own zone, then its calls'); most steps reach none.
    const zonesOf = new Map<number, string[]>();
    const byId = new Map<string, number>();
    for (const i of indices) if (!batch[i].classOnly) byId.set(batch[i].spanId, i);
    const steps: number[] = [];
    let earlier: StepRecord | undefined;
    for (const i of indices) {
      const a = batch[i];
      const p = byId.get(madeInSpan(a));
      const parent = p === undefined ? undefined : batch[p];
      // A model call is no step; nor is a tool's later class (the tool was a step when it came).
      if (a.kind === 'model' || a.classOnly) {
        out[i] = { name: null, zones: NO_ZONES, previous: null, owner: a.caller ?? a.identity, within: null };
      } else if (CALL_KINDS.has(a.kind) && parent && STEP_KINDS.has(parent.kind)) {
        if (a.zone) addZone(zonesOf, p!, a.zone);
        out[i] = { name: null, zones: a.zone ? [a.zone] : NO_ZONES, previous: null, owner: a.caller ?? a.identity, within: parent.target };
      } else if (CALL_KINDS.has(a.kind) && parent === undefined && (earlier = this.stepAt(traceId, madeInSpan(a))) !== undefined) {
        // A call exported after its tool (a later batch): made in that step, not a step of its own.
        out[i] = { name: null, zones: a.zone ? [a.zone] : NO_ZONES, previous: null, owner: a.caller ?? a.identity, within: earlier.target };
      } else {
        steps.push(i);
        if (a.zone) addZone(zonesOf, i, a.zone);
      }
    }
    // Sorting copies the array, and a trace's steps mostly arrive in order already (often just one).
    if (!ascending(steps, batch)) steps.sort((i, j) => stepOrder(batch[i], batch[j]));

    const owners = this.touch(traceId);

    const found: Found = { batch: this.batches, out, late: undefined, adopted: undefined, placed: undefined };
    // Delegations of this batch: batch index, callee, caller.
    let hops: Array<[number, string, string]> | undefined;
    for (const i of steps) {
      const a = batch[i];
      const owner = a.caller ?? a.identity;
      let history = owners.get(owner);
      if (!history) owners.set(owner, (history = []));
      const madeIn = madeInSpan(a);
      let zones = zonesOf.get(i) ?? NO_ZONES;
      // A hop whose callee's steps came first (review32 M3): they are its caller's now, and the steps of
      // this batch after it follow them, as in order.
      if (a.kind === 'delegation' && a.target !== owner) {
        adoptCallee(owners, a.target, owner, i, found);
        (hops ??= []).push([i, a.target, owner]);
      }
      // A tool or delegation exported after calls it made, which the builder emitted as steps of their own
      // when it had waited for it as long as it waits: they are its calls now, and leave the history (as
      // they would have been had they come together), a callee's made in its hop too (review46 F4). A
      // delegated agent's own tools are no calls: they stay.
      if (STEP_KINDS.has(a.kind)) zones = takeCallsMadeIn(history, a.spanId, zones);
      const record: StepRecord = {
        name: stepName(a.kind, a.target), target: a.target, zones, spanId: a.spanId, access: a.access,
        call: CALL_KINDS.has(a.kind), batch: this.batches, actor: a.identity, own: owner === a.identity, learned: true,
        madeIn, time: a.time, endTime: a.endTime,
      };
      // Placed by its start, not its arrival: a tool span exported after the calls it made (they end
      // first, so a batch can hold them without it) still follows the step before it, and the steps
      // after it keep theirs.
      const at = placeOf(history, record);
      history.splice(at, 0, record);
      const previous = previousOf(history, at);
      // The record itself is the next step's previous: records are not changed once made (but `learned`
      // and `own`).
      out[i] = { name: record.name, zones: record.zones, previous, owner, within: null };
      if (history[history.length - 1] !== record) (found.late ??= new Map()).set(record, i);
      found.placed?.set(record, i);
    }
    // Once the whole batch is placed (its own later steps follow its earlier ones as ever): a callee's
    // steps of this batch that came without their caller join the hop's caller too. Then the transitions
    // the batch made between earlier steps are found, and the histories trimmed (a late step placed first
    // in a full one is judged before it goes).
    for (const [i, callee, owner] of hops ?? []) adoptCallee(owners, callee, owner, i, found);
    for (const history of owners.values()) {
      if (found.late !== undefined || found.adopted !== undefined) findTransitions(history, found);
      if (history.length > MAX_STEPS) history.splice(0, history.length - MAX_STEPS);
    }
  }

  /**
   * Step `a` raised a finding, so nothing of it was learned: a transition into it that a late step finds
   * later (`StepContext.transitions`) is not learned either, as it would not have been in order (review47 F2).
   */
  notLearned(a: Action): void {
    const owners = this.traces.get(madeInTrace(a))?.owners;
    if (owners !== undefined) for (const history of owners.values()) for (const s of history) if (s.spanId === a.spanId) s.learned = false;
  }

  /** The step recorded at `spanId` in the trace's remembered history, if any. */
  private stepAt(traceId: string, spanId: string): StepRecord | undefined {
    const owners = this.traces.get(traceId)?.owners;
    if (owners === undefined) return undefined;
    for (const history of owners.values()) for (const s of history) if (s.spanId === spanId) return s;
    return undefined;
  }

  /** The trace's history, now the most recently seen (new when unknown: the oldest past MAX_TRACES goes). */
  private touch(traceId: string): Map<string, StepRecord[]> {
    let e = this.traces.get(traceId);
    if (!e) {
      e = { traceId, owners: new Map(), seq: 0, live: true };
      this.traces.set(traceId, e);
      if (this.traces.size > MAX_TRACES) {
        const drop = this.order.oldest()!;
        drop.live = false;
        this.traces.delete(drop.traceId);
      }
    }
    this.order.touch(e);
    this.order.maintain(this.traces.size);
    return e.owners;
  }
}

/** Steps (actions or records) in order of start, then end, then span id. */
function stepOrder(x: Timed, y: Timed): number {
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
 * The step before `history[h]` by the rule above: the latest earlier one not running beside it, among the
 * `MAX_STEPS` before it (all a history holds between batches; a batch's steps make it longer meanwhile).
 */
function previousOf(history: readonly StepRecord[], h: number): StepRecord | null {
  for (let k = h - 1; k >= 0 && k >= h - MAX_STEPS; k--) if (!runsBeside(history[k], history[h])) return history[k];
  return null;
}

/** What placing a batch's steps in a trace changed, for `findTransitions` (record -> its batch index). */
interface Found {
  batch: number;
  out: StepContext[];
  /** This batch's steps placed before steps of earlier batches (rare: most are placed last). */
  late: Map<StepRecord, number> | undefined;
  /** Steps a hop of this batch adopted -> the hop's. */
  adopted: Map<StepRecord, number> | undefined;
  /** This batch's steps placed after the first adoption (their previous was found in the merged history). */
  placed: Map<StepRecord, number> | undefined;
}

/**
 * The transitions of `history` that the batch made and that no step of it was judged against when
 * placed, each added to the step it is judged with:
 * - into or out of a step a hop adopted: with the hop, as the task owner's chain (review47: they were
 *   learned unjudged, and the callee's last step into the caller's next, a write, went unseen), but for
 *   calls made outside any step;
 * - out of a late step, into a step of an earlier batch: with the late step. They were judged against the
 *   step before it when they came, so their transition from it never was. Only those starting after it
 *   ends: a step starting while it runs is made inside it (a delegated agent's) or beside it.
 */
function findTransitions(history: readonly StepRecord[], { batch, out, late, adopted, placed }: Found): void {
  for (let h = 1; h < history.length; h++) {
    const s = history[h];
    const p = previousOf(history, h);
    if (p === null) continue;
    const hop = adopted?.get(s) ?? adopted?.get(p);
    if (hop !== undefined) {
      // A call made outside any step known when it came most likely waits for its step, exported later,
      // which takes it back (`takeCallsMadeIn`): a transition of it is not the chain's yet, and neither
      // judged nor learned (the call of an MCP server's second request, adopted by its first).
      if (p.call || s.call) continue;
      const at = placed?.get(s);
      if (at === undefined || out[at].previous !== p) addTransition(out[hop], p, s);
      continue;
    }
    const i = late?.get(p);
    if (i !== undefined && s.batch !== batch && s.time >= p.endTime - CLOCK_SLACK_MS) addTransition(out[i], p, s);
  }
}

/**
 * A hop found after its callee's steps (their spans came first, so they were the callee's own task): the
 * steps `callee` took in the trace become `owner`'s, merged into its history by time as if they had come
 * in order (review32 M3), and noted in `found` as the hop's (batch index `hop`).
 */
function adoptCallee(owners: Map<string, StepRecord[]>, callee: string, owner: string, hop: number, found: Found): void {
  const theirs = owners.get(callee);
  if (theirs === undefined) return;
  owners.delete(callee);
  let history = owners.get(owner);
  if (!history) owners.set(owner, (history = []));
  found.adopted ??= new Map();
  found.placed ??= new Map();
  for (const r of theirs) {
    r.own = false;
    history.splice(placeOf(history, r), 0, r);
    found.adopted.set(r, hop);
  }
}

/** Adds the transition `from -> to` to those judged with `step` (each pair of a history is visited once). */
function addTransition(step: StepContext, from: StepRecord, to: StepRecord): void {
  (step.transitions ??= []).push([from, to]);
}

/** Where `record` goes in `history` (kept in step order): after every record before it. Mostly the end. */
function placeOf(history: readonly StepRecord[], record: StepRecord): number {
  let at = history.length;
  while (at > 0 && stepOrder(history[at - 1], record) > 0) at--;
  return at;
}

/**
 * True when each step comes strictly before the next: then sorting would leave them as they are (the
 * whole array is one ascending run), so it can be skipped.
 */
function ascending(steps: readonly number[], batch: readonly Action[]): boolean {
  for (let i = 1; i < steps.length; i++) if (stepOrder(batch[steps[i - 1]], batch[steps[i]]) >= 0) return false;
  return true;
}

/** Removes the calls recorded as steps that were made in span `spanId`; returns `zones` with theirs added. */
function takeCallsMadeIn(history: StepRecord[], spanId: string, zones: readonly string[]): readonly string[] {
  let merged = zones;
  for (let h = history.length - 1; h >= 0; h--) {
    const s = history[h];
    if (!s.call || s.madeIn !== spanId) continue;
    history.splice(h, 1);
    for (const z of s.zones) if (!merged.includes(z)) merged = [...merged, z];
  }
  return merged;
}

function addZone(zonesOf: Map<number, string[]>, step: number, zone: string): void {
  const zones = zonesOf.get(step);
  if (!zones) zonesOf.set(step, [zone]);
  else if (!zones.includes(zone)) zones.push(zone);
}
