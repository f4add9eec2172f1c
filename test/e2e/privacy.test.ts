/**
 * CONTRACT §3 Privacy: tool arguments and results, prompts, messages, URL query strings, exception
 * events, status messages and OTLP request headers are never stored, logged or echoed. A canary secret
 * goes into every one of them (and into attributes Vigil does not read at all), through the three real
 * SDK exporters, to a daemon logging at debug level; then the canary is searched for in the SQLite files
 * (while running and after close), the captured logs, the derived actions and every API answer.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import { context, trace, SpanKind, SpanStatusCode, type Attributes } from '@opentelemetry/api';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDaemon, TEST_TOKEN, waitFor, type TestDaemon } from '../helpers/daemon.js';

const CANARY = 'canary-7f3a9e0c51d2b486';
const C = (what: string) => `${what} ${CANARY}`;

/** Every payload key CONTRACT §3 names, with the families spelled out as real instrumentations do. */
const PAYLOAD: Attributes = {
  'gen_ai.tool.call.arguments': C('{"password":'),
  'gen_ai.tool.call.result': C('result'),
  'gen_ai.input.messages': C('[{"role":"user","content":'),
  'gen_ai.output.messages': C('[{"role":"assistant","content":'),
  'gen_ai.system_instructions': C('you are'),
  'gen_ai.tool.definitions': C('[{"name":"x","description":'),
  'ai.toolCall.args': C('args'),
  'ai.toolCall.result': C('result'),
  'ai.prompt': C('prompt'),
  'ai.prompt.messages': C('messages'),
  'ai.prompt.tools': [C('tool')],
  'ai.prompt.toolChoice': C('choice'),
  'ai.response.text': C('text'),
  'ai.response.toolCalls': C('calls'),
  'ai.response.object': C('object'),
  'ai.response.providerMetadata': C('meta'),
  'input.value': C('input'),
  'output.value': C('output'),
  'llm.input_messages.0.message.content': C('in'),
  'llm.input_messages.0.message.role': 'user',
  'llm.output_messages.0.message.content': C('out'),
  'llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments': C('fn'),
  'traceloop.entity.input': C('in'),
  'traceloop.entity.output': C('out'),
  // Not in the list, but a statement and attributes Vigil never reads must not leak either.
  'db.query.text': C("SELECT * FROM users WHERE api_key = '") + "'",
  'app.debug.note': C('note'),
};

let t: TestDaemon;
beforeAll(async () => {
  t = await startTestDaemon({ log: { level: 'debug' } });
});
afterAll(() => t.close());

/** One agent run whose every span carries the canary wherever a real instrumentation might put a secret. */
async function runAgent(exporter: SpanExporter, identity: string): Promise<void> {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'privacy-agent', 'nhi.identity': identity, 'process.command_args': ['--api-key', CANARY] }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('privacy');
  const agent = tracer.startSpan('invoke_agent support', { attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'support', ...PAYLOAD } });
  const inAgent = trace.setSpan(context.active(), agent);

  const tool = tracer.startSpan('execute_tool crm.search', { attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'crm.search', 'gen_ai.tool.call.id': 'call-1', ...PAYLOAD } }, inAgent);
  const inTool = trace.setSpan(inAgent, tool);
  const get = tracer.startSpan('GET', {
    kind: SpanKind.CLIENT,
    attributes: { 'http.request.method': 'GET', 'url.full': `https://crm.internal/api/customers/42?token=${CANARY}&q=1`, 'http.target': `/api/customers/42?token=${CANARY}`, 'http.response.status_code': 500, ...PAYLOAD },
  }, inTool);
  get.addEvent('retrying', { 'app.reason': C('reason') });
  get.end();
  tool.recordException(Object.assign(new Error(C('connection refused for')), { stack: C('Error: at fetch') }));
  tool.setStatus({ code: SpanStatusCode.ERROR, message: C('stack trace') });
  tool.end();

  const vercel = tracer.startSpan('ai.toolCall', { attributes: { 'ai.operationId': 'ai.toolCall', 'ai.toolCall.name': 'tickets.close', 'ai.toolCall.id': 'call-2', ...PAYLOAD } }, inAgent);
  vercel.end();
  const llm = tracer.startSpan('ChatOpenAI', { attributes: { 'openinference.span.kind': 'LLM', 'llm.provider': 'openai', ...PAYLOAD } }, inAgent);
  llm.end();
  const db = tracer.startSpan('SELECT users', { kind: SpanKind.CLIENT, attributes: { 'db.system.name': 'postgresql', 'db.namespace': 'crm', 'db.collection.name': 'users', ...PAYLOAD } }, inAgent);
  db.end();
  agent.end();
  await provider.forceFlush();
  await provider.shutdown();
}

