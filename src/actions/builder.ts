/**
 * Spans -> actions through a bounded per-trace buffer (CONTRACT §3). The buffer exists because a tool's
 * access is the strongest of its own and its descendants', and descendants arrive in any order and in
 * separate export batches.
 *
 * Readiness: a trace part is ready when every buffered span's parent is buffered too, or the span is a
 * real root (no parent; a SERVER/CONSUMER span whose parent lives in another process; or a parent
 * already emitted). Ready parts are emitted by the next `take` at once, so complete traces see no added
 * latency — except one holding a tool with no call under it yet, which waits `LATE_CALL_GRACE_MS` for
 * calls exported just after it (part.ts). Other parts are emitted `traces.wait` ms after their last new
 * span (by the `nowMs` callers pass: wall clock in serve, the newest event time in replay), so spans whose parent never comes are
 * late, not lost; and at the latest `MAX_HOLD_WAITS × traces.wait` after the part's first span, so a
 * long session that trickles spans under a root that has not ended is not held indefinitely.
 *
 * Bounds: at most `traces.maxTraces` traces (the least recently extended one is emitted with what it
 * has) and `traces.maxSpansPerTrace` spans per trace (the trace is emitted when it reaches it). Nothing
 * is ever dropped. Spans of an already emitted trace start a new part, placed with what memory.ts
 * remembers of the emitted one (late children: see there).
 *
 * Context repair (§3.1, repair.ts): before a part settles, its unplaced HTTP/DB calls are attributed to
 * the one innermost same-identity tool containing their start (re-parented in this part, moved into the
 * tool's part, or held a bounded while for a tool still to come), and held calls whose tool is in this
 * part join it. Held calls count in `heldSpans` and are emitted at the latest
 * `REPAIR_HOLD_WAITS × traces.wait` after they were held. A ready part holding a tool of an identity
 * whose calls lose context waits `LATE_CALL_GRACE_MS` more, for such a call exported just after it.
 *
 * Several identities in one trace (§3.1): each span is judged under its own resource's identity, and
 * the hop from a caller's span to the first span of another identity is emitted as a `delegation`
 * action of the caller whose target is the callee identity (tree.ts, node.ts `makeHopNode`); the
 * callee's actions carry the caller in `caller`.
 */
import type { Config } from '../config/schema.js';
import { SpanKind, type DecodedSpan } from '../model.js';
import { Classifier } from './classify.js';
import type { IgnoreReason } from './facts.js';
import { MAX_IDENTITY_CHARS } from './bounds.js';
import { identityOf, peerGroupOf } from './identity.js';
import { EmittedMemory, type TraceMemory } from './memory.js';
import { isClientCall, makeNode, type SpanNode } from './node.js';
import { hasToolWithoutCalls, LATE_CALL_GRACE_MS, type TracePart as TraceBuf } from './part.js';
import { FifoQueue } from '../collections/fifo.js';
import { RecencyQueue } from '../collections/recency.js';
import { ContextRepair, REPAIR_HOLD_WAITS } from './repair.js';
import { RetryMemory } from './retry.js';
import { byEventTime, settleTrace } from './tree.js';
import type { Action } from './types.js';
import { compileSensitive, compileZones, type SensitiveRules, type ZoneMap } from './zones.js';

/**
 * A part that keeps receiving spans (a long session whose root span has not ended) is still emitted
 * once its first span is this many `traces.wait` old, so a trickle cannot delay its actions forever.
 */
export const MAX_HOLD_WAITS = 5;

/** Spans remembered across emitted traces for late children (settled nodes, a few hundred bytes each). */
const REMEMBERED_SPANS = 100_000;

/**
 * Turns accepted spans into actions. Single-threaded and synchronous: `add` buffers, `take` hands out
 * what is ready, `drain` everything. Ignored spans are reported through `onIgnored`, one call each.
 */
