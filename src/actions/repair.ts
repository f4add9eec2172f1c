/**
 * Context repair (CONTRACT §3.1). OpenInference and Traceloop LangChain do not make a tool span the
 * active context while the tool runs, so the HTTP or DB call a tool makes arrives parentless (its own
 * trace), or under some other span (a sibling of the tool). Left alone, the tool would keep a null
 * access class (an unexpected write goes unseen) and a failed call would count twice (call and tool).
 *
 * Rule: an HTTP/DB CLIENT span with no action above it (`unplaced`) is attributed to the innermost tool
 * span of the same identity whose interval contains its start (±2 ms: millisecond clocks, and some tool
 * spans start after their own call) — only when exactly one tool is innermost. Refinement of CONTRACT
 * §3.1: the call must also end by the tool's end (±2 ms), since a tool awaits its calls. Two overlapping tools
 * (parallel calls) leave it its own action: guessing would invent transitions and access classes.
 *
 * Timing. The call ends before its tool, so it usually arrives first, possibly in another trace and
 * another export batch. A candidate is therefore decided only when the answer is complete enough:
 * - when the part that holds its tool is finalised (that trace complete, or timed out: every tool of
 *   the step is known by then), the candidate moves into that part, under the tool, so the tool takes
 *   its class and its failure exactly as for a real child;
 * - while no tool is known, or the tool's part is still open, the candidate (with its subtree) is held
 *   here — only for identities that emitted tool spans recently, so plain services and model-only apps
 *   see no added latency — for `REPAIR_HOLD_WAITS × traces.wait` at most;
 * - a tool already emitted cannot change any more: the call then only runs under its context (agent,
 *   caller), like any late child. Exports sent at once arrive in any order (exporters send in
 *   parallel), so the tool's trace may come complete just before its call: once an identity has shown
 *   lost calls, a ready part holding one of its tools waits `LATE_CALL_GRACE_MS` more (`graceUntil`).
 * - an identity that has shown no tool yet (its first since the daemon started) has its parentless
 *   calls emitted at once; its first tool, arriving within `LATE_CALL_GRACE_MS`, still takes the class
 *   and the failure of those it contains (`adoptEarly`, repair-early.ts), though the call is not marked
 *   as attributed.
 * Bounded: `TOOLS_PER_IDENTITY` remembered tools for `TOOL_KEEP_MS` (plus a sweep's `KEEP_SWEEP_MS`),
 * `MAX_IDENTITIES` identities, `MAX_HELD_SPANS` held.
 */
import { Carrier } from './facts.js';
import { FifoQueue } from '../collections/fifo.js';
import { adoptEarly, noteEarly, type EarlyCall } from './repair-early.js';
import type { TraceMemory } from './memory.js';
import { agentNameIn, isClientCall, type SpanNode } from './node.js';
import { childrenOf, detach, type TracePart } from './part.js';
import { contains, inside, isAncestor, MAX_WALK, startsWithin } from './span-relations.js';

/** A held candidate is released (decided with what is known) this many `traces.wait` after it was held. */
export const REPAIR_HOLD_WAITS = 5;
/** How long after its last tool span an identity's unplaced calls are still held for a tool. */
const ACTIVE_MS = 15 * 60_000;
/**
 * Recent tool spans kept per identity for repair. Bounded because each kept node holds its trace's tree
 * alive (256 kept most of a busy daemon's traces in memory), yet large enough for one export batch of
 * an agent that calls many tools (16 lost tools of a 20-tool batch).
 */
const TOOLS_PER_IDENTITY = 64;
/**
 * The oldest tools are cut this many at a time past the bound (so up to 64 + 16 are kept): a cut per new
 * tool spliced two arrays for every tool span of a busy identity, 1.3% of the ingest worker's time.
 */
const TOOLS_TRIM = 16;
/**
 * How long a tool is kept for calls that arrive after it (or twice the hold, if longer): exporters
 * send a call's batch within seconds of its tool's. Kept as long as its identity (ACTIVE_MS), the tools of
 * 4,300 identities held their traces in ~900 MB of the ingest worker under churn (review29 #2).
 */
const TOOL_KEEP_MS = 2 * 60_000;
/**
 * Tools past their time are dropped by a sweep over the identities this often, so one may be kept this
 * much longer. A queue entry per tool instead took ~48 bytes for each of the last two minutes' tools
 * (23 MB of the worker's live heap under churn), in the old generation, for the collector to go over.
 */
const KEEP_SWEEP_MS = 15_000;
const MAX_IDENTITIES = 10_000;
const MAX_HELD_SPANS = 20_000;

/** A candidate (and its subtree) waiting for its tool. */
interface Held {
  readonly root: SpanNode;
  readonly nodes: Map<string, SpanNode>;
  readonly deadline: number;
  live: boolean;
}

