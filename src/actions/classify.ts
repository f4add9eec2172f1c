/**
 * One span -> its own facts (kind, target, access, host, outcome, agent marker). The convention table
 * decides kind and target; this file adds what does not depend on the convention: `nhi.access`
 * precedence, the outcome, `http.request.resend_count`, and whether the span is an agent span.
 * Everything that needs the trace tree (delegation vs task, inherited access, transport folding,
 * failure de-duplication, repeated calls) happens in tree.ts.
 */
import type { Config } from '../config/schema.js';
import { SpanKind, StatusCode, type DecodedSpan } from '../model.js';
import * as A from './attributes.js';
import { compileCatalog, parseAccess, stronger, type Catalog } from './access.js';
import { CONVENTIONS } from './conventions.js';
import type { SpanFacts } from './facts.js';
import { makeNode } from './node.js';
import { compileTemplates } from './templates.js';
import { after, agentName, num, str } from './read.js';

export { IGNORE_REASONS, type IgnoreReason, type SpanFacts } from './facts.js';

const VERCEL_AGENT_OPERATIONS = new Set(['ai.generateText', 'ai.streamText', 'ai.generateObject', 'ai.streamObject']);

/**
 * The value of `"lc_agent_name"` in OpenInference's JSON `metadata`, found by scanning rather than
 * `JSON.parse` (which would materialise the whole object per span). Both `"k":"v"` and `"k": "v"`
 * spacings occur (JavaScript and Python serialisers).
 */
function lcAgentName(metadata: string): string | null {
  const key = metadata.indexOf('"lc_agent_name"');
  if (key < 0) return null;
  let i = key + 15;
  while (metadata.charCodeAt(i) === 32) i++;
  if (metadata.charCodeAt(i) !== 58 /* : */) return null;
  i++;
  while (metadata.charCodeAt(i) === 32) i++;
  if (metadata.charCodeAt(i) !== 34 /* " */) return null;
  const end = metadata.indexOf('"', i + 1);
  return end > i + 1 ? metadata.slice(i + 1, end) : null;
}

/**
 * The agent name when the span is an agent span per §3.1 (`invoke_agent`; OpenInference AGENT with
 * `graph.node.id`; a CHAIN named like its `metadata.lc_agent_name`; Vercel `ai.generateText` & co.;
 * `traceloop.span.kind=agent`), else null. The name is context for descendants, never the identity.
 */
function agentNameOf(span: DecodedSpan): string | null {
  const a = span.attributes;
  const oi = str(a, A.OPENINFERENCE_SPAN_KIND);
  const operation = str(a, A.GEN_AI_OPERATION_NAME);
  let isAgent = operation === 'invoke_agent';
  if (!isAgent && oi !== null) {
    if (oi === 'AGENT') isAgent = str(a, A.GRAPH_NODE_ID) !== null;
    else if (oi === 'CHAIN') {
      const metadata = str(a, A.METADATA);
      isAgent = metadata !== null && lcAgentName(metadata) === span.name;
    }
  }
  if (!isAgent) isAgent = VERCEL_AGENT_OPERATIONS.has(str(a, A.AI_OPERATION_ID) ?? '');
  if (!isAgent) isAgent = str(a, A.TRACELOOP_SPAN_KIND) === 'agent';
  if (!isAgent) return null;
  return (
    agentName(a) ??
    str(a, A.GRAPH_NODE_ID) ??
    str(a, A.AI_TELEMETRY_FUNCTION_ID) ??
    str(a, A.TRACELOOP_ENTITY_NAME) ??
    after(span.name, 'invoke_agent ') ??
    span.name
  );
}

/**
 * Failed per CONTRACT §3: status ERROR, `error.type`, an HTTP status ≥ 400, or an RPC status that is
 * not OK. The status message is never read (it holds stack traces).
 */
function failedOf(span: DecodedSpan): boolean {
  if (span.statusCode === StatusCode.ERROR) return true;
  const a = span.attributes;
  if (str(a, A.ERROR_TYPE) !== null) return true;
  const http = num(a, A.HTTP_RESPONSE_STATUS_CODE) ?? num(a, A.HTTP_STATUS_CODE_OLD);
  // Only on client spans: a server answering 404 is not the caller's failure (servers are ignored anyway).
  if (http !== null && http >= 400 && span.kind !== SpanKind.SERVER) return true;
  const grpc = num(a, A.RPC_GRPC_STATUS_CODE);
  if (grpc !== null && grpc !== 0) return true;
  return notOk(a[A.RPC_RESPONSE_STATUS_CODE]) || notOk(a[A.RPC_STATUS_CODE]);
}

function notOk(v: unknown): boolean {
  if (typeof v === 'number') return v !== 0;
  if (typeof v !== 'string' || v === '') return false;
  return v !== '0' && v.toUpperCase() !== 'OK';
}

/** Classifies spans against the convention table with a config's catalog. */
export class Classifier {
  private readonly catalog: Catalog;
  private readonly templateOf: (target: string) => string | null;

  constructor(config: Config) {
    this.catalog = compileCatalog(config);
    this.templateOf = compileTemplates(config);
  }

  /** The span's own facts, in a new node of no identity (for tests: the builder classifies into its nodes). */
  classify(span: DecodedSpan): SpanFacts {
    return makeNode(span, '', '', this);
  }

  /** Fills `f` (a blank node) with the span's own facts. */
  classifyInto(span: DecodedSpan, f: SpanFacts): void {
    for (let i = 0; i < CONVENTIONS.length; i++) {
      const row = CONVENTIONS[i];
      if (row.matches(span)) {
        row.build(span, f, this.catalog);
        break;
      }
    }
    f.agentName = agentNameOf(span);
    if (f.kind === null) {
      if (f.agentName !== null && f.ignore !== 'server_span') {
        // Provisional: tree.ts may turn a nested agent into a delegation, which needs its outcome.
        f.ignore = 'agent_task';
        f.failed = failedOf(span);
      }
      return;
    }
    if (f.kind === 'http' || f.kind === 'db' || f.kind === 'rpc' || f.kind === 'messaging') {
      f.target = this.templateOf(f.target) ?? f.target;
      // A call's class from the catalog by its target, over what its method says (CONTRACT §3 precedence),
      // but never weaker than a delete or execute: a glob for a collection's searches must not make its
      // DELETE a read (review39 M6).
      const listed = this.catalog.targetAccessOf(f.target);
      const weakens = f.access === 'delete' || f.access === 'execute';
      if (listed !== null && (!weakens || stronger(listed, f.access) === listed)) f.access = listed;
    }
    // `nhi.access` outranks every inferred class, except on model calls, which are never a write (§3.1).
    if (f.kind !== 'model') {
      const explicit = parseAccess(span.attributes[A.NHI_ACCESS]);
      if (explicit !== null) f.access = explicit;
    }
    f.failed = failedOf(span);
    const resend = num(span.attributes, A.HTTP_REQUEST_RESEND_COUNT);
    f.retry = resend !== null && resend > 0;
  }
}
