/**
 * The buffered form of a span: its own facts plus who, when and where in the tree. One object per
 * span, built at `add` time, so the DecodedSpan (and any statement or URL query it carried) is not
 * retained by the buffer. Tree fields are scratch for tree.ts.
 */
import { SpanKind, type DecodedSpan } from '../model.js';
import * as A from './attributes.js';
import { boundName, MAX_CREDENTIAL_CHARS, MAX_NAME_CHARS, MAX_SCOPES } from './bounds.js';
import type { Classifier } from './classify.js';
import { Carrier, type SpanFacts } from './facts.js';
import type { TracePart } from './part.js';
import type { ActionKind, Credential } from './types.js';
import { Memo } from '../collections/memo.js';

/** An agent span seen above a node: context for descendants (never the identity). */
export interface AgentCtx {
  readonly name: string;
  readonly identity: string;
  readonly prev: AgentCtx | null;
}

/** What a descendant needs to know about its nearest action ancestor (transport and nested-tool folding). */
export interface ActLike {
  kind: ActionKind | null;
  target: string;
  identity: string;
  carrier: Carrier;
  host: string | null;
  /** The identity this call's last delegation edge went to (tree.ts `hopFrom`). */
  hopTo: string | null;
}

/** What clock correction (clock.ts) needs of a span's parent, buffered or remembered. */
export interface Clocked {
  readonly spanKind: number;
  readonly startMs: number;
  readonly endMs: number;
  /** How far this span's times were moved onto its trace's clock (clock.ts); 0 when they were not. */
  readonly clockShiftMs: number;
}

/** A buffered span: own facts, identity, credential, scopes and tree scratch. */
export interface SpanNode extends SpanFacts, ActLike, Clocked {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  spanKind: number;
  startMs: number;
  endMs: number;
  clockShiftMs: number;
  identity: string;
  peerGroup: string;
  credential: Credential | null;
  scopes: string[];

  // Tree scratch, reset by tree.ts on every finalisation.
  parent: SpanNode | null;
  firstChild: SpanNode | null;
  nextSibling: SpanNode | null;
  /** Agent context this node passes to its descendants. */
  ctx: AgentCtx | null;
  /** Nearest action at or above this node (itself when it is emitted). */
  act: ActLike | null;
  /** Emitted as an action. */
  emit: boolean;
  /** A nested duplicate tool span: not emitted, but its own access still counts for its ancestors. */
  foldedTool: boolean;
  /** Strongest access rank in the subtree (own included), -1 for none. */
  rank: number;
  /** The identity whose span has that rank (null: unknown, it came from a subtree emitted earlier). */
  rankBy: string | null;
  /** A tool whose access class came from another identity's span below it: that identity. */
  accessBy: string | null;
  /** Identities of failed actions strictly below this node (null: none). */
  failedBelow: string[] | null;
  /** Agent this action runs under. */
  agent: string | null;
  /** Nearest ancestor identity other than this node's (who delegated the work), or null. */
  caller: string | null;
  /** A hop found after its callee's spans were emitted on the callee's own clock: how far that clock was behind (ms). */
  calleeShiftMs: number;
  /** A tool's later class, not a call (`makeClassNode`). */
  classOnly: boolean;
  /**
   * Its identity's entry span for a request from another traced identity: a SERVER or CONSUMER span whose
   * parent is another identity's span, or one not known (set in tree.ts `visit`). A hop into the identity
   * borrows such a span's id.
   */
  entry: boolean;
  visited: boolean;

  // Context repair (repair.ts).
  /** The buffered part holding this node; null once settled, or while context repair holds it. */
  part: TracePart | null;
  /**
   * The tool span context repair attributed this parentless or foreign-parented call to: its tree
   * parent when both settle in one part, else (the tool already emitted) the context it runs under.
   */
  repairedTo: SpanNode | null;
}

/** What a delegation edge needs to know about the calling span (a settled or remembered SpanNode). */
export interface HopCaller {
  readonly identity: string;
  readonly peerGroup: string;
  readonly caller: string | null;
  readonly credential: Credential | null;
  readonly scopes: string[];
  readonly ctx: AgentCtx | null;
}

/** Where the callee's work starts: the first span of another identity under the caller's span. */
export interface HopEntry {
  readonly identity: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly spanKind: number;
  readonly startMs: number;
  readonly endMs: number;
}

// Scope arrays may be shared between actions (one per resource): frozen, so a consumer that mutates
// one fails loudly instead of silently changing other actions' scopes.
const EMPTY_SCOPES: string[] = Object.freeze([]) as unknown as string[];

