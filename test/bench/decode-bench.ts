/**
 * Decode-only benchmark of the OTLP decoders on a realistic, fixed-seed batch (512 spans of ~450 bytes:
 * tool calls with gen_ai.* attributes and payloads, HTTP client calls, a few DB calls; resources with
 * service.name and nhi.identity). Run: `npx tsc -p tsconfig.json && node dist/test/bench/decode-bench.js`.
 * Independent of vitest so the end-to-end benchmark can reuse `makeBenchBatch`.
 */
import { pathToFileURL } from 'node:url';
import { decodeJsonRequest } from '../../src/receiver/otlp-json.js';
import { decodeProtobufRequest } from '../../src/receiver/otlp-protobuf.js';
import { encodeJson, encodeProtobuf, makeSpans, randomHex, seededRandom } from '../helpers/otlp-payloads.js';
import type { SpanSpec } from '../helpers/otlp-payloads.js';

/** About the attribute keys the actions module keeps (identity, kinds, targets, outcomes, credentials). */
export const BENCH_FILTER: ReadonlySet<string> = new Set([
  'nhi.identity', 'nhi.access', 'nhi.credential.id', 'nhi.credential.type', 'nhi.scopes',
  'service.name', 'service.instance.id', 'gen_ai.agent.id', 'gen_ai.agent.name', 'gen_ai.operation.name',
  'gen_ai.tool.name', 'gen_ai.tool.call.id', 'gen_ai.tool.type', 'gen_ai.provider.name', 'gen_ai.request.model',
  'tool.name', 'openinference.span.kind', 'graph.node.id', 'metadata', 'traceloop.span.kind',
  'traceloop.entity.name', 'ai.operationId', 'ai.toolCall.name', 'ai.toolCall.id', 'ai.telemetry.functionId',
  'mcp.method.name', 'http.request.method', 'http.response.status_code', 'http.request.resend_count',
  'url.full', 'url.template', 'server.address', 'server.port', 'error.type', 'db.system.name',
  'db.operation.name', 'db.namespace', 'db.collection.name', 'rpc.system.name', 'rpc.method',
  'rpc.status_code', 'messaging.system', 'messaging.destination.name', 'messaging.operation.type',
]);

const TOOLS = ['search_tickets', 'read_file', 'vault.read_secret', 'send_email', 'tickets.update', 'run_query'];
const HOSTS = ['api.github.com', 'tickets.internal', 'vault.internal', 'api.openai.com', 'hooks.slack.com'];
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)];
}

/** A payload-like string (tool arguments, prompts): the filter must drop it. */
function payload(rand: () => number, chars: number): string {
  const words = ['customer', 'invoice', 'please', 'summarise', 'ticket', 'urgent', 'token', 'refund', 'the', 'of'];
  let s = '{"query":"';
  while (s.length < chars) s += pick(rand, words) + ' ';
  return s + '"}';
}

/** The kind-specific part of one bench span (a tool call, an HTTP client call or a DB call). */
function spanBody(rand: () => number, common: Omit<SpanSpec, 'name'>, agent: number, forceTool = false): SpanSpec {
  const r = forceTool ? rand() * 0.45 : rand();
  if (r < 0.45) {
    const tool = pick(rand, TOOLS);
    return { ...common, name: `execute_tool ${tool}`, kind: 'internal', status: rand() < 0.05 ? 'error' : 'unset', attributes: {
      'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool, 'gen_ai.tool.call.id': `call_${randomHex(rand, 24)}`,
      'gen_ai.tool.type': 'function', 'gen_ai.agent.name': `agent-${agent}`, 'gen_ai.tool.call.arguments': payload(rand, 90),
      'gen_ai.tool.description': 'Looks things up for the agent', 'nhi.scopes': ['tickets:read', 'kb:read'],
    } };
  } else if (r < 0.9) {
    const host = pick(rand, HOSTS);
    const method = pick(rand, METHODS);
    return { ...common, name: method, kind: 'client', attributes: {
      'http.request.method': method, 'url.full': `https://${host}/v1/tickets/${Math.floor(rand() * 1e6)}?token=${randomHex(rand, 20)}`,
      'server.address': host, 'server.port': 443, 'http.response.status_code': rand() < 0.05 ? 503 : 200,
      'network.protocol.version': '1.1', 'user_agent.original': 'node-fetch/3.3.2 (+https://github.com/node-fetch)',
      'http.request.body.size': Math.floor(rand() * 4096),
    } };
  }
  return { ...common, name: 'SELECT tickets', kind: 'client', attributes: {
    'db.system.name': 'postgresql', 'db.operation.name': 'SELECT', 'db.namespace': 'support',
    'db.collection.name': 'tickets', 'db.query.text': 'SELECT * FROM tickets WHERE customer_id = $1 AND status = $2',
    'server.address': 'db.internal', 'server.port': 5432, 'db.response.returned_rows': 12,
  } };
}

function resourceFor(agent: number, services: number): Record<string, string> {
  return {
    'service.name': `support-agent-${agent % services}`,
    'nhi.identity': `spiffe://example.org/ns/prod/sa/agent-${agent}`,
    'service.instance.id': `instance-${agent}`,
    'telemetry.sdk.language': 'nodejs',
    'telemetry.sdk.name': 'opentelemetry',
    'telemetry.sdk.version': '2.12.1',
  };
}

