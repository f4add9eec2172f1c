/**
 * The table of recognised conventions (CONTRACT §3 and §3.1): one row per way a span says what it is.
 * Rows are tried in order and the first that matches builds the span's facts, so precedence is the
 * row order and recognising a new framework means adding (or reordering) a row here, nowhere else.
 * Outcome, `nhi.access` and the agent-span marker are convention-independent: see classify.ts.
 */
import type { DecodedSpan } from '../model.js';
import { SpanKind } from '../model.js';
import * as A from './attributes.js';
import { httpMethodAccess, messagingAccess, stronger, verbAccess, type Catalog } from './access.js';
import { awsTables, messagingRpcAccess, rpcAccess, rpcResource } from './rpc.js';
import { isModelEndpoint } from './model-endpoints.js';
import { mongoCommandAccess } from './mongo-command.js';
import { readStatement, writtenTables } from './statement.js';
import { isWrite } from './types.js';
import { Carrier, type IgnoreReason, type SpanFacts } from './facts.js';
import { after, agentName, str } from './read.js';
import { hostOfAuthority, httpTarget, templatePath, urlHost, urlPath } from './url.js';

/** One row of the table. `matches` must be cheap: it runs for every span until a row matches. */
export interface Convention {
  readonly name: string;
  matches(span: DecodedSpan): boolean;
  build(span: DecodedSpan, facts: SpanFacts, catalog: Catalog): void;
}

/** Longest target kept; instrumentations occasionally put whole documents in names. */
const MAX_TARGET = 512;
const cap = (s: string): string => (s.length > MAX_TARGET ? s.slice(0, MAX_TARGET) : s);

/** LangChain's generic tool classes: a class name is no tool name (§3.1). */
const GENERIC_TOOL_NAMES = new Set(['DynamicStructuredTool', 'DynamicTool', 'StructuredTool', 'BaseTool', 'Tool']);
/**
 * GenAI model operations; Semantic Kernel names its own (`chat.completions`, `chat.streaming_completions`,
 * `text.completions`, `text.streaming_completions`: review38 M3, its model traffic read as HTTP egress).
 */
const MODEL_OPERATIONS = new Set([
  'chat', 'text_completion', 'generate_content', 'embeddings',
  'chat.completions', 'chat.streaming_completions', 'text.completions', 'text.streaming_completions',
]);
/** OpenLLMetry's `llm.request.type` values for model calls (its LLM spans name no GenAI operation). */
const LLM_REQUEST_TYPES = new Set(['chat', 'completion', 'embedding', 'rerank']);
const STRUCTURAL_OPERATIONS = new Set(['agent_step', 'workflow', 'invoke_workflow']);
const TRACELOOP_STRUCTURE = new Set(['task', 'workflow', 'session']);
/** Vercel AI SDK provider calls: `ai.generateText.doGenerate`, `ai.streamText.doStream`, `ai.embed.doEmbed`. */
const VERCEL_MODEL_CALL = /^ai\.\w+\.do(Generate|Stream|Embed)$/;
const HANDOFF = /^handoff[ _]to[ _](.+)$/i;
const MCP_REQUEST = /^[\w/]+\.mcp$/;

const toolName = (v: string | null): string | null => (v === null || GENERIC_TOOL_NAMES.has(v) ? null : v);

/** A tool call named `name` (null: unnamed, target `unknown`, counted). */
function tool(span: DecodedSpan, f: SpanFacts, catalog: Catalog, name: string | null): void {
  f.kind = 'tool';
  f.ignore = null;
  if (name === null) f.unknownTool = true;
  f.target = cap(name ?? 'unknown');
  // Own class: catalog now, `nhi.access` in classify.ts; else null until descendants say (never a
  // default `execute`, which would make every unknown tool look like an unexpected write).
  f.access = catalog.accessOf(f.target);
  f.callId = str(span.attributes, A.GEN_AI_TOOL_CALL_ID) ?? str(span.attributes, A.AI_TOOL_CALL_ID);
}

function model(span: DecodedSpan, f: SpanFacts, provider: string | null): void {
  f.kind = 'model';
  f.ignore = null;
  f.host = peerHost(span);
  // Provider host when known; else the provider name. tree.ts may fill the host from the HTTP
  // transport span beneath (then the target becomes that host).
  f.target = cap(f.host ?? provider ?? 'unknown');
  f.carrier = Carrier.Any;
}

/**
 * An MCP resource URI as a target: its scheme and authority as written, then its folder, templated
 * (url.ts), with `*` for the resource itself (`file:///srv/hr/*`): resources are read by the thousand, one
 * new target each (review39 M2), and a folder is what `sensitive.targets` names.
 */
