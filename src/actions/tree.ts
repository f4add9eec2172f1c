/**
 * Decisions that need the trace tree (CONTRACT §3, §3.1), made once per finalised trace part:
 * - agent context (`agent`) and nested-agent delegations (an agent span whose nearest agent ancestor of
 *   the same identity has another name; the outermost one is the agent's task);
 * - transport folding: an HTTP CLIENT span under a model/DB/RPC/messaging/MCP/remote-agent call (or a
 *   second HTTP layer to the same host) is that call's transport, not an action (its failure and
 *   resend are merged into the call; a model call, MCP tool call or remote agent call without
 *   `server.address` takes its host);
 * - a tool span directly inside a tool span of the same name is one call instrumented twice;
 * - a tool's access is the strongest of its own and its descendants' (all identities: what a tool
 *   caused through an MCP server is still its effect);
 * - a failed call counts once: a tool or delegation that failed *and* has a failed descendant action of
 *   the same identity is not itself marked failed. The descendant is the real failed call (the HTTP
 *   404, the DB error), and keeping the failure there keeps "one failure per real failed call" even
 *   when a tool retries its request three times;
 * - identity hops: the first span of another identity under a caller's span yields a delegation action
 *   of the caller targeting the callee identity (node.ts `makeHopNode`), also when the callee's spans
 *   were emitted before the caller's arrived (memory.ts hops);
 * - context repair's verdicts (repair.ts): a repaired node is linked under its tool as if it had been
 *   parented there, or, the tool already emitted, runs under that tool's context;
 * - clock correction (clock.ts): a remote child that does not fit its caller is moved onto its clock;
 * - a span naming no credential takes that of the span it runs under, when both are one identity's.
 */
import { accessOfRank, accessRank } from './access.js';
import { correctClock, shiftUnder } from './clock.js';
import { Carrier, type IgnoreReason } from './facts.js';
import { mergeIds, type MemSpan, type TraceMemory } from './memory.js';
import { agentNameIn, makeClassNode, makeHopNode, type ActLike, type HopEntry, type SpanNode } from './node.js';
import type { ActionKind } from './types.js';
import { SpanKind } from '../model.js';

/** Calls whose destination host may come from the HTTP span folded beneath them (a model call's is its target too). */
const HOST_FROM_TRANSPORT: ReadonlySet<ActionKind> = new Set<ActionKind>(['model', 'tool', 'delegation']);

function isNode(a: ActLike): a is SpanNode {
  return (a as SpanNode).spanId !== undefined;
}

