/**
 * Turns a trace's actions into steps for transition rules. A step is a tool call, a delegation, or a call
 * made outside any tool; calls made inside a tool are not steps but give the tool the zones it reached
 * (so do calls made in a hop: those an identity makes directly in a request it serves, whose hop, borrowing
 * the request's span id, takes them back when it comes after them; two such calls are no transition).
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
import type { StepContext } from '../../detectors/types.js';
import { stepName } from '../../baselines/keys.js';
import { CLOCK_SLACK_MS } from '../actions/clock.js';
import { RecencyQueue } from '../collections/recency.js';
import {
  chained, countCall, MAX_STEPS, placeOf, previousOf, shiftOnto, stepOrder, takeCallsMadeIn, trim,
  type StepRecord, type TraceEntry,
} from './step-history.js';

const STEP_KINDS = new Set(['tool', 'delegation']);
const CALL_KINDS = new Set(['http', 'db', 'rpc', 'messaging']);
/** Traces whose step history is kept for spans arriving in later batches. */
const MAX_TRACES = 10_000;
/** Shared by every step that reached no zone (most of them): zones are only read, never changed. */
const NO_ZONES: readonly string[] = Object.freeze([]);

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
    const hopsInto = hopsByCallee(batch, indices);
    const ownerOf = (a: Action) => taskOwner(a, hopsInto);
    const steps: number[] = [];
    let earlier: StepRecord | undefined;
    for (const i of indices) {
      const a = batch[i];
      const p = byId.get(madeInSpan(a));
      const parent = p === undefined ? undefined : batch[p];
      // A model call is no step; nor is a tool's later class (the tool was a step when it came).
      if (a.kind === 'model' || a.classOnly) {
        out[i] = { name: null, zones: NO_ZONES, previous: null, owner: ownerOf(a), within: null };
      } else if (CALL_KINDS.has(a.kind) && parent && STEP_KINDS.has(parent.kind)) {
        if (a.zone) addZone(zonesOf, p!, a.zone);
        out[i] = { name: null, zones: a.zone ? [a.zone] : NO_ZONES, previous: null, owner: ownerOf(a), within: parent.target };
      } else if (CALL_KINDS.has(a.kind) && parent === undefined && (earlier = this.stepAt(traceId, madeInSpan(a))) !== undefined) {
        // A call exported after its tool (a later batch): made in that step, not a step of its own.
        out[i] = { name: null, zones: a.zone ? [a.zone] : NO_ZONES, previous: null, owner: ownerOf(a), within: earlier.target };
      } else {
        steps.push(i);
        if (a.zone) addZone(zonesOf, i, a.zone);
      }
    }
    // Sorting copies the array, and a trace's steps mostly arrive in order already (often just one).
    if (!ascending(steps, batch)) steps.sort((i, j) => stepOrder(batch[i], batch[j]));

    const entry = this.touch(traceId);
    const owners = entry.owners;

    const found: Found = { batch: this.batches, out, late: undefined, adopted: undefined, placed: undefined };
    for (const i of steps) {
      const a = batch[i];
      const owner = ownerOf(a);
      let history = owners.get(owner);
      if (!history) owners.set(owner, (history = []));
      const madeIn = madeInSpan(a);
      let zones = zonesOf.get(i) ?? NO_ZONES;
      // A hop whose callee's steps came first (review32 M3): they are its caller's now, and the steps of
      // this batch after it follow them, as in order.
      if (a.kind === 'delegation' && a.target !== owner) adoptCallee(entry, a, owner, i, found);
      // A tool or delegation exported after calls it made, which the builder emitted as steps of their own
      // when it had waited for it as long as it waits: they are its calls now, and leave the history (as
      // they would have been had they come together), a callee's made in its hop too (review46 F4). A
      // delegated agent's own tools are no calls: they stay.
      if (STEP_KINDS.has(a.kind)) zones = takeCallsMadeIn(entry, history, a.spanId, zones);
      const record: StepRecord = {
        name: stepName(a.kind, a.target), target: a.target, zones, spanId: a.spanId, access: a.access,
        call: CALL_KINDS.has(a.kind), batch: this.batches, actor: a.identity, own: owner === a.identity, learned: true,
        madeIn, time: a.time, endTime: a.endTime, entry: a.inEntrySpan === true,
      };
      // A callee's step that came without its caller, with the hop: placed on the caller's clock.
      const hop = hopOf(a, hopsInto);
      if (hop !== undefined) shiftOnto(record, hop);
      // Placed by its start, not its arrival: a tool span exported after the calls it made (they end
      // first, so a batch can hold them without it) still follows the step before it, and the steps
      // after it keep theirs.
      const at = placeOf(history, record);
      history.splice(at, 0, record);
      countCall(entry, record, 1);
      const before = previousOf(history, at);
      const previous = before !== null && chained(before, record) ? before : null;
      // The record itself is the next step's previous: records are not changed once made (but `learned`,
      // and `own` and times when a hop adopts it).
      out[i] = { name: record.name, zones: record.zones, previous, owner, within: null };
      if (history[history.length - 1] !== record) (found.late ??= new Map()).set(record, i);
      found.placed?.set(record, i);
    }
    // Once the whole batch is placed (its own later steps follow its earlier ones as ever): the transitions
    // it made between earlier steps are found, and the histories trimmed (a late step placed first in a full
    // one is judged before it goes).
    for (const [i, p, s] of found.trimmed ?? []) addTransition(out[i], p, s);
    for (const [owner, history] of owners) {
      if (found.late !== undefined || found.adopted !== undefined) findTransitions(history, found);
      if (history.length > MAX_STEPS) trim(entry, owner, history);
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
  private touch(traceId: string): TraceEntry {
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
    return e;
  }
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
  /** Transitions of adopted histories into steps they trimmed earlier (`trim`), with the hop's batch index. */
  trimmed?: Array<[number, StepRecord, StepRecord]>;
}