/** The default shape: 4 agents, every span alone in its trace with a parent that never arrives. */
function spanSpecs(rand: () => number, count: number): SpanSpec[] {
  const specs: SpanSpec[] = [];
  const start = Date.UTC(2025, 5, 15, 12, 0, 0);
  for (let i = 0; i < count; i++) {
    const agent = Math.floor(rand() * 4);
    const resource = resourceFor(agent, 2);
    const common = { startMs: start + i * 13.25 + rand(), durationMs: 1 + rand() * 400, resource, parentSpanId: randomHex(rand, 16) };
    specs.push(spanBody(rand, common, agent));
  }
  return specs;
}

/**
 * Whole traces (what the end-to-end benchmark sends): `spansPerTrace` consecutive spans share a trace and
 * an identity. The root is the agent's `invoke_agent` span; tool calls are its children (the first child
 * always is one); HTTP and DB calls are children of the latest tool call, as instrumented agents emit
 * them. Trace `t` belongs to identity `(identityOffset + t) % identities`.
 */
function traceSpecs(rand: () => number, count: number, o: Required<BenchBatchOptions>): SpanSpec[] {
  const specs: SpanSpec[] = [];
  let traceId = '';
  let rootId = '';
  let lastTool = '';
  let resource: Record<string, string> = {};
  let agent = 0;
  for (let i = 0; i < count; i++) {
    const j = i % o.spansPerTrace;
    const spanId = randomHex(rand, 16);
    const startMs = o.startMs + i * 13.25 + rand();
    if (j === 0) {
      agent = (o.identityOffset + Math.floor(i / o.spansPerTrace)) % o.identities;
      resource = resourceFor(agent, 8);
      traceId = randomHex(rand, 32);
      rootId = spanId;
      lastTool = '';
      // The agent run encloses its steps.
      specs.push({ name: `invoke_agent agent-${agent}`, kind: 'internal', traceId, spanId, startMs, durationMs: o.spansPerTrace * 13.25 + 400, resource, attributes: {
        'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': `agent-${agent}`, 'gen_ai.agent.id': `agent-${agent}`,
        'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o',
      } });
      continue;
    }
    const common = { startMs, durationMs: 1 + rand() * 400, resource, traceId, spanId };
    const spec = spanBody(rand, common, agent, j === 1);
    if (spec.kind === 'internal') {
      spec.parentSpanId = rootId;
      lastTool = spanId;
    } else {
      spec.parentSpanId = lastTool || rootId;
    }
    specs.push(spec);
  }
  return specs;
}

/** Knobs for `makeBenchBatch`; any of them switches to whole traces (see `traceSpecs`). */
export interface BenchBatchOptions {
  /** Spans per trace (default 16). */
  spansPerTrace?: number;
  /** Distinct identities that traces cycle over (default 1000). */
  identities?: number;
  /** Identity of the batch's first trace (default 0): give each batch its own range. */
  identityOffset?: number;
  /** Start of the first span, epoch ms (default 2025-06-15T12:00Z); spans follow 13.25 ms apart. */
  startMs?: number;
}

/**
 * A fixed-seed export batch of `spans` spans, as the SDK's protobuf and JSON exporters would send it.
 * Without `options`: the decode benchmark's historical shape (unchanged bytes for a given seed).
 */
export function makeBenchBatch(seed: number, spans = 512, options?: BenchBatchOptions): { protobuf: Uint8Array; json: string } {
  const rand = seededRandom(seed);
  const specs = options === undefined
    ? spanSpecs(rand, spans)
    : traceSpecs(rand, spans, {
        spansPerTrace: Math.max(1, options.spansPerTrace ?? 16),
        identities: Math.max(1, options.identities ?? 1000),
        identityOffset: options.identityOffset ?? 0,
        startMs: options.startMs ?? Date.UTC(2025, 5, 15, 12, 0, 0),
      });
  const built = makeSpans(specs, { scope: '@vigil/bench-agent', seed });
  return { protobuf: encodeProtobuf(built), json: encodeJson(built) };
}

function spansPerSec(decode: () => number, minMs: number): number {
  for (let i = 0; i < 50; i++) decode(); // warm-up: let the JIT optimise the hot path first
  let spans = 0;
  const t0 = performance.now();
  let elapsed = 0;
  do {
    for (let i = 0; i < 10; i++) spans += decode();
    elapsed = performance.now() - t0;
  } while (elapsed < minMs);
  return (spans / elapsed) * 1000;
}

/** Times decode-only throughput (≥ 2 s each) for OTLP/protobuf and OTLP/JSON. */
export async function benchDecode(): Promise<{ spansPerSec: number; jsonSpansPerSec: number }> {
  const batch = makeBenchBatch(42);
  const protobuf = spansPerSec(() => decodeProtobufRequest(batch.protobuf, BENCH_FILTER).spans.length, 2000);
  const json = spansPerSec(() => decodeJsonRequest(batch.json, BENCH_FILTER).spans.length, 2000);
  return { spansPerSec: Math.round(protobuf), jsonSpansPerSec: Math.round(json) };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const batch = makeBenchBatch(42);
  console.log(`batch: 512 spans, protobuf ${batch.protobuf.length} B (${Math.round(batch.protobuf.length / 512)} B/span), json ${batch.json.length} B`);
  console.log(await benchDecode());
}