export class ActionBuilder {
  private readonly classifier: Classifier;
  private readonly zones: ZoneMap;
  private readonly sensitive: SensitiveRules;
  private readonly wait: number;
  private readonly grace: number;
  private readonly maxTraces: number;
  private readonly maxSpans: number;
  private readonly traces = new Map<string, TraceBuf>();
  /** Parts in recency order (least recently extended first): eviction and timeouts read the front. */
  private readonly order = new RecencyQueue<TraceBuf>();
  /** Parts in creation order, for the MAX_HOLD_WAITS cap. */
  private readonly born = new FifoQueue<TraceBuf>();
  /** Parts extended since the last `take`: only these can have become ready. */
  private readonly dirty = new Set<TraceBuf>();
  /** Ready parts waiting out a context-repair grace (`TracePart.holdUntil`). */
  private readonly graced = new Set<TraceBuf>();
  private readonly memory = new EmittedMemory(REMEMBERED_SPANS);
  private readonly retries = new RetryMemory();
  private readonly repair: ContextRepair;
  private readonly heldFor = (tool: SpanNode) => this.repair.holdsCallFor(tool);
  /** Emitted nodes of parts settled by bounds during `add`, handed out by the next `take`. */
  private out: SpanNode[] = [];
  private held = 0;
  private epoch = 0;

  /** @param onIgnored called once per span that yields no action, with its reason (and for unnamed tools). */
  constructor(
    private readonly config: Config,
    private readonly onIgnored: (reason: IgnoreReason) => void,
  ) {
    this.classifier = new Classifier(config);
    this.zones = compileZones(config);
    this.sensitive = compileSensitive(config);
    this.wait = config.traces.wait;
    this.maxTraces = config.traces.maxTraces;
    this.maxSpans = config.traces.maxSpansPerTrace;
    this.grace = Math.min(this.wait, LATE_CALL_GRACE_MS);
    this.repair = new ContextRepair(this.wait * REPAIR_HOLD_WAITS, this.grace, {
      settleDetached: (traceId, nodes, into) => this.settle(traceId, nodes, into),
    });
  }

  /** Spans currently buffered (trace parts and calls held by context repair). */
  get heldSpans(): number {
    return this.held;
  }

  /** Trace parts currently buffered. */
  get heldTraces(): number {
    return this.traces.size;
  }

