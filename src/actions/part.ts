/**
 * One trace part waiting in the builder's buffer. Its own file so node.ts (a tool node remembers the
 * part that holds it) and repair.ts (context repair moves spans between parts) can name it without
 * importing the builder.
 */
import type { TraceMemory } from './memory.js';
import type { SpanNode } from './node.js';
import type { Recent } from '../collections/recency.js';

export interface TracePart extends Recent {
  readonly traceId: string;
  readonly nodes: Map<string, SpanNode>;
  readonly firstAddMs: number;
  lastAddMs: number;
  /** Spans whose parent is neither buffered, remembered nor remote: the part is not ready while > 0. */
  dangling: number;
  /** Missing parent span id -> how many buffered spans wait for it. */
  waiting: Map<string, number> | null;
  /** `add` call that last moved this part to the back of the recency order. */
  epoch: number;
  /**
   * Parentless HTTP/DB CLIENT spans in it: context repair candidates. Such parts are settled before
   * the other ready parts of a `take`, so a call and its tool that arrive together always meet.
   */
  orphans: number;
  /** Tool spans in it: a ready part holding a tool with no call under it yet waits a moment (builder.ts). */
  tools: number;
  /**
   * Ready, it still waits until then (0: no wait, or not decided yet): it holds a tool whose calls may
   * still be on their way — the tool has none under it yet, or its identity's calls lose their context
   * (repair.ts) — exported just after it.
   */
  holdUntil: number;
}

/**
 * How long a ready part waits for calls of its tools exported just after it (at most `traces.wait`).
 * Exporters send in parallel and a tool's calls may come from another exporter or process, so a tool's
 * complete trace can arrive a moment before its calls. Costs those tools' actions this much latency.
 */
export const LATE_CALL_GRACE_MS = 250;

/**
 * True when a tool in the part has no call under it yet: none buffered, none emitted earlier (a
 * remembered subtree waiting for it), none held by context repair (`heldFor`). What the tool did may
 * still be on its way.
 */
export function hasToolWithoutCalls(part: TracePart, mem: TraceMemory | undefined, heldFor: (tool: SpanNode) => boolean): boolean {
  const parents = new Set<string>();
  for (const n of part.nodes.values()) parents.add(n.parentSpanId);
  for (const n of part.nodes.values()) {
    if (n.kind === 'tool' && !parents.has(n.spanId) && mem?.pending?.has(n.spanId) !== true && !heldFor(n)) return true;
  }
  return false;
}

/** Parent span id -> buffered children, for moving a candidate with its subtree. */
export function childrenOf(part: TracePart): Map<string, SpanNode[]> {
  const m = new Map<string, SpanNode[]>();
  for (const n of part.nodes.values()) {
    if (n.parentSpanId === '') continue;
    const list = m.get(n.parentSpanId);
    if (list) list.push(n);
    else m.set(n.parentSpanId, [n]);
  }
  return m;
}

/** Removes `root` and its buffered descendants from `from`, returning them. */
export function detach(root: SpanNode, from: Map<string, SpanNode>, children: Map<string, SpanNode[]>): Map<string, SpanNode> {
  const out = new Map<string, SpanNode>();
  const stack = [root];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (out.has(n.spanId) || from.get(n.spanId) !== n) continue;
    out.set(n.spanId, n);
    from.delete(n.spanId);
    for (const ch of children.get(n.spanId) ?? []) stack.push(ch);
  }
  return out;
}
