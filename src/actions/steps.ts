/**
 * Parallel steps (CONTRACT §3.1): calls of one step that run side by side (same parent span, same
 * identity, overlapping intervals: a LangGraph ToolNode or the AI SDK running two tool calls at once)
 * form no transition with each other. Their order among themselves is an accident of scheduling, so a
 * transition detector that chained them would learn noise and flag the other order as new.
 *
 * Each such action gets `parallelGroup`: the span id of the group's first action in event-time order.
 * A group is a maximal run of siblings in which each starts more than `CLOCK_SLACK_MS` (clock.ts) before
 * the latest end so far: a call that starts within that slack of
 * another's end follows it.
 * Computed per settled trace part; parallel calls split across parts (a late batch) are not grouped.
 */
import { CLOCK_SLACK_MS } from './clock.js';
import type { SpanNode } from './node.js';

interface Run {
  first: SpanNode;
  maxEnd: number;
}

/** The parent a step hangs under: the repaired tool if any, else the span's own parent. */
function stepParent(n: SpanNode): string {
  return n.parent?.spanId ?? n.repairedTo?.spanId ?? n.parentSpanId;
}

/** Sets `parallelGroup` on `out`, which must already be in event-time order (start, end, span id). */
export function assignParallelGroups(out: readonly SpanNode[]): void {
  if (out.length < 2) return;
  const runs = new Map<string, Run>();
  for (const n of out) {
    const key = `${n.identity}\u0000${stepParent(n)}`;
    const run = runs.get(key);
    if (run !== undefined && n.startMs + CLOCK_SLACK_MS < run.maxEnd) {
      run.first.parallelGroup = run.first.spanId;
      n.parallelGroup = run.first.spanId;
      if (n.endMs > run.maxEnd) run.maxEnd = n.endMs;
    } else {
      runs.set(key, { first: n, maxEnd: n.endMs });
    }
  }
}