/** Every file under `dir` (the SQLite database, its -wal and -shm, the token file), as bytes. */
function filesUnder(dir: string): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push([path.join(entry.parentPath, entry.name), fs.readFileSync(path.join(entry.parentPath, entry.name))]);
  }
  return out;
}

function expectNoCanaryInFiles(dir: string): void {
  const files = filesUnder(dir);
  expect(files.some(([f]) => f.endsWith('.db'))).toBe(true);
  for (const [file, bytes] of files) {
    expect(bytes.includes(CANARY), `canary in ${file}`).toBe(false);
    expect(bytes.includes(Buffer.from(CANARY, 'utf16le')), `canary (UTF-16) in ${file}`).toBe(false);
  }
}

describe('privacy: a canary secret in every payload field is found nowhere', () => {
  const headers = { 'x-api-key': CANARY, authorization: `Bearer ${CANARY}` };
  const grpcMetadata = () => {
    const m = new Metadata();
    for (const [k, v] of Object.entries(headers)) m.set(k, v);
    return m;
  };
  const exporters: Array<[string, () => SpanExporter]> = [
    ['grpc', () => new GrpcExporter({ url: t.grpcUrl, metadata: grpcMetadata() })],
    ['http-protobuf', () => new ProtoExporter({ url: `${t.httpUrl}/v1/traces`, headers })],
    ['http-json', () => new JsonExporter({ url: `${t.httpUrl}/v1/traces`, headers })],
  ];

  it('exports through the three real exporters and derives the actions (the payload was really sent)', async () => {
    for (const [name, make] of exporters) {
      const identity = `spiffe://privacy.example/agent/${name}`;
      await runAgent(make(), identity);
      const mine = await waitFor(() => {
        const a = t.actions.filter((x) => x.identity === identity);
        return a.length >= 5 && a;
      }, `actions of ${identity}`);
      expect(mine.map((a) => a.target).sort()).toEqual(['crm.internal/api/customers/{id}', 'crm.search', 'openai', 'postgresql/crm/users', 'tickets.close']);
    }
  });

  it('not in the actions', () => {
    expect(t.actions.length).toBeGreaterThanOrEqual(15);
    expect(JSON.stringify(t.actions)).not.toContain(CANARY);
  });

  it('not in any API answer', async () => {
    const auth = { Authorization: `Bearer ${TEST_TOKEN}` };
    const paths = ['/healthz', '/readyz', '/metrics', '/v1/alerts?since=0', '/v1/revocations', `/v1/identities/${encodeURIComponent('spiffe://privacy.example/agent/grpc')}`];
    for (const p of paths) {
      const res = await fetch(`${t.apiUrl}${p}`, { headers: auth });
      const body = await res.text();
      expect(body, p).not.toContain(CANARY);
      if (p === '/metrics') expect(body).toMatch(/vigil_spans_accepted_total\{receiver="grpc"\} [1-9]/);
    }
  });

  it('not in the debug logs', () => {
    const logs = t.logs.join('');
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).not.toContain(CANARY);
  });

  it('not in the SQLite files, while running and after close', async () => {
    expectNoCanaryInFiles(t.dir);
    await t.close();
    expectNoCanaryInFiles(t.dir);
    expect(t.logs.join('')).not.toContain(CANARY); // nor in what shutdown logged
  });
});