/**
 * The transitions of `history` that the batch made and that no step of it was judged against when
 * placed, each added to the step it is judged with:
 * - into or out of a step a hop adopted: with the hop, as the task owner's chain (review47: they were
 *   learned unjudged, and the callee's last step into the caller's next, a write, went unseen), but for
 *   a call made in a request's entry span and the first step a trimmed history kept (below);
 * - out of a late step, into a step of an earlier batch: with the late step. They were judged against the
 *   step before it when they came, so their transition from it never was. Only those starting after it
 *   ends: a step starting while it runs is made inside it (a delegated agent's) or beside it.
 */
function findTransitions(history: readonly StepRecord[], { batch, out, late, adopted, placed }: Found): void {
  for (let h = 1; h < history.length; h++) {
    const s = history[h];
    const p = previousOf(history, h);
    if (p === null || !chained(p, s)) continue;
    const hop = adopted?.get(s) ?? adopted?.get(p);
    if (hop !== undefined) {
      // The first step a trimmed history kept: its previous is gone, judged with the hop on its own (`trim`).
      // A call made in a request's entry span waits for the hop that borrows the entry's id (in order it is
      // in that hop): adopted by another hop into its identity, it is no step of the chain (an MCP server's
      // second request, adopted by its first).
      if (s.cut || p.entry || s.entry) continue;
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
 * steps its callee took in the trace become `owner`'s, merged into its history by time as if they had come
 * in order (review32 M3), and noted in `found` as the hop's (batch index `i`). They are moved onto the
 * caller's clock first: on the callee's, a clock behind put its first step before the caller's, with no
 * transition into it (review48 H2).
 */
function adoptCallee(entry: TraceEntry, hop: Action, owner: string, i: number, found: Found): void {
  const { owners } = entry;
  const callee = hop.target;
  const all = owners.get(callee);
  if (all === undefined) return;
  // Only its work within the hop's time: the rest is its own, or another hop's (review49 F2).
  const theirs: StepRecord[] = [];
  const rest: StepRecord[] = [];
  for (const r of all) (holds(hop, r.time) ? theirs : rest).push(r);
  if (theirs.length === 0) return;
  if (rest.length > 0) owners.set(callee, rest);
  else owners.delete(callee);
  // Its transitions into steps trimmed before the hop came are the owner's chain too (review48 H1).
  // Those of another hop's time stay for that hop (review50 F3).
  const cut = entry.cut?.get(callee);
  if (cut !== undefined) {
    const others: Array<[StepRecord, StepRecord]> = [];
    for (const pair of cut) if (holds(hop, pair[1].time)) (found.trimmed ??= []).push([i, ...pair]);
    else others.push(pair);
    if (others.length > 0) entry.cut!.set(callee, others);
    else entry.cut!.delete(callee);
  }
  let history = owners.get(owner);
  if (!history) owners.set(owner, (history = []));
  found.adopted ??= new Map();
  found.placed ??= new Map();
  for (const r of theirs) {
    r.own = false;
    shiftOnto(r, hop);
    history.splice(placeOf(history, r), 0, r);
    found.adopted.set(r, i);
  }
}

/**
 * The delegations of a trace's batch by callee. A callee's actions that name no caller, in the batch of a
 * hop into it, came before the builder knew the hop (a replay line each, several exports a message): those
 * within the hop's time (`hopOf`) are the hop's task owner's, as in order (review48 M2: else the caller's
 * next step followed the hop).
 */
function hopsByCallee(batch: readonly Action[], indices: readonly number[]): Map<string, Action[]> | undefined {
  let hops: Map<string, Action[]> | undefined;
  for (const i of indices) {
    const a = batch[i];
    if (a.kind !== 'delegation' || a.classOnly || a.target === a.identity) continue;
    const list = (hops ??= new Map()).get(a.target);
    if (list) list.push(a);
    else hops.set(a.target, [a]);
  }
  return hops;
}

/**
 * True when `hop`'s time holds `time` (on the callee's clock; the hop says how far that is off): the
 * callee's work then is for the hop's caller. Its work outside every hop's time is its own (another
 * client's request in the same trace: review49 F2). The hop's time is the callee's own entry span's, so a
 * callee that works after its span ends (an early response, or spans it times itself) keeps that work as
 * its own task: what that span's descendants are, not their times, would be the better rule (review50 F1).
 */
function holds(hop: Action, time: number): boolean {
  const t = time + (hop.calleeClockShiftMs ?? 0);
  return t >= hop.time - CLOCK_SLACK_MS && t <= hop.endTime + CLOCK_SLACK_MS;
}

/** The hop whose task `a` is: for an action naming no caller, a hop of the batch into its identity holding it. */
function hopOf(a: Action, hopsInto: ReadonlyMap<string, Action[]> | undefined): Action | undefined {
  return a.caller ? undefined : hopsInto?.get(a.identity)?.find((h) => holds(h, a.time));
}

/** Whose task `a` is: its caller, else the owner of the hop of the batch holding it (`hopOf`), else its own. */
function taskOwner(a: Action, hopsInto: ReadonlyMap<string, Action[]> | undefined): string {
  let at = a;
  // A -> B -> C in one batch, none naming a caller, is A's; bounded, as hops may form a cycle.
  for (let depth = 0; depth < 8; depth++) {
    if (at.caller) return at.caller;
    const hop = hopOf(at, hopsInto);
    if (hop === undefined || hop === at) break;
    at = hop;
  }
  return at.caller ?? at.identity;
}

/** Adds the transition `from -> to` to those judged with `step` (each pair of a history is visited once). */
function addTransition(step: StepContext, from: StepRecord, to: StepRecord): void {
  (step.transitions ??= []).push([from, to]);
}

/**
 * True when each step comes strictly before the next: then sorting would leave them as they are (the
 * whole array is one ascending run), so it can be skipped.
 */
function ascending(steps: readonly number[], batch: readonly Action[]): boolean {
  for (let i = 1; i < steps.length; i++) if (stepOrder(batch[steps[i - 1]], batch[steps[i]]) >= 0) return false;
  return true;
}

function addZone(zonesOf: Map<number, string[]>, step: number, zone: string): void {
  const zones = zonesOf.get(step);
  if (!zones) zonesOf.set(step, [zone]);
  else if (!zones.includes(zone)) zones.push(zone);
}
