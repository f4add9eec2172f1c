/**
 * lateral_chaining: within a trace (delegated agents' steps included), a step-to-step transition the
 * identity and its peers have not learned that crosses trust zones or leads to a write or egress; or a
 * sensitive read followed by egress to `external` — in the same trace or in another of the identity's
 * traces within the window — unless that flow (sensitive target -> destination host) is learned.
 * The subject is the flow.
 *
 * Peers excuse what the identity never did as peers.ts says; a sensitive flow takes two mature peers.
 */
import { isWrite, madeInTrace, type ActionKind } from '../src/actions/types.js';
import { EXTERNAL_ZONE } from '../src/actions/zones.js';
import type { Severity } from '../src/config/schema.js';
import { crossFlowKey, flowItem, flowKey, key, transitionItem, transitionKey } from '../baselines/keys.js';
import { code, countedNote, span, surpriseScore, times } from './severity.js';
import { FLOW_QUORUM, knownToPeers, peersNote } from './peers.js';
import { holdForRollout, rolloutUnderWay, subjectDimension } from './scope-drift.js';
import type { BaselineView, ChainStep, Detector, DetectorInput, Finding } from './types.js';

/**
 * Kinds that can carry data out, when their destination is `external`: a database at an outside host (a
 * managed DB left out of `zones` is external; its routine flows are learned; review31 L1), and a tool or
 * delegation made over the network, to an MCP server or a remote agent (review31 F2). In-process tools and
 * local agents have no host, so are never egress; model calls never are (CONTRACT §3.1).
 */
const EGRESS_KINDS = new Set<ActionKind>(['http', 'rpc', 'messaging', 'db', 'tool', 'delegation']);
/** Below this many observed steps out of the previous one, an unseen transition is hardly surprising. */
const FAMILIAR_FROM = 20;

/** True when the action sends something to a destination in the `external` zone (model calls never do). */
export function isEgress(action: DetectorInput['action']): boolean {
  return EGRESS_KINDS.has(action.kind) && action.zone === EXTERNAL_ZONE && action.host !== null;
}

function knownFlow(view: BaselineView, k: string): boolean {
  return view.own(k) > 0 || knownToPeers(view, k, FLOW_QUORUM);
}

/** Names the trace owner when another identity (a delegated agent, an MCP server) took the step. */
function inTaskOf(identity: string, owner: string): string {
  return owner !== identity ? ` (in a task of ${owner})` : '';
}

function sensitiveEgress({ action, view, step, sensitiveReads, now }: DetectorInput): Finding | null {
  if (!isEgress(action)) return null;
  // Every read counts, not only the latest: a learned flow read last (the usual CRM lookup before the
  // usual mail) must not cover a secret read just before it. A read in another task is also excused by
  // the pair's having met across tasks before (`xflow`); one in this task only by the flow itself.
  const task = madeInTrace(action);
  let read = null;
  for (const r of sensitiveReads) {
    if (r.time > action.time || (read && r.time <= read.time)) continue;
    if (!knownFlow(view, flowKey(r.target, action.host!)) && (r.task === task || !knownFlow(view, crossFlowKey(r.target, action.host!)))) read = r;
  }
  if (!read) return null;
  const flow = flowItem(read.target, action.host!);
  const sameTrace = read.task === task;
  return {
    detector: 'lateral_chaining',
    severity: 'high',
    surprise: 0.9,
    subject: flow,
    title: `Sensitive read then egress to ${action.host}`,
    explanation:
      (step.owner === action.identity
        ? `${action.identity} read sensitive ${code(read.target)} and ${span(now - read.time)} later sent`
        : `In a task of ${step.owner}, sensitive ${code(read.target)} was read and ${span(now - read.time)} later ${action.identity} sent`) +
      ` to external host ${code(action.host!)} (${sameTrace ? 'same trace' : 'another of its traces'}). ` +
      `${step.owner === action.identity ? 'It' : step.owner} never sent data from ${code(read.target)} there, ${peersNote(view, flowKey(read.target, action.host!))}.`,
    traceIds: read.traceId === action.traceId ? [action.traceId] : [read.traceId, action.traceId],
    // The read's tool too: the explanation names the read by it (`get_secret`, not its GET to the vault).
    spanIds: read.stepSpanId === null ? [read.spanId, action.spanId] : [read.stepSpanId, read.spanId, action.spanId],
    details: { rule: 'sensitive_egress', source: read.target, destination: action.host, sameTrace, allow: [{ dimension: 'flow', item: flow }] },
    tags: ['OWASP-ASI02', 'OWASP-NHI2', 'MAESTRO-L2', 'MAESTRO-L7'],
  };
}

/**
 * `f`, a sensitive flow of an identity not judged yet (its peer group too new: review31 F9), as the record
 * of the first time its group showed that flow: low, and learned all the same, so an exfiltration on a new
 * deployment's first day leaves an alert rather than only a learned flow. Null once a peer has learned it.
 */
export function flowWhileLearning(f: Finding, view: BaselineView): Finding | null {
  const { source, destination } = f.details as { source: string; destination: string };
  if (view.peers(flowKey(source, destination)) > 0 || view.peers(crossFlowKey(source, destination)) > 0) return null;
  return {
    ...f,
    severity: 'low',
    surprise: 0.5,
    explanation: `${f.explanation} It is not judged yet: its peer group is still learning, and what it does now becomes usual. Recorded at low the first time the group does it.`,
    details: { ...f.details, learning: true },
    learn: true,
  };
}