/** `nhi.scopes`: a string array, or one string separated by spaces and/or commas; at most MAX_SCOPES, each bounded. */
export function scopesOf(v: unknown): string[] | null {
  let out: string[];
  if (Array.isArray(v)) out = v.filter((s): s is string => typeof s === 'string' && s !== '');
  else if (typeof v === 'string') out = v.split(/[\s,]+/).filter((s) => s !== '');
  else return null;
  if (out.length === 0) return null;
  if (out.length > MAX_SCOPES) out.length = MAX_SCOPES;
  for (let i = 0; i < out.length; i++) out[i] = boundName(out[i]);
  return out;
}

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v !== '';

/**
 * `nhi.credential.id`/`.type`, span level before resource level. The type comes from the id's level: a
 * span's own token is not the resource's Vault lease. A type on a resource that names no credential
 * of its own (`OTEL_RESOURCE_ATTRIBUTES=nhi.credential.type=oauth_jti`) types the ids its spans carry.
 */
function credentialOf(span: DecodedSpan): Credential | null {
  const own = span.attributes[A.NHI_CREDENTIAL_ID];
  const res = span.resource[A.NHI_CREDENTIAL_ID];
  if (nonEmpty(own)) {
    const type = span.attributes[A.NHI_CREDENTIAL_TYPE] ?? (nonEmpty(res) ? null : span.resource[A.NHI_CREDENTIAL_TYPE]);
    return credential(own, type);
  }
  if (!nonEmpty(res)) return null;
  // One object per resource, like its scopes: a node per span is kept a while, and so is its credential.
  let cached = resourceCredentials.get(span.resource);
  if (cached === undefined) {
    const c = credential(res, span.resource[A.NHI_CREDENTIAL_TYPE]);
    resourceCredentials.set(span.resource, (cached = c && Object.freeze(c)));
  }
  return cached;
}

// Resource-level credentials built once per resource object (decoders share one object per ResourceSpans).
const resourceCredentials = new WeakMap<object, Credential | null>();

/** A credential within the bounds (bounds.ts): an id too long to be real is dropped, never cut. */
function credential(id: string, type: unknown): Credential | null {
  if (id.length > MAX_CREDENTIAL_CHARS) return null;
  return { id, type: nonEmpty(type) ? boundName(type) : null };
}

// Resource-level scopes parsed once per resource object (decoders share one object per ResourceSpans).
const resourceScopes = new WeakMap<object, string[]>();

/**
 * The span-level scopes last parsed, frozen. A span's own `nhi.scopes` usually repeat from span to span
 * (one agent's token), so nodes with an equal list share this one array: one array per list held in the
 * buffer and memory instead of one per span, and the action encoder recognises it by reference.
 */
let lastSpanScopes: string[] = EMPTY_SCOPES;

function sharedScopes(list: string[]): string[] {
  const last = lastSpanScopes;
  if (list.length !== last.length || list.some((s, i) => s !== last[i])) lastSpanScopes = Object.freeze(list) as string[];
  return lastSpanScopes;
}

function scopesOfSpan(span: DecodedSpan): string[] {
  const own = span.attributes[A.NHI_SCOPES];
  if (own !== undefined) {
    const list = scopesOf(own);
    return list === null ? EMPTY_SCOPES : sharedScopes(list);
  }
  const res = span.resource[A.NHI_SCOPES];
  if (res === undefined) return EMPTY_SCOPES;
  let cached = resourceScopes.get(span.resource);
  if (cached === undefined) {
    cached = (Object.freeze(scopesOf(res)) as string[] | null) ?? EMPTY_SCOPES;
    resourceScopes.set(span.resource, cached);
  }
  return cached;
}

/** Where and when a node's span ran: the span itself, or (a hop) the callee's entry span. */
type SpanPlace = Pick<DecodedSpan, 'traceId' | 'spanId' | 'parentSpanId' | 'kind' | 'startMs' | 'endMs'>;

/**
 * The one SpanNode literal, so every node has one hidden class: not an action yet, no tree. Who it is
 * of comes as arguments, not an object: this runs for every span.
 */
function blankNode(at: SpanPlace, identity: string, peerGroup: string, credential: Credential | null, scopes: string[]): SpanNode {
  return {
    kind: null,
    ignore: 'not_an_action',
    target: '',
    access: null,
    host: null,
    failed: false,
    retry: false,
    callId: null,
    agentName: null,
    unknownTool: false,
    carrier: Carrier.None,
    table: null,
    modelEndpoint: false,
    traceId: at.traceId,
    spanId: at.spanId,
    parentSpanId: at.parentSpanId,
    spanKind: at.kind,
    startMs: at.startMs,
    endMs: at.endMs,
    clockShiftMs: 0,
    identity,
    peerGroup,
    credential,
    scopes,
    parent: null,
    firstChild: null,
    nextSibling: null,
    ctx: null,
    act: null,
    emit: false,
    foldedTool: false,
    rank: -1,
    rankBy: null,
    accessBy: null,
    failedBelow: null,
    agent: null,
    caller: null,
    calleeShiftMs: 0,
    classOnly: false,
    entry: false,
    hopTo: null,
    visited: false,
    part: null,
    repairedTo: null,
  };
}

