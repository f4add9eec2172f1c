/**
 * Context repair's one case that looks backwards (repair.ts): an identity that has shown no tool yet (its
 * first since the daemon started) has its parentless calls emitted at once, nothing being held for it;
 * its first tool, arriving within the grace, still takes the class and the failure of those it contains,
 * as if they were its children. Apart from repair.ts because it touches none of the holding and claiming.
 */
import { accessRank } from './access.js';
import { mergeIds } from './memory.js';
import type { SpanNode } from './node.js';
import { contains } from './span-relations.js';

/** Early calls remembered per identity that has shown no tool yet. */
const EARLY_CALLS = 16;

/**
 * A parentless call emitted before its identity showed any tool, and when it arrived. Its node is read
 * when a tool adopts it, by then settled (its class and outcome final); it is a trace of its own, so
 * keeping it keeps no larger tree alive.
 */
export interface EarlyCall {
  readonly call: SpanNode;
  readonly at: number;
}

/** What this needs of an identity's repair state. */
interface EarlyState {
  tools: SpanNode[];
  early: EarlyCall[] | null;
}

/** Remembers call `c`, emitted on its own at `at`, for `graceMs` (at most EARLY_CALLS of an identity). */
export function noteEarly(st: EarlyState, c: SpanNode, at: number, graceMs: number): void {
  const early = (st.early ?? []).filter((e) => at - e.at <= graceMs);
  early.push({ call: c, at });
  if (early.length > EARLY_CALLS) early.shift();
  st.early = early;
}

/**
 * Tool `t` (arrived at `at`) takes the class and the failure of the early calls it alone contains, as
 * if they were its children: its own action is not emitted yet, theirs was.
 */
export function adoptEarly(st: EarlyState, t: SpanNode, at: number, graceMs: number): void {
  const early = (st.early ?? []).filter((e) => at - e.at <= graceMs);
  for (let i = early.length - 1; i >= 0; i--) {
    const c = early[i].call;
    if (!contains(t, c) || st.tools.some((o) => o !== t && contains(o, c))) continue;
    if (accessRank(c.access) > t.rank) [t.rank, t.rankBy] = [accessRank(c.access), t.identity];
    if (c.failed) t.failedBelow = mergeIds(t.failedBelow, [t.identity]);
    early.splice(i, 1);
  }
  st.early = early.length > 0 ? early : null;
}
