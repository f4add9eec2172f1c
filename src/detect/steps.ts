/**
 * Turns a trace's actions into steps for transition rules. A step is a tool call, a delegation, or a call
 * made outside any tool; calls made inside a tool are not steps but give the tool the zones it reached.
 * Steps of delegated identities join their caller's sequence (CONTRACT §3.1: the callee's actions in the
 * trace count as delegated). Parallel calls of one step (same parent, overlapping) are no transition of
 * each other: a step's previous is the latest earlier step that is not such a sibling.
 */
import type { Action } from '../actions/types.js';
import type { StepContext } from '../../detectors/types.js';
import { stepName } from '../../baselines/keys.js';

const STEP_KINDS = new Set(['tool', 'delegation']);
const CALL_KINDS = new Set(['http', 'db', 'rpc', 'messaging']);
/** Steps remembered per owner and trace: enough to skip a wide fan-out of parallel siblings. */
const MAX_STEPS = 16;
/** Traces whose step history is kept for spans arriving in later batches. */
const MAX_TRACES = 10_000;
/** Shared by every step that reached no zone (most of them): zones are only read, never changed. */
const NO_ZONES: readonly string[] = Object.freeze([]);

interface StepRecord {
  name: string;
  zones: readonly string[];
  spanId: string;
  parentSpanId: string;
  time: number;
  endTime: number;
}

export class TraceSteps {
  /** traceId -> owner -> recent steps (insertion order = LRU of traces). */
  private readonly traces = new Map<string, Map<string, StepRecord[]>>();

  /** Step context for every action of the batch (actions of one trace are contiguous or not: both work). */
  annotate(actions: readonly Action[]): Map<Action, StepContext> {
    const out = new Map<Action, StepContext>();
    const byTrace = new Map<string, Action[]>();
    for (const a of actions) {
      // A call context repair attributed to a tool in another trace belongs to that tool's trace.
      const traceId = a.attributedTo?.traceId ?? a.traceId;
      let list = byTrace.get(traceId);
      if (!list) byTrace.set(traceId, (list = []));
      list.push(a);
    }
    for (const [traceId, list] of byTrace) this.annotateTrace(traceId, list, out);
    return out;
  }

  private annotateTrace(traceId: string, actions: Action[], out: Map<Action, StepContext>): void {
    // Built with a loop: `new Map(actions.map(...))` allocates a pair array per action.
    const byId = new Map<string, Action>();
    for (const a of actions) byId.set(a.spanId, a);
    const zonesOf = new Map<Action, string[]>();
    const steps: Action[] = [];
    for (const a of actions) {
      const parent = byId.get(a.attributedTo?.spanId ?? a.parentSpanId);
      if (a.kind === 'model') {
        out.set(a, { name: null, zones: NO_ZONES, previous: null, owner: a.caller ?? a.identity, within: null });
      } else if (CALL_KINDS.has(a.kind) && parent && STEP_KINDS.has(parent.kind)) {
        if (a.zone) addZone(zonesOf, parent, a.zone);
        out.set(a, { name: null, zones: a.zone ? [a.zone] : NO_ZONES, previous: null, owner: a.caller ?? a.identity, within: parent.target });
      } else {
        steps.push(a);
        if (a.zone) addZone(zonesOf, a, a.zone);
      }
    }
    steps.sort((x, y) => x.time - y.time || x.endTime - y.endTime || (x.spanId < y.spanId ? -1 : 1));

    let owners = this.traces.get(traceId);
    if (owners) this.traces.delete(traceId);
    else owners = new Map();
    this.traces.set(traceId, owners);
    if (this.traces.size > MAX_TRACES) this.traces.delete(this.traces.keys().next().value!);

    for (const a of steps) {
      const owner = a.caller ?? a.identity;
      let history = owners.get(owner);
      if (!history) owners.set(owner, (history = []));
      const record: StepRecord = { name: stepName(a.kind, a.target), zones: zonesOf.get(a) ?? NO_ZONES, spanId: a.spanId, parentSpanId: a.parentSpanId, time: a.time, endTime: a.endTime };
      let previous: StepRecord | undefined;
      for (let i = history.length - 1; i >= 0; i--) {
        const s = history[i];
        const parallelSibling = s.parentSpanId === a.parentSpanId && s.endTime > a.time;
        if (!parallelSibling) {
          previous = s;
          break;
        }
      }
      history.push(record);
      if (history.length > MAX_STEPS) history.shift();
      out.set(a, { name: record.name, zones: record.zones, previous: previous ? { name: previous.name, zones: previous.zones, spanId: previous.spanId } : null, owner, within: null });
    }
  }
}

function addZone(zonesOf: Map<Action, string[]>, a: Action, zone: string): void {
  const zones = zonesOf.get(a);
  if (!zones) zonesOf.set(a, [zone]);
  else if (!zones.includes(zone)) zones.push(zone);
}