function visit(n: SpanNode, mem: TraceMemory | undefined, onIgnored: (r: IgnoreReason) => void, hops: SpanNode[]): void {
  // A repaired node whose tool was already emitted has no tree parent but runs under that tool.
  const up: MemSpan | null | undefined = n.repairedTo ?? n.parent ?? mem?.spans.get(n.parentSpanId);
  correctClock(n, up);
  // A call made with its tool's (or task's) credential names none itself: it is the same identity's token
  // (review20 F18b: the egress a tool made was not revocable, while the tool's own alerts were).
  if (n.credential === null && up && up.identity === n.identity) n.credential = up.credential;
  const upCtx = up ? up.ctx : null;
  const upAct = up ? up.act : null;
  // The caller is the identity whose task this is: the outermost one known (A's, for C's work delegated
  // by B on A's behalf), so a send two hops down is judged against the reads of the task that asked for it.
  n.caller = up ? (up.identity !== n.identity ? (up.caller ?? up.identity) : up.caller) : null;
  if (up && up.identity !== n.identity) hopFrom(up, n, 0, hops);
  // A root has no caller to wait for, nor does a span under its own identity's, here or remembered.
  n.entry = (n.spanKind === SpanKind.SERVER || n.spanKind === SpanKind.CONSUMER) && n.parentSpanId !== '' && (!up || up.identity !== n.identity);
  const runsUnder = agentNameIn(upCtx, n.identity);
  n.agent = runsUnder;

  if (n.kind === null) {
    if (n.ignore === 'agent_task' && runsUnder !== null && runsUnder !== n.agentName) {
      n.kind = 'delegation';
      n.target = n.agentName!;
      n.ignore = null;
      n.emit = true;
    } else {
      onIgnored(n.ignore ?? 'not_an_action');
    }
  } else if (
    // An HTTP call, or a model call beneath a model call (a framework's span over its client library's,
    // or the HTTP call to a provider's inference endpoint: model-endpoints.ts), is its carrier's transport.
    (n.kind === 'http' || (n.kind === 'model' && upAct?.kind === 'model')) &&
    upAct !== null &&
    upAct.identity === n.identity &&
    (upAct.carrier === Carrier.Any || (upAct.carrier === Carrier.SameHost && upAct.host === n.host))
  ) {
    if (isNode(upAct)) {
      upAct.failed ||= n.failed;
      upAct.retry ||= n.retry;
      // A model call, remote tool or remote agent naming no server takes its transport's host (review31 F2:
      // without it an MCP server or remote agent moved to an attacker's host looked like the usual call).
      if (upAct.host === null && n.host !== null && upAct.kind !== null && HOST_FROM_TRANSPORT.has(upAct.kind)) {
        upAct.host = n.host;
        if (upAct.kind === 'model') upAct.target = n.host;
      }
    }
    onIgnored('transport_span');
  } else if (
    n.kind === 'tool' &&
    upAct !== null &&
    upAct.kind === 'tool' &&
    upAct.identity === n.identity &&
    upAct.target === n.target
  ) {
    n.foldedTool = true;
    if (isNode(upAct)) {
      upAct.failed ||= n.failed;
      upAct.callId ??= n.callId;
      // The inner span is the MCP client's `tools/call` under the framework's tool span (review38 M2): its
      // HTTP is transport to the outer tool too, and its server the outer tool's destination.
      if (n.carrier === Carrier.Any && upAct.carrier !== Carrier.Any) {
        upAct.carrier = Carrier.Any;
        upAct.host ??= n.host;
      }
    }
    onIgnored('nested_tool_span');
  } else {
    n.emit = true;
    if (n.unknownTool) onIgnored('unknown_tool_name');
    // A provider's inference endpoint called outside any tool of its identity is a model call (a framework
    // that leaves its model call's HTTP parentless); made inside a tool, it is that tool's send (review39 H1:
    // an HTTP tool posting a record to an attacker's own Azure OpenAI resource).
    if (n.modelEndpoint && !(upAct !== null && upAct.kind === 'tool' && upAct.identity === n.identity)) asModelCall(n);
  }

  // A protocol span that is no action but carries (Traceloop's `initialize.mcp`) still folds its HTTP.
  n.act = n.emit || (n.kind === null && n.carrier !== Carrier.None) ? n : upAct;
  n.ctx = n.agentName !== null ? { name: n.agentName, identity: n.identity, prev: upCtx } : upCtx;
}

/** An HTTP call to a model provider (SpanFacts.modelEndpoint) as the model call it is. */
function asModelCall(n: SpanNode): void {
  n.kind = 'model';
  n.target = n.host!;
  n.access = null;
  n.carrier = Carrier.Any;
}

/**
 * Links, walks and settles one trace part. `byId` holds exactly `nodes`. Returns the nodes to emit,
 * ordered by start, then end, then span id (CONTRACT §3.1 tie-break). Calls `onIgnored` once for every
 * node that is not emitted (and for unnamed tools).
 */
export function settleTrace(
  nodes: readonly SpanNode[],
  byId: ReadonlyMap<string, SpanNode>,
  mem: TraceMemory | undefined,
  onIgnored: (r: IgnoreReason) => void,
): SpanNode[] {
  linkParents(nodes, byId);
  const hops: SpanNode[] = [];
  const order = preOrder(nodes, (n) => visit(n, mem, onIgnored, hops));
  // Post-order (reverse pre-order): children are settled before their parent.
  const pending = mem?.pending ?? null;
  for (let i = order.length - 1; i >= 0; i--) settleUp(order[i], pending, hops);
  if (mem !== undefined) for (const n of order) if (n.parent === null) lateClass(n, mem, hops);
  const out: SpanNode[] = hops;
  for (const n of order) if (n.emit) out.push(n);
  out.sort(byEventTime);
  return out;
}

/**
 * The caller's delegation edge into `entry`'s identity, once per call (the caller's nearest action or MCP
 * request) and callee: an MCP server's HTTP server span sits under the agent's POST, its MCP server span
 * under the agent's MCP span above that POST (review38 M1: two hops a request).
 */
function hopFrom(caller: MemSpan, entry: HopEntry, calleeShiftMs: number, hops: SpanNode[]): void {
  const call = caller.act ?? caller;
  if (call.hopTo === entry.identity) return;
  call.hopTo = entry.identity;
  hops.push(makeHopNode(caller, entry, calleeShiftMs));
}

/** Links each node under its parent in the part (or the tool context repair moved it under). */
function linkParents(nodes: readonly SpanNode[], byId: ReadonlyMap<string, SpanNode>): void {
  for (const n of nodes) {
    const r = n.repairedTo;
    const p = r !== null && byId.get(r.spanId) === r ? r : n.parentSpanId === '' ? undefined : byId.get(n.parentSpanId);
    if (p !== undefined && p !== n) {
      n.parent = p;
      n.nextSibling = p.firstChild;
      p.firstChild = n;
    }
  }
}

