/**
 * The real OpenTelemetry SDK exporters (gRPC, http/protobuf, http/json), unmodified and with default
 * settings but the URL, export an agent's trace to the daemon over real sockets; the spans come out as
 * the expected actions, the store counts them, and /metrics shows them.
 */
import { context, trace, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDaemon, TEST_TOKEN, waitFor, type TestDaemon } from '../helpers/daemon.js';

let t: TestDaemon;
beforeAll(async () => {
  t = await startTestDaemon({ zones: { crm: ['crm.internal'] } });
});
afterAll(() => t.close());

/** One agent task: a read tool making a GET, a write tool making a POST that fails once, then retries. */
async function runAgent(exporter: SpanExporter, identity: string): Promise<void> {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'support-agent', 'nhi.identity': identity }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('agent');
  const agent = tracer.startSpan('invoke_agent support', { attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'support' } });
  const inAgent = trace.setSpan(context.active(), agent);

  const search = tracer.startSpan('execute_tool crm.search', { attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'crm.search', 'gen_ai.tool.call.id': 'call-1' } }, inAgent);
  const get = tracer.startSpan('GET', { kind: SpanKind.CLIENT, attributes: { 'http.request.method': 'GET', 'server.address': 'crm.internal', 'url.full': 'https://crm.internal/api/customers/12345?apikey=SECRET', 'http.response.status_code': 200 } }, trace.setSpan(inAgent, search));
  get.end();
  search.end();

  const update = tracer.startSpan('execute_tool crm.update', { attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'crm.update', 'gen_ai.tool.call.id': 'call-2' } }, inAgent);
  const post = tracer.startSpan('POST', { kind: SpanKind.CLIENT, attributes: { 'http.request.method': 'POST', 'server.address': 'crm.internal', 'url.full': 'https://crm.internal/api/customers/12345', 'http.response.status_code': 503 } }, trace.setSpan(inAgent, update));
  post.setStatus({ code: SpanStatusCode.ERROR });
  post.end();
  update.end();
  agent.end();
  await provider.forceFlush();
  await provider.shutdown();
}

const exporters: Array<[string, () => SpanExporter]> = [
  ['grpc', () => new GrpcExporter({ url: t.grpcUrl })],
  ['http/protobuf', () => new ProtoExporter({ url: `${t.httpUrl}/v1/traces` })],
  ['http/json', () => new JsonExporter({ url: `${t.httpUrl}/v1/traces` })],
];

describe.each(exporters)('SDK exporter %s', (name, makeExporter) => {
  const identity = `spiffe://example.org/agent/${name.replace('/', '-')}`;

  it('exports an agent trace that becomes the expected actions', async () => {
    await runAgent(makeExporter(), identity);
    const actions = await waitFor(() => {
      const mine = t.actions.filter((a) => a.identity === identity);
      return mine.length >= 4 && mine;
    }, `actions of ${identity}`);

    const summary = actions.map((a) => ({ kind: a.kind, target: a.target, access: a.access, zone: a.zone, failed: a.failed }));
    expect(summary).toEqual(
      expect.arrayContaining([
        { kind: 'tool', target: 'crm.search', access: 'read', zone: null, failed: false },
        { kind: 'http', target: 'crm.internal/api/customers/{id}', access: 'read', zone: 'crm', failed: false },
        // The tool inherits the strongest class of its child; the failed call counts once (on the POST).
        { kind: 'tool', target: 'crm.update', access: 'write', zone: null, failed: false },
        { kind: 'http', target: 'crm.internal/api/customers/{id}', access: 'write', zone: 'crm', failed: true },
      ]),
    );
    expect(actions).toHaveLength(4); // the agent's own outermost span is its task, not an action
    for (const a of actions) {
      expect(a.peerGroup).toBe('support-agent');
      expect(a.agent).toBe('support');
      expect(a.traceId).toMatch(/^[0-9a-f]{32}$/);
    }
    // The query string held a secret: it is in no action.
    expect(JSON.stringify(actions)).not.toContain('SECRET');

    const record = t.daemon.identities.get(identity);
    expect(record).toMatchObject({ actions: 4, failures: 1, peerGroup: 'support-agent' });
    const row = t.daemon.db.prepare('SELECT actions, failures FROM identities WHERE identity = ?').get(identity);
    expect(row).toEqual({ actions: 4, failures: 1 }); // acknowledged => committed
  });
});

describe('API listener', () => {
  it('serves health and readiness without a token, metrics only with it', async () => {
    expect((await fetch(`${t.apiUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${t.apiUrl}/readyz`)).status).toBe(200);
    expect((await fetch(`${t.apiUrl}/metrics`)).status).toBe(401);
    expect((await fetch(`${t.apiUrl}/metrics`, { headers: { Authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    const res = await fetch(`${t.apiUrl}/metrics`, { headers: { Authorization: `Bearer ${TEST_TOKEN}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/vigil_spans_accepted_total\{receiver="grpc"\} [1-9]/);
    expect(text).toMatch(/vigil_spans_accepted_total\{receiver="http"\} [1-9]/);
    expect(text).toMatch(/vigil_actions_total\{kind="tool"\} [1-9]/);
    expect(text).toMatch(/vigil_spans_rejected_total\{receiver="http",reason="no_identity"\} 0/);
    expect(text).not.toContain('receiver="replay"'); // review30 L8: replay's series belong to its summary
    expect(text).toMatch(/vigil_ingest_queue_spans \d/);
    expect(text).toMatch(/nodejs_eventloop_lag_seconds/);
    expect(text).toMatch(/vigil_request_duration_seconds_count\{receiver="grpc"\} [1-9]/);
    // Both threads have worked: busy time is counted for each (a positive number of seconds).
    expect(text).toMatch(/vigil_main_thread_busy_seconds_total 0?\.?\d*[1-9]/);
    expect(text).toMatch(/vigil_ingest_worker_busy_seconds_total 0?\.?\d*[1-9]/);
    // The worker's heap is its own, reported with its batches: a worker that has worked has one.
    const heap = (name: string) => Number(text.match(new RegExp(`^${name} (\\d+)$`, 'm'))?.[1] ?? NaN);
    expect(heap('vigil_ingest_worker_heap_used_bytes')).toBeGreaterThan(1e6);
    expect(heap('vigil_ingest_worker_heap_total_bytes')).toBeGreaterThanOrEqual(heap('vigil_ingest_worker_heap_used_bytes'));
  });

  it('never logs the token or the URL query secret', () => {
    const logs = t.logs.join('');
    expect(logs).not.toContain(TEST_TOKEN);
    expect(logs).not.toContain('SECRET');
  });
});