interface IdentityState {
  /** Recent tool nodes, oldest first: buffered (`part` live) or settled (`visited`), and when each arrived. */
  tools: SpanNode[];
  toolsAt: number[];
  activeMs: number;
  /** When it last showed a tool or an unplaced call: idle past ACTIVE_MS, it is forgotten (its tools hold their traces alive). */
  seenMs: number;
  /** When this identity last had an unplaced call (its framework loses context): -Infinity if never. */
  lostMs: number;
  held: Held[];
  /** Parentless calls emitted while the identity had shown no tool (`adoptEarly`). */
  early: EarlyCall[] | null;
}

/** The builder side: settles a detached group of nodes (a released candidate) into emitted nodes. */
export interface RepairHost {
  settleDetached(traceId: string, nodes: Map<string, SpanNode>, into: SpanNode[]): void;
}

/**
 * `join`: move under `tool` in its part (settles with it); `context`: the tool was emitted, run under its
 * context; `own`: stays its own unattributed action; `hold`: wait for more of the tools.
 */
type Verdict =
  | { kind: 'join'; part: TracePart; tool: SpanNode }
  | { kind: 'context'; tool: SpanNode }
  | { kind: 'own' }
  | { kind: 'hold' };
const OWN: Verdict = { kind: 'own' };
const HOLD: Verdict = { kind: 'hold' };

/** How frameworks that lose context leave a tool's call: a client call with no parent at all. */
function isParentlessCall(n: SpanNode): boolean {
  return isClientCall(n) && n.parentSpanId === '';
}

export class ContextRepair {
  private readonly states = new Map<string, IdentityState>();
  private readonly keepMs: number;
  /** When tools kept past `keepMs` are next dropped, every identity's at once (KEEP_SWEEP_MS apart). */
  private nextSweepMs = Number.NEGATIVE_INFINITY;
  /** Held candidates in hold order (deadlines grow with it): expiry reads the front. */
  private readonly queue = new FifoQueue<Held>();
  private heldCount = 0;

  constructor(
    private readonly holdMs: number,
    private readonly graceMs: number,
    private readonly host: RepairHost,
  ) {
    this.keepMs = Math.max(TOOL_KEEP_MS, 2 * holdMs);
  }

  /** Until when a ready part holding tool `n` waits for lost calls still on their way (0: it does not). */
  graceUntil(n: SpanNode, nowMs: number): number {
    const st = this.states.get(n.identity);
    return st !== undefined && nowMs - st.lostMs <= ACTIVE_MS ? nowMs + this.graceMs : 0;
  }

  /** True when a call held here lies in tool `t`'s interval: the tool's call has arrived, it waits for the tool. */
  holdsCallFor(t: SpanNode): boolean {
    const held = this.states.get(t.identity)?.held;
    return held !== undefined && held.some((h) => contains(t, h.root));
  }

  /** Indexes a just-buffered node: tool spans are the possible holders of lost calls. */
  noteAdded(n: SpanNode, nowMs: number): void {
    if (n.kind !== 'tool') return;
    const st = this.states.get(n.identity) ?? this.newState(n.identity, nowMs);
    this.seen(n.identity, st, nowMs);
    if (nowMs > st.activeMs) st.activeMs = nowMs;
    st.tools.push(n);
    st.toolsAt.push(nowMs);
    if (st.tools.length >= TOOLS_PER_IDENTITY + TOOLS_TRIM) dropOldestTools(st, st.tools.length - TOOLS_PER_IDENTITY);
  }