function resourceName(uri: string): string {
  const scheme = uri.indexOf('://');
  if (scheme <= 0 || scheme > 16) return uri;
  let end = scheme + 3;
  while (end < uri.length && uri[end] !== '/' && uri[end] !== '?' && uri[end] !== '#') end++;
  if (uri[end] !== '/') return uri.slice(0, end);
  const path = templatePath(urlPath(uri));
  return uri.slice(0, end) + path.slice(0, path.lastIndexOf('/') + 1) + '*';
}

const ignore = (f: SpanFacts, reason: IgnoreReason): void => void ((f.kind = null), (f.ignore = reason));

const lowerOrNull = (s: string | null): string | null => (s === null ? null : s.toLowerCase());

/**
 * `server.address`, else the old `net.peer.name`, lower-cased. Semantic Kernel puts its service's URL
 * there (`https://api.openai.com/v1/`): its host is taken.
 */
function peerHost(span: DecodedSpan): string | null {
  const address = str(span.attributes, A.SERVER_ADDRESS) ?? str(span.attributes, A.NET_PEER_NAME_OLD);
  return address === null ? null : address.includes('://') ? urlHost(address) : address.toLowerCase();
}

/**
 * A tool or delegation made over the network (an MCP client's `tools/call`, a remote agent's CLIENT
 * `invoke_agent`): the HTTP beneath is its transport, and its destination is the server's host, from
 * `server.address` (the GenAI and MCP conventions put it on these CLIENT spans), else tree.ts takes it
 * from the folded HTTP span. Without a host (stdio, no HTTP instrumented) it stays a call with no
 * destination, like an in-process tool. Dropping the host let a learned agent or tool name served from
 * an attacker's host pass as the usual call (review31 F2).
 */
function remoteCall(span: DecodedSpan, f: SpanFacts): void {
  f.host = peerHost(span);
  f.carrier = Carrier.Any;
}

const op = (span: DecodedSpan): string | null => str(span.attributes, A.GEN_AI_OPERATION_NAME);
const isHttpSpan = (span: DecodedSpan): boolean => (str(span.attributes, A.HTTP_REQUEST_METHOD) ?? str(span.attributes, A.HTTP_METHOD_OLD)) !== null;
const kindIs = (span: DecodedSpan, k: number): boolean => span.kind === k;

/** The table, in precedence order. */
/** `rpc.system` of the AWS SDK's instrumentation. */
const AWS_API = 'aws-api';

