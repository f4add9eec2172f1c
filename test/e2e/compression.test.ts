/**
 * Compressed exports. The OpenTelemetry Collector's `otlp` (gRPC) and `otlphttp` exporters gzip by
 * default, and the SDK exporters do when `compression: 'gzip'` is set: all must work unchanged. A gzip
 * bomb inside a gRPC message is refused by its inflated size, like one in an HTTP body.
 */
import zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { context, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeProtobuf, makeSpans } from '../helpers/otlp-payloads.js';
import { startTestDaemon, waitFor, type TestDaemon } from '../helpers/daemon.js';

const LIMIT = 256 * 1024;
let t: TestDaemon;
beforeAll(async () => {
  t = await startTestDaemon({ receivers: { otlp: { maxRequestBytes: LIMIT } } });
});
afterAll(() => t.close());

// The exporters' option is typed as their package's enum; its values are these strings.
const GZIP = 'gzip' as never;
const exporters: Array<[string, () => SpanExporter]> = [
  ['grpc', () => new GrpcExporter({ url: t.grpcUrl, compression: GZIP })],
  ['http/protobuf', () => new ProtoExporter({ url: `${t.httpUrl}/v1/traces`, compression: GZIP })],
  ['http/json', () => new JsonExporter({ url: `${t.httpUrl}/v1/traces`, compression: GZIP })],
];

describe.each(exporters)('SDK exporter %s with gzip', (name, makeExporter) => {
  it('exports a tool call that becomes its action', async () => {
    const identity = `spiffe://example.org/agent/gzip-${name.replace('/', '-')}`;
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'gzip-agent', 'nhi.identity': identity }),
      spanProcessors: [new SimpleSpanProcessor(makeExporter())],
    });
    const tracer = provider.getTracer('agent');
    const agent = tracer.startSpan('invoke_agent support', { attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'support' } });
    const tool = tracer.startSpan('execute_tool crm.search', { attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'crm.search' } }, trace.setSpan(context.active(), agent));
    tool.end();
    agent.end();
    await provider.forceFlush();
    await provider.shutdown();

    const actions = await waitFor(() => {
      const mine = t.actions.filter((a) => a.identity === identity);
      return mine.length > 0 && mine;
    }, `the action of ${identity}`);
    expect(actions.map((a) => [a.kind, a.target, a.agent])).toEqual([['tool', 'crm.search', 'support']]);
  });
});

describe('gzip inside gRPC messages (grpc-encoding)', () => {
  const passThrough = (b: Buffer) => b;
  let client: grpc.Client;
  beforeAll(() => {
    // grpc-js compresses every message it sends on this channel with gzip.
    client = new grpc.Client(`127.0.0.1:${t.daemon.ports.grpc}`, grpc.credentials.createInsecure(), { 'grpc.default_compression_algorithm': 2 });
  });
  afterAll(() => client.close());

  function exportRaw(payload: Buffer): Promise<{ code: number; details: string }> {
    return new Promise((resolve) => {
      client.makeUnaryRequest('/opentelemetry.proto.collector.trace.v1.TraceService/Export', passThrough, passThrough, payload, (err) =>
        resolve(err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: '' }),
      );
    });
  }

  const valid = () =>
    Buffer.from(encodeProtobuf(makeSpans([{ name: 'GET', kind: 'client', attributes: { 'http.request.method': 'GET' } }], { resource: { 'service.name': 'gzip-grpc', 'nhi.identity': 'spiffe://test/gzip-grpc' } })));

  it('a compressed export is accepted', async () => {
    const before = t.actions.filter((a) => a.identity === 'spiffe://test/gzip-grpc').length;
    expect(await exportRaw(valid())).toEqual({ code: grpc.status.OK, details: '' });
    await waitFor(() => t.actions.filter((a) => a.identity === 'spiffe://test/gzip-grpc').length > before, 'the compressed export’s action');
  });

  it('a message that inflates past the limit -> RESOURCE_EXHAUSTED, and the next export is served', async () => {
    const inflated = Buffer.alloc(64 * 1024 * 1024); // 64 MiB of zeros: ~64 KiB on the wire
    expect(zlib.gzipSync(inflated).length).toBeLessThan(LIMIT);
    const res = await exportRaw(inflated);
    expect(res.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(res.details).toMatch(/larger than/);
    expect((await exportRaw(valid())).code).toBe(grpc.status.OK);
  });
});
