/**
 * Clock correction within a trace. Each process stamps its spans with its own clock, and hosts drift: an
 * MCP server whose clock runs 90 s behind its agent's would put the egress it made for the agent "before"
 * the secret read that came first, and the read-then-egress flow would go unseen (detectors order a
 * trace's actions by time). But a call cannot be served before it was made: a remote child (a SERVER span
 * under a CLIENT span, a CONSUMER under a PRODUCER) that does not fit its parent is moved, with the spans
 * of its process below it, by the least amount that makes it fit — into the client's interval, or, as
 * messaging is asynchronous, to no earlier than the producer's start. Spans of one process take their
 * parent's shift. (Jaeger's UI makes the same adjustment.) Applied in the tree walk, parents first,
 * before any decision reads a time. A callee whose spans arrive before its caller's are judged on its own
 * clock; when the caller's span arrives, the hop says how far that clock was off (`shiftUnder`), and
 * what was judged on it is judged again on the caller's (review32 M2).
 */
import { SpanKind } from '../model.js';
import type { Clocked, SpanNode } from './node.js';

/**
 * How far apart two times from millisecond clocks may be and still be the same moment. SDKs stamp starts
 * to the millisecond (truncated) and ends finer (the AI SDK: a tool that follows its model call within the
 * same millisecond seems to start 0.4 ms before the call ended), and two spans' stamps may each be off by
 * a tick: two ticks. Used wherever a start is compared with another span's start or end.
 */
export const CLOCK_SLACK_MS = 2;

/** Moves `n` onto its trace's clock, given `up`, the span it runs under (already corrected), if known. */
export function correctClock(n: SpanNode, up: Clocked | null | undefined): void {
  const shift = up ? shiftUnder(n, up) : 0;
  if (shift === 0) return;
  n.startMs += shift;
  n.endMs += shift;
  n.clockShiftMs = shift;
}

/** How far `n` (a span running under `up`) must move to fit it: 0 when it does. */
export function shiftUnder(n: Pick<Clocked, 'spanKind' | 'startMs' | 'endMs'>, up: Clocked): number {
  const [start, end, upStart, upEnd] = [n.startMs, n.endMs, up.startMs, up.endMs];
  if (up.spanKind === SpanKind.CLIENT && n.spanKind === SpanKind.SERVER) {
    if (start < upStart) return upStart - start;
    // Ending after the client: pulled back to end with it, but never to before the client's start.
    return end > upEnd ? Math.max(upStart - start, upEnd - end) : 0;
  }
  if (up.spanKind === SpanKind.PRODUCER && n.spanKind === SpanKind.CONSUMER) return start < upStart ? upStart - start : 0;
  return up.clockShiftMs; // the same process as its parent: the same clock
}