export const CONVENTIONS: readonly Convention[] = [
  {
    // An inbound request is the identity being called (its task), never an action of its own.
    name: 'server span',
    matches: (s) => kindIs(s, SpanKind.SERVER),
    build: (_s, f) => ignore(f, 'server_span'),
  },
  {
    name: 'gen_ai execute_tool',
    matches: (s) => op(s) === 'execute_tool',
    build: (s, f, c) => {
      const a = s.attributes;
      const name =
        toolName(str(a, A.GEN_AI_TOOL_NAME)) ??
        toolName(str(a, A.TOOL_NAME)) ??
        toolName(str(a, A.TRACELOOP_ENTITY_NAME)) ??
        toolName(after(s.name, 'execute_tool '));
      tool(s, f, c, name);
      if (str(a, A.MCP_METHOD_NAME) === null) return;
      if (s.kind === SpanKind.CLIENT) remoteCall(s, f);
      else {
        // The MCP attributes put on the framework's own tool span (review38 M2: Microsoft Agent Framework):
        // its HTTP to the server's host is the JSON-RPC transport. Only to that host: were this a server's
        // span, its own calls to other hosts stay its actions.
        f.host = peerHost(s);
        if (f.host !== null) f.carrier = Carrier.SameHost;
      }
    },
  },
  {
    name: 'openinference TOOL',
    matches: (s) => str(s.attributes, A.OPENINFERENCE_SPAN_KIND) === 'TOOL',
    build: (s, f, c) => {
      const name = toolName(str(s.attributes, A.TOOL_NAME)) ?? toolName(s.name);
      const handoff = name === null ? null : HANDOFF.exec(name);
      if (handoff) {
        f.kind = 'delegation';
        f.ignore = null;
        f.target = cap(handoff[1]);
      } else {
        tool(s, f, c, name);
      }
    },
  },
  {
    name: 'traceloop tool',
    matches: (s) => str(s.attributes, A.TRACELOOP_SPAN_KIND) === 'tool',
    build: (s, f, c) => {
      // Traceloop names its spans `<entity>.tool`; the entity name attribute is the primary source.
      const fromSpanName = s.name.endsWith('.tool') ? s.name.slice(0, -5) : null;
      tool(s, f, c, toolName(str(s.attributes, A.TRACELOOP_ENTITY_NAME)) ?? toolName(fromSpanName || null));
      // A CLIENT tool span is Traceloop's MCP client (`<tool>.tool`; it sets no `mcp.method.name`): the
      // HTTP POST beneath is the JSON-RPC transport, not a write of its own.
      if (s.kind === SpanKind.CLIENT) remoteCall(s, f);
    },
  },
  {
    name: 'vercel ai.toolCall',
    matches: (s) => str(s.attributes, A.AI_OPERATION_ID) === 'ai.toolCall',
    build: (s, f, c) => tool(s, f, c, toolName(str(s.attributes, A.AI_TOOL_CALL_NAME))),
  },
  {
    name: 'mcp tools/call client',
    matches: (s) => kindIs(s, SpanKind.CLIENT) && str(s.attributes, A.MCP_METHOD_NAME) === 'tools/call',
    build: (s, f, c) => {
      tool(s, f, c, toolName(str(s.attributes, A.GEN_AI_TOOL_NAME)) ?? toolName(after(s.name, 'tools/call ')));
      remoteCall(s, f); // the HTTP POST beneath is the JSON-RPC transport, not a write
    },
  },
  {
    // The MCP client's other requests (review38 M1). A resource read is the agent reading data through the
    // server: a read of the resource's folder (`resourceName`), so `sensitive` can name it. The rest
    // (`initialize`, notifications, `tools/list`, `prompts/get`, …) are protocol: no action. The HTTP POST
    // beneath either is its transport, not a write: to its server's host only, when it names one, so one
    // wrapped round a call elsewhere hides nothing (review39 M1).
    name: 'mcp other request',
    // Not an HTTP span itself: an MCP attribute on one must not hide the call (review39 M1).
    matches: (s) => kindIs(s, SpanKind.CLIENT) && str(s.attributes, A.MCP_METHOD_NAME) !== null && !isHttpSpan(s),
    build: (s, f, c) => {
      const uri = str(s.attributes, A.MCP_RESOURCE_URI);
      if (str(s.attributes, A.MCP_METHOD_NAME) === 'resources/read' && uri !== null) {
        tool(s, f, c, resourceName(uri));
        f.access = 'read';
      } else {
        ignore(f, 'workflow_step');
      }
      f.host = peerHost(s);
      f.carrier = f.host === null ? Carrier.Any : Carrier.SameHost;
    },
  },
  {
    name: 'gen_ai invoke_agent client',
    matches: (s) => kindIs(s, SpanKind.CLIENT) && op(s) === 'invoke_agent',
    build: (s, f) => {
      const a = s.attributes;
      f.kind = 'delegation';
      f.ignore = null;
      f.target = cap(
        agentName(a) ?? after(s.name, 'invoke_agent ') ?? 'unknown',
      );
      remoteCall(s, f); // a remote agent's HTTP call is the delegation's transport
    },
  },
  {
    name: 'gen_ai model call',
    matches: (s) => MODEL_OPERATIONS.has(op(s) ?? ''),
    build: (s, f) => model(s, f, str(s.attributes, A.GEN_AI_PROVIDER_NAME) ?? str(s.attributes, A.GEN_AI_SYSTEM)),
  },
  {
    name: 'openllmetry model call',
    matches: (s) => LLM_REQUEST_TYPES.has(str(s.attributes, A.LLM_REQUEST_TYPE) ?? ''),
    build: (s, f) => model(s, f, str(s.attributes, A.GEN_AI_SYSTEM) ?? str(s.attributes, A.LLM_SYSTEM)),
  },
  {
    name: 'openinference LLM/EMBEDDING',
    matches: (s) => {
      const k = str(s.attributes, A.OPENINFERENCE_SPAN_KIND);
      return k === 'LLM' || k === 'EMBEDDING';
    },
    build: (s, f) => model(s, f, str(s.attributes, A.LLM_PROVIDER) ?? str(s.attributes, A.LLM_SYSTEM)),
  },
  {
    name: 'vercel model call',
    matches: (s) => VERCEL_MODEL_CALL.test(str(s.attributes, A.AI_OPERATION_ID) ?? ''),
    build: (s, f) => {
      // `ai.model.provider` is `provider.api` (`openai.chat`): the provider is the first part.
      const p = str(s.attributes, A.AI_MODEL_PROVIDER);
      model(s, f, p === null ? str(s.attributes, A.GEN_AI_SYSTEM) : p.split('.', 1)[0]);
    },
  },
  {
    // Before HTTP: Elasticsearch and other HTTP-based stores put HTTP attributes on their DB spans.
    name: 'database client',
    matches: (s) =>
      kindIs(s, SpanKind.CLIENT) &&
      (s.attributes[A.DB_SYSTEM_NAME] !== undefined ||
        s.attributes[A.DB_SYSTEM_OLD] !== undefined ||
        s.attributes[A.DB_OPERATION_NAME] !== undefined),
    build: (s, f) => {
      const a = s.attributes;
      const system = str(a, A.DB_SYSTEM_NAME) ?? str(a, A.DB_SYSTEM_OLD) ?? 'unknown';
      // The AWS SDK names a DynamoDB table in `db.name`, and a batch's tables only in `aws.dynamodb.table_names`.
      const ns = str(a, A.DB_NAMESPACE) ?? str(a, A.DB_NAME_OLD) ?? awsTables(a);
      const coll = str(a, A.DB_COLLECTION_NAME) ?? str(a, A.DB_SQL_TABLE_OLD) ?? str(a, A.DB_MONGODB_COLLECTION_OLD);
      f.kind = 'db';
      f.ignore = null;
      f.target = cap(coll !== null ? `${system}/${ns ?? ''}/${coll}` : ns !== null ? `${system}/${ns}` : system);
      const operation = str(a, A.DB_OPERATION_NAME) ?? str(a, A.DB_OPERATION_OLD) ?? str(a, A.DB_QUERY_SUMMARY);
      // The statement text is read even when an operation is named: `SELECT` may name only the first of
      // several statements (`SELECT 1; DELETE FROM orders`), so the stronger class of the two counts.
      // Only statement-leading keywords are read; the text is not kept anywhere.
      const text = str(a, A.DB_QUERY_TEXT) ?? str(a, A.DB_STATEMENT_OLD);
      const said = text === null ? null : readStatement(text);
      // MongoDB's generic `command` (runCommand) says nothing of its effect: execute, unless a known read.
      f.access =
        operation !== null && system === 'mongodb' && operation.toLowerCase() === 'command'
          ? mongoCommandAccess(text)
          : stronger(operation === null ? null : verbAccess(operation), said === null ? null : said.access);
      // With no collection named, the tables the statement (or its summary, `UPDATE users`) changes are
      // judged apart, never put in the target (review34 E2).
      if (coll === null && isWrite(f.access)) {
        const summary = said === null ? str(a, A.DB_QUERY_SUMMARY) : null;
        f.table = said !== null ? writtenTables(text!, said) : summary === null ? null : readStatement(summary).table;
      }
      f.host = peerHost(s);
      f.carrier = Carrier.Any;
    },
  },
  {
    // Before RPC: AWS SDK spans for SQS/SNS carry both `rpc.system` and `messaging.system`.
    name: 'messaging',
    matches: (s) =>
      (s.kind === SpanKind.PRODUCER || s.kind === SpanKind.CONSUMER || s.kind === SpanKind.CLIENT) &&
      str(s.attributes, A.MESSAGING_SYSTEM) !== null,
    build: (s, f) => {
      const a = s.attributes;
      const dest =
        str(a, A.MESSAGING_DESTINATION_TEMPLATE) ?? str(a, A.MESSAGING_DESTINATION_NAME) ?? str(a, A.MESSAGING_DESTINATION_OLD) ?? '';
      f.kind = 'messaging';
      f.ignore = null;
      f.target = cap(`${str(a, A.MESSAGING_SYSTEM)}/${dest}`);
      const operation = str(a, A.MESSAGING_OPERATION_TYPE) ?? str(a, A.MESSAGING_OPERATION_OLD);
      f.access =
        operation !== null
          ? messagingAccess(operation)
          : s.kind === SpanKind.PRODUCER
            ? 'write'
            : s.kind === SpanKind.CONSUMER
              ? 'read'
              : messagingRpcAccess(str(a, A.RPC_METHOD)); // an AWS SDK call on a queue or topic (`PurgeQueue`)
      f.host = peerHost(s);
      f.carrier = Carrier.Any;
    },
  },
  {
    name: 'rpc client',
    matches: (s) =>
      kindIs(s, SpanKind.CLIENT) && (str(s.attributes, A.RPC_SYSTEM_NAME) ?? str(s.attributes, A.RPC_SYSTEM_OLD)) !== null,
    build: (s, f) => {
      const a = s.attributes;
      const system = str(a, A.RPC_SYSTEM_NAME) ?? str(a, A.RPC_SYSTEM_OLD);
      const method = str(a, A.RPC_METHOD);
      const service = str(a, A.RPC_SERVICE_OLD);
      // New conventions put `service/method` in rpc.method; old ones split it across two attributes.
      const full = method !== null && method.includes('/') ? method : `${service === null ? '' : `${service}/`}${method ?? 'unknown'}`;
      // CONTRACT §3 gives an RPC call the target `system/method` and no class. The AWS SDK's calls are the
      // exception (review34 E1): their API names its verbs, and the resource acted on (an S3 bucket, a
      // DynamoDB table, a queue…) makes a delete in another bucket another subject
      // (`aws-api/S3/DeleteObject/acme-prod-backups`). A gRPC method's name is the service author's.
      const aws = system === AWS_API;
      const resource = aws ? rpcResource(a) : null;
      f.kind = 'rpc';
      f.ignore = null;
      f.target = cap(resource === null ? `${system}/${full}` : `${system}/${full}/${resource}`);
      f.access = aws && method !== null ? rpcAccess(method) : null;
      f.host = peerHost(s);
      f.carrier = Carrier.Any;
    },
  },
  {
    name: 'http client',
    matches: (s) =>
      kindIs(s, SpanKind.CLIENT) &&
      (str(s.attributes, A.HTTP_REQUEST_METHOD) ?? str(s.attributes, A.HTTP_METHOD_OLD)) !== null,
    build: (s, f) => {
      const a = s.attributes;
      const full = str(a, A.URL_FULL) ?? str(a, A.HTTP_URL_OLD);
      const host =
        lowerOrNull(str(a, A.SERVER_ADDRESS)) ??
        (full === null ? null : urlHost(full)) ??
        lowerOrNull(str(a, A.NET_PEER_NAME_OLD)) ??
        hostOfAuthority(str(a, A.HTTP_HOST_OLD) ?? '');
      const template = str(a, A.URL_TEMPLATE);
      const raw = full ?? str(a, A.URL_PATH) ?? str(a, A.HTTP_TARGET_OLD);
      f.modelEndpoint = host !== null && isModelEndpoint(host, raw === null ? '/' : urlPath(raw));
      let path: string;
      if (template !== null) path = template.includes('://') ? urlPath(template) : template;
      else path = raw === null ? '/' : templatePath(urlPath(raw));
      f.kind = 'http';
      f.ignore = null;
      f.host = host;
      f.target = cap(httpTarget(host, path));
      f.access = httpMethodAccess(str(a, A.HTTP_REQUEST_METHOD) ?? str(a, A.HTTP_METHOD_OLD) ?? '');
      f.carrier = Carrier.SameHost;
    },
  },
  {
    // Traceloop's MCP client names its other requests `<method>.mcp` (`initialize.mcp`, `tools/list.mcp`)
    // and gives them no attribute: no action, but what HTTP does beneath them is MCP transport.
    name: 'traceloop mcp request',
    matches: (s) => kindIs(s, SpanKind.CLIENT) && MCP_REQUEST.test(s.name),
    build: (_s, f) => void (ignore(f, 'workflow_step'), (f.carrier = Carrier.Any)),
  },
  // Not actions: framework structure and operations Vigil does not know. Agent spans land here too
  // (as `agent_task`, provisionally: tree.ts turns a nested agent into a delegation).
  {
    name: 'gen_ai other operation',
    matches: (s) => op(s) !== null,
    build: (s, f) =>
      ignore(f, op(s) === 'invoke_agent' ? 'agent_task' : STRUCTURAL_OPERATIONS.has(op(s)!) ? 'workflow_step' : 'unknown_operation'),
  },
  {
    name: 'traceloop structure',
    matches: (s) => TRACELOOP_STRUCTURE.has(str(s.attributes, A.TRACELOOP_SPAN_KIND) ?? ''),
    build: (_s, f) => ignore(f, 'workflow_step'),
  },
  {
    name: 'framework structure',
    matches: (s) =>
      str(s.attributes, A.OPENINFERENCE_SPAN_KIND) !== null ||
      str(s.attributes, A.TRACELOOP_SPAN_KIND) !== null ||
      str(s.attributes, A.AI_OPERATION_ID) !== null,
    build: (_s, f) => ignore(f, 'workflow_step'),
  },
];