  /** Buffers spans that already passed `rejectReason` (any order, any batch split). */
  add(spans: readonly DecodedSpan[], nowMs: number): void {
    const epoch = ++this.epoch;
    let buf: TraceBuf | undefined;
    let mem: TraceMemory | undefined;
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i];
      const identity = identityOf(span, this.config);
      // Callers reject these first (no_identity, identity_too_long); never guess one.
      if (identity === null || identity.length > MAX_IDENTITY_CHARS) continue;
      if (buf === undefined || buf.traceId !== span.traceId) {
        buf = this.partFor(span.traceId, nowMs);
        mem = this.memory.get(span.traceId);
      }
      if (buf.nodes.has(span.spanId) || mem?.spans.has(span.spanId)) {
        this.onIgnored('duplicate_span');
        continue;
      }
      const node = makeNode(span, identity, peerGroupOf(span, this.config), this.classifier);
      node.part = buf;
      this.link(buf, node, span.kind, mem);
      this.repair.noteAdded(node, nowMs);
      if (node.kind === 'tool') {
        buf.tools++;
        buf.holdUntil = Math.max(buf.holdUntil, this.repair.graceUntil(node, nowMs));
      }
      this.held++;
      buf.lastAddMs = nowMs;
      if (buf.epoch !== epoch) {
        buf.epoch = epoch;
        this.order.touch(buf);
        this.dirty.add(buf);
      }
      if (buf.nodes.size >= this.maxSpans) {
        this.finalize(buf, this.out, nowMs);
        buf = undefined;
      }
    }
  }

  /** Actions of every part that is ready (complete, timed out), in event-time order. */
  take(nowMs: number): Action[] {
    const result = this.out;
    this.out = [];
    for (const buf of this.dirty) if (buf.dangling === 0 && buf.orphans > 0) this.finalize(buf, result, nowMs);
    for (const buf of this.dirty) {
      if (buf.dangling !== 0) continue;
      // Decided once, when the part is first ready: a tool with no call under it yet waits for its calls
      // until `grace` after the part's last span arrived.
      if (buf.holdUntil === 0 && buf.tools > 0 && hasToolWithoutCalls(buf, this.memory.get(buf.traceId), this.heldFor)) {
        buf.holdUntil = buf.lastAddMs + this.grace;
      }
      if (buf.holdUntil > nowMs) this.graced.add(buf);
      else this.finalize(buf, result, nowMs);
    }
    this.dirty.clear();
    for (const buf of this.graced) {
      if (!buf.live || buf.dangling !== 0) this.graced.delete(buf); // emitted meanwhile, or waiting for a parent again
      else if (buf.holdUntil <= nowMs) this.finalize(buf, result, nowMs);
    }
    for (let buf = this.order.oldest(); buf !== undefined; buf = this.order.oldest()) {
      if (buf.lastAddMs + this.wait > nowMs) break;
      this.finalize(buf, result, nowMs);
    }
    const maxHold = this.wait * MAX_HOLD_WAITS;
    for (let buf = this.born.first(); buf !== undefined && buf.firstAddMs + maxHold <= nowMs; buf = this.born.first()) {
      this.born.shift();
      this.finalize(buf, result, nowMs);
    }
    this.repair.expire(nowMs, result, false);
    this.maintain();
    this.retries.forgetIdle(nowMs);
    return this.actionsOf(result);
  }

  /** Everything held, ready or not (shutdown, end of replay). */
  drain(): Action[] {
    const result = this.out;
    this.out = [];
    // Parts with unplaced calls first, so a call whose tool is still buffered joins it. Each settling
    // part's tools claim the held calls they contain (all of its tools, not only the identity's latest
    // 64); the held calls left are released last.
    for (const buf of [...this.traces.values()]) if (buf.orphans > 0) this.finalize(buf, result, Infinity, true);
    for (let buf = this.order.oldest(); buf !== undefined; buf = this.order.oldest()) {
      this.finalize(buf, result, Infinity, true);
    }
    this.repair.expire(Number.POSITIVE_INFINITY, result, true);
    this.dirty.clear();
    this.maintain();
    return this.actionsOf(result);
  }

  private partFor(traceId: string, nowMs: number): TraceBuf {
    let buf = this.traces.get(traceId);
    if (buf !== undefined) return buf;
    if (this.traces.size >= this.maxTraces) {
      const oldest = this.order.oldest();
      if (oldest !== undefined) this.finalize(oldest, this.out, nowMs);
    }
    buf = {
      traceId,
      nodes: new Map(),
      firstAddMs: nowMs,
      lastAddMs: nowMs,
      dangling: 0,
      waiting: null,
      epoch: 0,
      orphans: 0,
      tools: 0,
      holdUntil: 0,
      seq: 0,
      live: true,
    };
    this.traces.set(traceId, buf);
    this.born.push(buf);
    return buf;
  }

  /** Keeps both order queues proportional to the parts held. */
  private maintain(): void {
    this.order.maintain(this.traces.size);
    this.born.prune(this.traces.size);
  }

  /** Adds the node and keeps `dangling` exact, so readiness is an O(1) check. */
  private link(buf: TraceBuf, node: SpanNode, spanKind: number, mem: TraceMemory | undefined): void {
    buf.nodes.set(node.spanId, node);
    if (buf.waiting !== null) {
      const n = buf.waiting.get(node.spanId);
      if (n !== undefined) {
        buf.waiting.delete(node.spanId);
        buf.dangling -= n;
      }
    }
    const parent = node.parentSpanId;
    if (parent === '' && isClientCall(node)) buf.orphans++;
    if (parent === '' || buf.nodes.has(parent) || mem?.spans.has(parent)) return;
    // A remote parent: the caller lives in another process (or another identity's export).
    if (spanKind === SpanKind.SERVER || spanKind === SpanKind.CONSUMER) return;
    buf.waiting ??= new Map();
    buf.waiting.set(parent, (buf.waiting.get(parent) ?? 0) + 1);
    buf.dangling++;
  }

  /** `forced`: drain — context repair may hold nothing back. */
  private finalize(buf: TraceBuf, into: SpanNode[], nowMs: number, forced = false): void {
    const mem = this.memory.get(buf.traceId);
    this.repair.beforeSettle(buf, mem, nowMs, forced, into);
    buf.live = false;
    this.traces.delete(buf.traceId);
    this.dirty.delete(buf);
    this.graced.delete(buf);
    this.settle(buf.traceId, buf.nodes, into);
  }

  /** Settles a group of nodes (a trace part, or a call released by context repair) into actions. */
  private settle(traceId: string, byId: Map<string, SpanNode>, into: SpanNode[]): void {
    const nodes = [...byId.values()];
    this.held -= nodes.length;
    const emitted = settleTrace(nodes, byId, this.memory.get(traceId), this.onIgnored);
    for (const n of nodes) {
      n.part = null;
      // Only parent links are read once settled (repair's `inside`, memory's pending check): without the
      // child links, a tool context repair keeps holds its ancestors, not its whole trace.
      n.firstChild = null;
      n.nextSibling = null;
    }
    for (const n of emitted) into.push(n);
    this.memory.record(traceId, byId);
  }

  /**
   * The actions of nodes settled together (parts of several traces, often of one identity), in event
   * time: spans listed out of order in one export are judged as if in order (CONTRACT §3 Time), which
   * the retry signal needs — a call repeated after an error is its retry only once the error is known.
   */
  private actionsOf(emitted: SpanNode[]): Action[] {
    for (let i = 1; i < emitted.length; i++) {
      if (byEventTime(emitted[i - 1], emitted[i]) > 0) {
        emitted.sort(byEventTime);
        break;
      }
    }
    return emitted.map((n) => this.toAction(n));
  }

  private toAction(n: SpanNode): Action {
    const kind = n.kind!;
    const retry =
      !n.classOnly && (this.retries.judge(n.identity, kind, n.target, n.callId, n.spanId, n.failed, n.startMs, n.endMs) || n.retry);
    const zone = n.host === null ? null : this.zones.zoneOf(n.host);
    // Sensitive marks reads (a write into the secrets zone is not a sensitive *read*); an unknown
    // class counts as a possible read. Model calls are never sensitive flows (§3.1).
    const s = this.sensitive;
    const sensitive =
      kind !== 'model' &&
      (n.access === null || n.access === 'read') &&
      (s.zone(zone) || (kind === 'tool' && s.tool(n.target)) || s.target(n.target));
    return {
      time: n.startMs,
      endTime: n.endMs,
      identity: n.identity,
      peerGroup: n.peerGroup,
      kind,
      target: n.target,
      access: n.access,
      // A tool or delegation has a host only when it went over the network (an MCP server, a remote agent).
      host: n.host,
      zone,
      sensitive,
      failed: n.failed,
      retry,
      traceId: n.traceId,
      spanId: n.spanId,
      parentSpanId: n.parentSpanId,
      credential: n.credential,
      scopes: n.scopes,
      agent: n.agent,
      caller: n.caller,
      attributedTo: n.repairedTo === null ? null : { traceId: n.repairedTo.traceId, spanId: n.repairedTo.spanId },
      accessBy: n.accessBy,
      calleeClockShiftMs: n.calleeShiftMs,
      table: n.table,
      classOnly: n.classOnly,
      inEntrySpan: madeInEntrySpan(n),
    };
  }
}

/**
 * True for a call made directly in its identity's entry span (`Action.inEntrySpan`, SpanNode.entry), in
 * this trace part: a call under an entry remembered from an earlier part is a step as ever.
 */
function madeInEntrySpan(n: SpanNode): boolean {
  const entry = n.parent;
  if (n.kind === 'tool' || n.kind === 'delegation' || n.kind === 'model' || entry === null) return false;
  return entry.entry && entry.identity === n.identity;
}