  /**
   * Before `part` settles: held candidates whose start lies in one of its tools are decided (now that
   * the tools' trace is complete), then the part's own unplaced calls. Moves nodes in and out of
   * `part.nodes`; candidates released on their own are settled into `into`.
   */
  beforeSettle(part: TracePart, mem: TraceMemory | undefined, nowMs: number, forced: boolean, into: SpanNode[]): void {
    if (this.states.size === 0 && part.orphans === 0) return;
    // The part's own tools are looked at whether or not they are still among their identity's recent
    // tools: a busy identity (one SPIFFE id for many replicas) may have had 64 more since.
    let tools: SpanNode[] | null = null;
    let candidates: SpanNode[] | null = null;
    for (const n of part.nodes.values()) {
      let st = this.states.get(n.identity);
      if (st === undefined) {
        // No tool seen of this identity: a parentless call is emitted at once, and remembered a moment
        // in case its tool arrives just after it (`adoptEarly`).
        if (!isParentlessCall(n)) continue;
        st = this.newState(n.identity, Number.NEGATIVE_INFINITY, nowMs);
      }
      if (n.kind === 'tool') (tools ??= []).push(n);
      else if (
        isClientCall(n) &&
        n.repairedTo === null && // not moved in by a claim
        this.unplaced(n, part, mem)
      ) {
        (candidates ??= []).push(n);
      }
    }
    if (tools !== null) {
      for (const t of tools) {
        const st = this.states.get(t.identity)!;
        if (st.held.length > 0) this.claim(st, t, part, tools, into);
        if (st.early !== null) adoptEarly(st, t, part.lastAddMs, this.graceMs);
      }
    }
    if (candidates === null) return;
    for (const c of candidates) {
      const st = this.states.get(c.identity)!;
      st.lostMs = nowMs;
      this.seen(c.identity, st, nowMs);
    }
    let children: Map<string, SpanNode[]> | null = null;
    for (const c of candidates) {
      const v = this.decide(c, part, tools, nowMs, forced);
      if (v.kind === 'own') this.noteIfEarly(c, part.lastAddMs);
      if (v.kind === 'context' || (v.kind === 'join' && v.part === part)) c.repairedTo = v.tool;
      else if (v.kind !== 'own') {
        children ??= childrenOf(part);
        const sub = detach(c, part.nodes, children);
        if (v.kind === 'hold') this.hold(c, sub, nowMs, into);
        else this.place(c, sub, v, into);
      }
    }
  }

  /**
   * Releases held candidates past their deadline (all of them when `force`), deciding with what is known;
   * then forgets identities idle past ACTIVE_MS, so their tools stop holding traces alive (review24 M2:
   * without this the state grew to MAX_IDENTITIES over weeks of short-lived instances).
   */
  expire(nowMs: number, into: SpanNode[], force: boolean): void {
    for (let h = this.queue.first(); h !== undefined && (force || h.deadline <= nowMs); h = this.queue.first()) {
      this.queue.shift();
      this.release(h, into);
    }
    if (nowMs >= this.nextSweepMs) {
      this.nextSweepMs = nowMs + KEEP_SWEEP_MS;
      for (const st of this.states.values()) dropToolsBefore(st, nowMs - this.keepMs);
    }
    for (const [identity, st] of this.states) {
      if (nowMs - st.seenMs <= ACTIVE_MS) break; // in recency order (within a second): the rest are newer
      if (st.held.length === 0) this.states.delete(identity);
    }
  }

  /** Marks the identity as seen now; it moves to the back of `states` (cheaply: at most once a second). */
  private seen(identity: string, st: IdentityState, nowMs: number): void {
    if (nowMs - st.seenMs < 1000) return;
    st.seenMs = nowMs;
    this.states.delete(identity);
    this.states.set(identity, st);
  }

  /**
   * No action and no agent span of its identity at or above it: parentless, parent unknown or remote,
   * or only structure above it. A call under its own agent's span was made where the framework keeps
   * context (had a tool made it, the tool would be its parent): the agent's own call, left alone.
   */
  private unplaced(n: SpanNode, part: TracePart, mem: TraceMemory | undefined): boolean {
    let pid = n.parentSpanId;
    for (let i = 0; i < MAX_WALK && pid !== ''; i++) {
      const p = part.nodes.get(pid);
      if (p === undefined) {
        const m = mem?.spans.get(pid);
        return m === undefined || (m.act === null && agentNameIn(m.ctx, n.identity) === null);
      }
      if (p.kind !== null || p.carrier !== Carrier.None || p.repairedTo !== null) return false;
      if (p.agentName !== null && p.identity === n.identity) return false;
      pid = p.parentSpanId;
    }
    return pid === '';
  }

  /**
   * Where candidate `c` goes. `finalizing` is the part being settled now (its tools may take `c`);
   * `forced` (deadline, drain) forbids holding on.
   */
  private decide(c: SpanNode, finalizing: TracePart | null, partTools: readonly SpanNode[] | null, nowMs: number, forced: boolean): Verdict {
    const st = this.states.get(c.identity);
    if (st === undefined) return OWN;
    const hits: SpanNode[] = [];
    const consider = (t: SpanNode) => {
      if (!contains(t, c)) return;
      const buffered = t.part !== null && (t.part.live || t.part === finalizing);
      if (!buffered && !t.visited) return; // held here itself (inside a candidate's subtree)
      if (t.traceId === c.traceId && isAncestor(c, t)) return; // would make a cycle
      hits.push(t);
    };
    // The finalizing part's tools once each: from `partTools`, whether or not still among the recent.
    for (const t of st.tools) if (finalizing === null || t.part !== finalizing) consider(t);
    if (partTools !== null) for (const t of partTools) if (t.identity === c.identity) consider(t);
    if (hits.length === 0) return !forced && nowMs - st.activeMs <= ACTIVE_MS ? HOLD : OWN;
    let tool: SpanNode | null = null;
    for (const h of hits) {
      if (hits.some((o) => o !== h && inside(o, h))) continue; // not innermost
      if (tool !== null) return OWN; // two innermost tools: parallel calls, ambiguous
      tool = h;
    }
    if (tool === null) return OWN; // identical intervals without a tree link: ambiguous too
    const p = tool.part;
    if (p !== null && (p === finalizing || (forced && p.live))) return { kind: 'join', part: p, tool };
    if (p === null || !p.live) return { kind: 'context', tool };
    return HOLD; // decided when the tool's own part is finalised, with all its siblings known
  }