/**
 * For a new identity judged against its peers: some peer knew the step before the current rollout window.
 * A step the group adopted only within it (a rollout under way) has no settled chains yet, just as an
 * identity's own newly adopted tool has none.
 */
function establishedAmongPeers({ view, now, config }: DetectorInput, fromKey: string): boolean {
  // No upper bound: peers' event clocks differ, and one may have adopted it "after" now.
  return view.peers(fromKey) > view.adopters(fromKey, now - config.detectors.scope_drift.rolloutWindow, Number.POSITIVE_INFINITY);
}

/** The identity's uses of what a step (`tool:kb.search`) calls, as scope_drift counts them. */
function usesOfStep(view: BaselineView, name: string): number {
  const k = stepKey(name);
  return k === null ? 0 : view.own(k);
}

/** The baseline key of what a step calls (`tool:kb.search` -> the tool's), null for a model call (no scope item). */
function stepKey(name: string): string | null {
  const at = name.indexOf(':');
  const kind = name.slice(0, at) as ActionKind;
  return kind === 'model' ? null : key(subjectDimension(kind), name.slice(at + 1));
}

/** A step as a transition reads it (`actor` and `own` default to the action's, `learned` is not read). */
type Step = Pick<ChainStep, 'name' | 'zones' | 'spanId'> & Partial<ChainStep>;

/** The step of the action, as the transition into it reads it. */
function actionStep({ action, step }: DetectorInput): Step | null {
  return step.name === null ? null : { name: step.name, zones: step.zones, spanId: action.spanId, access: action.access, own: step.owner === action.identity };
}

/** The transition into the action's step. */
function transitionInto(input: DetectorInput): Finding | null {
  const self = actionStep(input);
  return self && input.step.previous ? unlearnedTransition(input, input.step.previous, self) : null;
}

/**
 * The transitions judged with the action's step whose later step came in an earlier batch
 * (`StepContext.transitions`): each a finding of its own, as in order each would have been its later
 * step's. The engine keeps them apart by subject, so a mute, a fold or an allow of one does not cover
 * another (review47 F1). Returned with the step each leads into (whose credential the alert may name).
 */
export function transitionsWith(input: DetectorInput): Array<{ f: Finding; to: ChainStep }> {
  const out: Array<{ f: Finding; to: ChainStep }> = [];
  for (const [from, to] of input.step.transitions ?? []) {
    const f = unlearnedTransition(input, from, to);
    if (f !== null) out.push({ f, to });
  }
  return out;
}

function unlearnedTransition(input: DetectorInput, prev: Step, to: Step): Finding | null {
  const { action, view, step } = input;
  // Repeating a step is not lateral movement: nothing new is reached.
  if (prev.name === to.name) return null;
  const k = transitionKey(prev.name, to.name);
  if (view.own(k) > 0 || knownToPeers(view, k)) return null;
  const crosses = prev.zones.length > 0 && to.zones.some((z) => !prev.zones.includes(z));
  const writes = isWrite(to.access ?? null);
  const egress = to.zones.includes(EXTERNAL_ZONE);
  if (!crosses && !writes && !egress) return null;

  // An unseen step after an unfamiliar one says little (a newly adopted tool has no chains yet): only a
  // step the baseline knows well makes this surprising. Its own: often followed by others, or often used
  // and always last (ending its trace is what followed it); or one its peers have long used while it is new.
  const fromKey = key('from', prev.name);
  const fromCount = Math.max(view.own(fromKey), usesOfStep(view, prev.name));
  const familiar = fromCount >= FAMILIAR_FROM || (view.phase === 'peer' && establishedAmongPeers(input, fromKey));
  if (!familiar) return null;
  const item = transitionItem(prev.name, to.name);
  const severity: Severity = egress && (writes || crosses) ? 'high' : 'medium';
  const what = [crosses && `crosses from zone ${prev.zones.join('/')} to ${to.zones.join('/')}`, writes && `leads to a ${to.access}`, egress && 'reaches an external host']
    .filter(Boolean)
    .join(', ');
  const actor = to.actor ?? action.identity;
  const delegated = inTaskOf(actor, step.owner);
  // A chain into a step the identity never used is first that step's news (scope_drift's): when its peers
  // adopt the step too, a release added it, and the chains into it are the release's (review34 F1).
  const rolloutStep = !egress && to.own && usesOfStep(view, to.name) === 0 ? stepKey(to.name) : null;
  if (rolloutStep !== null && rolloutUnderWay(input, rolloutStep)) return null;
  return {
    detector: 'lateral_chaining',
    severity,
    surprise: surpriseScore(fromCount),
    subject: item,
    title: `Unlearned chain ${prev.name} -> ${to.name}`,
    explanation:
      `${actor}${delegated} went from ${code(prev.name)} to ${code(to.name)}, which ${what}. ` +
      `After ${code(prev.name)} (seen ${times(fromCount)}, ${countedNote(input.config.baselines.halfLife)}) it never did this, ${peersNote(view, k)}.`,
    traceIds: [action.traceId],
    spanIds: [prev.spanId, to.spanId],
    details: { rule: 'transition', from: prev.name, to: to.name, fromZones: prev.zones, toZones: to.zones, owner: step.owner, phase: view.phase, allow: [{ dimension: 'transition', item }] },
    tags: ['OWASP-ASI02', 'OWASP-ASI07', 'MAESTRO-L7'],
    ...(rolloutStep !== null ? holdForRollout(input, rolloutStep) : {}),
  };
}

export const lateralChaining: Detector = {
  id: 'lateral_chaining',
  evaluate(input: DetectorInput): Finding | null {
    return sensitiveEgress(input) ?? transitionInto(input);
  },
};
