/**
 * Where one span lies relative to another, for context repair (repair.ts): within a tool's interval (on
 * millisecond clocks), or below it in the tree.
 */
import { CLOCK_SLACK_MS } from './clock.js';
import type { SpanNode } from './node.js';

/** Longest parent chain walked; deeper chains are left as they are. */
export const MAX_WALK = 64;

/**
 * Tool `t` may have made call `c`: `c` starts within `t` (±2 ms) and ends by its end. A tool awaits the
 * calls it makes: one that outlives it (an MCP transport's event stream opened as the tool began) is
 * not its call, and must not lend it a failure or a class.
 */
export function contains(t: SpanNode, c: { readonly startMs: number; readonly endMs: number }): boolean {
  return startsWithin(t, c) && c.endMs <= t.endMs + CLOCK_SLACK_MS;
}

export function startsWithin(t: SpanNode, c: { readonly startMs: number }): boolean {
  return t.startMs - CLOCK_SLACK_MS <= c.startMs && c.startMs <= t.endMs + CLOCK_SLACK_MS;
}

/** True when `anc` is a proper ancestor of `n` (tree links when settled, else the buffered part's map). */
export function isAncestor(anc: SpanNode, n: SpanNode): boolean {
  let cur = n;
  for (let i = 0; i < MAX_WALK; i++) {
    const next = cur.parent ?? cur.repairedTo ?? (cur.parentSpanId === '' ? undefined : cur.part?.nodes.get(cur.parentSpanId));
    if (next === undefined || next === null) return false;
    if (next === anc) return true;
    cur = next;
  }
  return false;
}

/**
 * `o` lies within `h` in the tree (agent-as-tool: a tool inside an agent inside a tool). Intervals alone
 * would not do: a parallel tool often happens to sit inside its sibling's interval.
 */
export function inside(o: SpanNode, h: SpanNode): boolean {
  return o.traceId === h.traceId && isAncestor(h, o);
}