  /** Decides the held candidates of `st` whose start lies in `tool`, which is settling in `part`. */
  private claim(st: IdentityState, tool: SpanNode, part: TracePart, partTools: readonly SpanNode[], into: SpanNode[]): void {
    for (const h of st.held.slice()) {
      const c = h.root;
      if (!startsWithin(tool, c)) continue;
      const v = this.decide(c, part, partTools, 0, false);
      if (v.kind === 'hold') continue;
      this.unhold(st, h);
      this.place(c, h.nodes, v, into);
    }
  }

  private hold(c: SpanNode, nodes: Map<string, SpanNode>, nowMs: number, into: SpanNode[]): void {
    const st = this.states.get(c.identity)!;
    for (const n of nodes.values()) n.part = null;
    const h: Held = { root: c, nodes, deadline: nowMs + this.holdMs, live: true };
    st.held.push(h);
    this.queue.push(h);
    this.heldCount += nodes.size;
    // Bounded: past the cap the oldest held candidates are decided now with what is known.
    for (let oldest = this.queue.first(); oldest !== undefined && this.heldCount > MAX_HELD_SPANS; oldest = this.queue.first()) {
      this.queue.shift();
      this.release(oldest, into);
    }
  }

  private unhold(st: IdentityState | undefined, h: Held): void {
    h.live = false;
    st?.held.splice(st.held.indexOf(h), 1);
    this.heldCount -= h.nodes.size;
  }

  /** A forced decision for a held candidate, then it leaves the hold (into a part, or settled alone). */
  private release(h: Held, into: SpanNode[]): void {
    this.unhold(this.states.get(h.root.identity), h);
    this.place(h.root, h.nodes, this.decide(h.root, null, null, 0, true), into);
  }

  /** A detached candidate's subtree goes under its tool's part, or is settled on its own now. */
  private place(c: SpanNode, nodes: Map<string, SpanNode>, v: Verdict, into: SpanNode[]): void {
    if (v.kind === 'join' && this.moveInto(c, nodes, v.part, v.tool)) return;
    if (v.kind === 'context') c.repairedTo = v.tool;
    this.host.settleDetached(c.traceId, nodes, into);
  }

  /** Puts a candidate's subtree into the tool's part under the tool; false on a span id clash. */
  private moveInto(c: SpanNode, nodes: Map<string, SpanNode>, part: TracePart, tool: SpanNode): boolean {
    for (const [id, n] of nodes) {
      const there = part.nodes.get(id);
      if (there !== undefined && there !== n) return false; // ids of two traces collide: keep them apart
    }
    for (const [id, n] of nodes) {
      part.nodes.set(id, n);
      n.part = part;
    }
    c.repairedTo = tool;
    return true;
  }

  private newState(identity: string, activeMs: number, seenMs = activeMs): IdentityState {
    if (this.states.size >= MAX_IDENTITIES) this.forgetOldest();
    const st: IdentityState = { tools: [], toolsAt: [], activeMs, seenMs, lostMs: Number.NEGATIVE_INFINITY, held: [], early: null };
    this.states.set(identity, st);
    return st;
  }

  /** A parentless call emitted on its own while its identity has shown no tool yet: its tool may still come. */
  private noteIfEarly(c: SpanNode, at: number): void {
    const st = this.states.get(c.identity)!;
    if (st.tools.length === 0 && isParentlessCall(c)) noteEarly(st, c, at, this.graceMs);
  }

  private forgetOldest(): void {
    for (const [identity, st] of this.states) {
      if (st.held.length > 0) continue; // still holding spans: forgetting would strand them
      this.states.delete(identity);
      return;
    }
  }
}

/** Drops an identity's tools that arrived at `cutoffMs` or before (they are in arrival order). */
function dropToolsBefore(st: IdentityState, cutoffMs: number): void {
  let n = 0;
  while (n < st.toolsAt.length && st.toolsAt[n] <= cutoffMs) n++;
  if (n > 0) dropOldestTools(st, n);
}

/** Drops an identity's `n` oldest tools (the two arrays stay in step). */
function dropOldestTools(st: IdentityState, n: number): void {
  st.tools.splice(0, n);
  st.toolsAt.splice(0, n);
}