/** Builds the node for a span already known to have `identity`, with the span's own facts. */
export function makeNode(span: DecodedSpan, identity: string, peerGroup: string, classifier: Classifier): SpanNode {
  const node = blankNode(span, identity, peerGroup, credentialOf(span), scopesOfSpan(span));
  classifier.classifyInto(span, node);
  boundNames(node);
  return node;
}

/**
 * One string object per distinct target and host. They repeat from span to span (a tool, an API route,
 * a host), but every span decodes or builds its own copy, which its node keeps while buffered and
 * remembered (so young-generation GCs copy it) and the action encoder hashes again. Targets are low
 * cardinality by design (ids in paths are templated); a flood of distinct ones only clears the memo.
 */
const sharedNames = new Memo<string>(10_000);

function shared(name: string): string {
  const known = sharedNames.get(name);
  if (known !== undefined) return known;
  sharedNames.set(name, name);
  return name;
}

/** Bounds the names a node took from its span (bounds.ts; short names, all real ones, are left alone) and shares them. */
function boundNames(n: SpanNode): void {
  if (n.target.length > MAX_NAME_CHARS) n.target = boundName(n.target);
  if (n.target !== '') n.target = shared(n.target);
  if (n.host !== null) n.host = shared(n.host.length > MAX_NAME_CHARS ? boundName(n.host) : n.host);
  if (n.agentName !== null && n.agentName.length > MAX_NAME_CHARS) n.agentName = boundName(n.agentName);
  if (n.callId !== null && n.callId.length > MAX_NAME_CHARS) n.callId = boundName(n.callId);
}

/** An HTTP or DB call this process made (a CLIENT span): the calls a tool makes, which repair places. */
export function isClientCall(n: { kind: SpanNode['kind']; spanKind: SpanNode['spanKind'] }): boolean {
  return (n.kind === 'http' || n.kind === 'db') && n.spanKind === SpanKind.CLIENT;
}

/** Nearest agent name of `identity` in a context chain. */
export function agentNameIn(ctx: AgentCtx | null, identity: string): string | null {
  for (let c = ctx; c !== null; c = c.prev) if (c.identity === identity) return c.name;
  return null;
}

/**
 * The caller's delegation edge to another identity (CONTRACT §3.1: the hop between identities is a
 * delegation of the caller): an emitted, already settled node of the caller's identity whose target is
 * the callee's identity. It borrows the callee's entry span id (that span is the callee's task, usually a
 * SERVER span that is no action of its own) and never fails: the caller's own call carries the outcome,
 * so a failed hop still counts once. `calleeShiftMs`: for an entry emitted before its caller arrived, on
 * its own clock, how far that clock was behind the caller's: the hop is placed on the caller's clock.
 */
export function makeHopNode(caller: HopCaller, entry: HopEntry, calleeShiftMs = 0): SpanNode {
  const { traceId, spanId, parentSpanId, startMs, endMs } = entry;
  const at = { traceId, spanId, parentSpanId, kind: 0, startMs: startMs + calleeShiftMs, endMs: endMs + calleeShiftMs };
  const n = blankNode(at, caller.identity, caller.peerGroup, caller.credential, caller.scopes);
  n.calleeShiftMs = calleeShiftMs;
  n.kind = 'delegation';
  n.ignore = null;
  n.target = entry.identity;
  n.ctx = caller.ctx;
  n.emit = true;
  n.agent = agentNameIn(caller.ctx, caller.identity);
  n.caller = caller.caller;
  n.visited = true;
  return n;
}

/**
 * An emitted tool's stronger class, from work below it that arrived after the tool was emitted (review38
 * H2, review37 F3; `by`: the other identity that did it, or null): the tool again, with that class, as a
 * class-only action (`Action.classOnly`).
 */
export function makeClassNode(tool: SpanNode, access: SpanNode['access'], by: string | null): SpanNode {
  const { traceId, spanId, parentSpanId, spanKind: kind, startMs, endMs } = tool;
  const n = blankNode({ traceId, spanId, parentSpanId, kind, startMs, endMs }, tool.identity, tool.peerGroup, tool.credential, tool.scopes);
  n.kind = 'tool';
  n.ignore = null;
  n.target = tool.target;
  n.access = access;
  n.accessBy = by;
  n.host = tool.host;
  n.ctx = tool.ctx;
  n.agent = tool.agent;
  n.caller = tool.caller;
  n.repairedTo = tool.repairedTo;
  n.emit = true;
  n.visited = true;
  n.classOnly = true;
  return n;
}
