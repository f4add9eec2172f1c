/**
 * What the builder remembers about traces it has already emitted, so spans arriving after their trace
 * was emitted are still placed:
 * - per emitted span, its nearest action and agent context: a late HTTP child of an emitted model call
 *   is still folded as its transport, a late child of an agent still gets `agent`, and a re-sent span
 *   is recognised as a duplicate;
 * - per emitted subtree whose parent had not arrived ("pending"), its strongest access and failed
 *   identities, so a tool that arrives after its children (an exporter batch boundary, or an MCP
 *   server's spans exported before the client's) still takes their class and does not count their
 *   failure twice.
 * - per emitted subtree whose parent had not arrived, where the callee's work began ("hops"), so a
 *   caller of another identity that arrives later (an MCP server's spans exported before the agent's)
 *   still gets its delegation edge.
 * An emitted action is never changed afterwards: a late child cannot raise its emitted tool's class.
 * Bounded by a total span count; the oldest traces are forgotten first (then their late spans are
 * simply emitted on their own after `traces.wait`). A late span may update a remembered node's
 * fields (a transport's failure merged into its model call): harmless, the action was already built.
 */
import type { ActLike, Clocked, HopCaller, HopEntry, SpanNode } from './node.js';
import { RecencyQueue, type Recent } from '../collections/recency.js';

/** What a remembered span offers a late descendant (a settled SpanNode satisfies it). */
export interface MemSpan extends HopCaller, Clocked {
  readonly act: ActLike | null;
  /** The identity this span's last delegation edge went to (tree.ts `hopFrom`). */
  hopTo: string | null;
}

/** Summary of an emitted subtree whose parent span had not arrived. */
export interface Pending {
  rank: number;
  rankBy: string | null;
  failed: string[] | null;
  /** Roots of those subtrees: if the parent turns out to be another identity's, each is a hop. */
  hops: HopEntry[] | null;
}

/** What is remembered of one emitted trace. */
export interface TraceMemory extends Recent {
  readonly traceId: string;
  readonly spans: Map<string, MemSpan>;
  pending: Map<string, Pending> | null;
  size: number;
}

/** Adds `more` identities to `into` (a tiny set as an array; usually one identity), returning the result. */
export function mergeIds(into: string[] | null, more: readonly string[] | null): string[] | null {
  if (more === null) return into;
  const out = into ?? [];
  for (const id of more) if (!out.includes(id)) out.push(id);
  return out;
}

/** Entry spans remembered per missing parent (a parent span rarely has more callee entries). */
const MAX_HOPS = 16;

/** Bounded memory of emitted traces, least recently emitted forgotten first. */
export class EmittedMemory {
  private readonly traces = new Map<string, TraceMemory>();
  private readonly order = new RecencyQueue<TraceMemory>();
  private total = 0;

  /** @param capSpans most spans (and pending entries) remembered across all traces. */
  constructor(private readonly capSpans: number) {}

  get(traceId: string): TraceMemory | undefined {
    return this.traces.get(traceId);
  }

  /**
   * Records a just-finalised trace part (after tree.ts ran on it). The part's own id -> node map is
   * adopted as is, so the common case (first part of a trace) costs no per-span work or allocation;
   * the nodes stay reachable until the trace is forgotten, bounded by `capSpans`.
   */
  record(traceId: string, byId: Map<string, SpanNode>): void {
    let mem = this.traces.get(traceId);
    const before = mem?.size ?? 0;
    if (mem) {
      for (const [id, n] of byId) mem.spans.set(id, n);
    } else {
      mem = { traceId, spans: byId, pending: null, size: 0, seq: 0, live: true };
      this.traces.set(traceId, mem);
    }
    this.order.touch(mem);
    for (const n of byId.values()) {
      if (n.parent !== null || n.parentSpanId === '' || mem.spans.has(n.parentSpanId)) continue;
      // An emitted subtree without its parent: keep what the parent will need when it arrives.
      // A settled node is its own HopEntry; a repaired node (parent = the tool it was attributed to) never
      // gets here, its parent being set.
      const failed = n.emit && n.failed ? mergeIds(n.failedBelow ? [...n.failedBelow] : null, [n.identity]) : n.failedBelow;
      mem.pending ??= new Map();
      const p = mem.pending.get(n.parentSpanId);
      if (p) {
        if (n.rank > p.rank) [p.rank, p.rankBy] = [n.rank, n.rankBy];
        p.failed = mergeIds(p.failed, failed);
        if (p.hops === null || p.hops.length < MAX_HOPS) (p.hops ??= []).push(n);
      } else mem.pending.set(n.parentSpanId, { rank: n.rank, rankBy: n.rankBy, failed, hops: [n] });
    }
    mem.size = mem.spans.size + (mem.pending?.size ?? 0);
    this.total += mem.size - before;
    while (this.total > this.capSpans) {
      const oldest = this.order.oldest();
      if (oldest === undefined) break;
      oldest.live = false;
      this.traces.delete(oldest.traceId);
      this.total -= oldest.size;
    }
    this.order.maintain(this.traces.size);
  }
}
