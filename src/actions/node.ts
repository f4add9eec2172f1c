/**
 * The buffered form of a span: its own facts plus who, when and where in the tree. One object per
 * span, built at `add` time, so the DecodedSpan (and any statement or URL query it carried) is not
 * retained by the buffer. Tree fields are scratch for tree.ts.
 */
import type { DecodedSpan } from '../model.js';
import * as A from './attributes.js';
import type { Classifier } from './classify.js';
import { Carrier, type SpanFacts } from './facts.js';
import type { ActionKind, Credential } from './types.js';

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
}

/** A buffered span: own facts, identity, credential, scopes and tree scratch. */
export interface SpanNode extends SpanFacts, ActLike {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  spanKind: number;
  startMs: number;
  endMs: number;
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
  /** Identities of failed actions strictly below this node (null: none). */
  failedBelow: string[] | null;
  /** Agent this action runs under. */
  agent: string | null;
  /** Nearest ancestor identity other than this node's (who delegated the work), or null. */
  caller: string | null;
  visited: boolean;
}

// Scope arrays may be shared between actions (one per resource): frozen, so a consumer that mutates
// one fails loudly instead of silently changing other actions' scopes.
const EMPTY_SCOPES: string[] = Object.freeze([]) as unknown as string[];

/** `nhi.scopes`: a string array, or one string separated by spaces and/or commas. */
export function scopesOf(v: unknown): string[] | null {
  if (Array.isArray(v)) {
    const out = v.filter((s): s is string => typeof s === 'string' && s !== '');
    return out.length > 0 ? out : null;
  }
  if (typeof v === 'string' && v.trim() !== '') return v.split(/[\s,]+/).filter((s) => s !== '');
  return null;
}

/** `nhi.credential.id`/`.type`, span level before resource level (id and type from the same level). */
export function credentialOf(span: DecodedSpan): Credential | null {
  for (const attrs of [span.attributes, span.resource]) {
    const id = attrs[A.NHI_CREDENTIAL_ID];
    if (typeof id === 'string' && id !== '') {
      const type = attrs[A.NHI_CREDENTIAL_TYPE];
      return { id, type: typeof type === 'string' && type !== '' ? type : null };
    }
  }
  return null;
}

// Resource-level scopes parsed once per resource object (decoders share one object per ResourceSpans).
const resourceScopes = new WeakMap<object, string[]>();

function scopesOfSpan(span: DecodedSpan): string[] {
  const own = span.attributes[A.NHI_SCOPES];
  if (own !== undefined) return scopesOf(own) ?? EMPTY_SCOPES;
  const res = span.resource[A.NHI_SCOPES];
  if (res === undefined) return EMPTY_SCOPES;
  let cached = resourceScopes.get(span.resource);
  if (cached === undefined) {
    cached = (Object.freeze(scopesOf(res)) as string[] | null) ?? EMPTY_SCOPES;
    resourceScopes.set(span.resource, cached);
  }
  return cached;
}

/** Builds the node for a span already known to have `identity` (one object literal: one hidden class). */
export function makeNode(span: DecodedSpan, identity: string, peerGroup: string, classifier: Classifier): SpanNode {
  const node: SpanNode = {
    kind: null,
    ignore: 'not_an_action',
    convention: '',
    target: '',
    access: null,
    host: null,
    failed: false,
    retry: false,
    callId: null,
    agentName: null,
    unknownTool: false,
    carrier: Carrier.None,
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: span.parentSpanId,
    spanKind: span.kind,
    startMs: span.startMs,
    endMs: span.endMs,
    identity,
    peerGroup,
    credential: credentialOf(span),
    scopes: scopesOfSpan(span),
    parent: null,
    firstChild: null,
    nextSibling: null,
    ctx: null,
    act: null,
    emit: false,
    foldedTool: false,
    rank: -1,
    failedBelow: null,
    agent: null,
    caller: null,
    visited: false,
  };
  classifier.classifyInto(span, node);
  return node;
}