/**
 * Visits every node parents first and returns them in that order. An explicit stack: traces can be
 * thousands deep. Nodes left unvisited sit on a parent cycle (malformed input): the first one found is
 * cut loose and walked as a root.
 */
function preOrder(nodes: readonly SpanNode[], onVisit: (n: SpanNode) => void): SpanNode[] {
  const order: SpanNode[] = [];
  const stack: SpanNode[] = [];
  const walk = (root: SpanNode): void => {
    stack.push(root);
    root.visited = true;
    while (stack.length > 0) {
      const n = stack.pop()!;
      onVisit(n);
      order.push(n);
      for (let c = n.firstChild; c !== null; c = c.nextSibling) {
        if (!c.visited) {
          c.visited = true;
          stack.push(c);
        }
      }
    }
  };
  for (const n of nodes) if (n.parent === null) walk(n);
  if (order.length < nodes.length) {
    for (const n of nodes) {
      if (n.visited) continue;
      n.parent = null;
      walk(n);
    }
  }
  return order;
}

/**
 * Settles a node once its children are: a tool takes the strongest access below it, a failure below
 * it of its own identity is not its own a second time, and what it has now is passed to its parent.
 * `pending`: what subtrees emitted before this node arrived left for it (memory.ts).
 */
function settleUp(n: SpanNode, pending: TraceMemory['pending'], hops: SpanNode[]): void {
  let below = n.rank; // accumulated from children
  let by = n.rankBy; // whose span that is
  if (pending !== null && pending.size > 0) {
    const p = pending.get(n.spanId);
    if (p !== undefined) {
      pending.delete(n.spanId);
      if (p.rank > below) {
        below = p.rank;
        by = p.rankBy;
      }
      n.failedBelow = mergeIds(n.failedBelow, p.failed);
      // The callee's spans came first, on its own clock: the hop says how far that clock was off.
      if (p.hops !== null) for (const h of p.hops) if (h.identity !== n.identity) hopFrom(n, h, shiftUnder(h, n), hops);
    }
  }
  const own = (n.emit && n.kind !== 'model') || n.foldedTool ? accessRank(n.access) : -1;
  if (n.emit && n.kind === 'tool' && below > own) {
    n.access = accessOfRank(below);
    // The tool's effect, whoever's span made it (an MCP server's delete); said when it was not its own.
    if (by !== null && by !== n.identity) n.accessBy = by;
  }
  n.rank = own >= below ? own : below;
  n.rankBy = own >= below ? n.identity : by;
  if (
    n.emit &&
    n.failed &&
    (n.kind === 'tool' || n.kind === 'delegation') &&
    n.failedBelow !== null &&
    n.failedBelow.includes(n.identity)
  ) {
    n.failed = false;
  }
  const parent = n.parent;
  if (parent !== null) {
    // On a tie the parent's own identity is the one named: the class is its own doing then.
    if (n.rank > parent.rank || (n.rank === parent.rank && n.rankBy === parent.identity)) {
      parent.rank = n.rank;
      parent.rankBy = n.rankBy;
    }
    if (n.failedBelow !== null) parent.failedBelow = mergeIds(parent.failedBelow, n.failedBelow);
    if (n.emit && n.failed) parent.failedBelow = mergeIds(parent.failedBelow, [n.identity]);
  }
}

/**
 * A subtree that arrived after the tool above it was emitted: an MCP server's spans exported after the
 * agent's `tools/call` (review38 H2), or a call of the tool's in a later export than its first ones
 * (review37 F3). When it is stronger than the class the tool was emitted with, the tool's class-only
 * action joins `out`, as that class would have come in the other order. The remembered tool takes the
 * class, so a second such subtree of the same strength adds nothing.
 */
function lateClass(n: SpanNode, mem: TraceMemory, out: SpanNode[]): void {
  if (n.rankBy === null || n.rank < 0) return;
  const up = n.repairedTo ?? mem.spans.get(n.parentSpanId);
  const tool = up?.act;
  if (!tool || !isNode(tool) || tool.kind !== 'tool' || !tool.emit || tool.classOnly) return;
  if (n.rank <= accessRank(tool.access)) return;
  tool.access = accessOfRank(n.rank);
  tool.accessBy = n.rankBy === tool.identity ? null : n.rankBy;
  out.push(makeClassNode(tool, tool.access, tool.accessBy));
}

/** Start, then end, then span id: a total order, so replay and serve emit identically. */
export function byEventTime(a: SpanNode, b: SpanNode): number {
  return a.startMs - b.startMs || a.endMs - b.endMs || (a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0);
}
