/**
 * With `receivers.otlp.token` set, only exporters that send it (`Authorization: Bearer <token>`, e.g.
 * through OTEL_EXPORTER_OTLP_HEADERS) are heard: anyone else could forge an identity's spans, teach its
 * baseline or get its credential revoked. The real SDK exporters, over real sockets.
 */
import * as grpc from '@grpc/grpc-js';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSpans } from '../helpers/otlp-payloads.js';
import { startTestDaemon, TEST_TOKEN, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { postRepeatedly } from '../helpers/keep-alive.js';

const RECEIVER_TOKEN = 'receiver-token-0123456789abcdef';
let t: TestDaemon;
beforeAll(async () => {
  t = await startTestDaemon({ receivers: { otlp: { token: RECEIVER_TOKEN } } });
});
afterAll(() => t.close());

const bearer = `Bearer ${RECEIVER_TOKEN}`;
function grpcMetadata(): grpc.Metadata {
  const m = new grpc.Metadata();
  m.set('authorization', bearer);
  return m;
}

const exporters: Array<[string, (auth: boolean) => SpanExporter]> = [
  ['grpc', (auth) => new GrpcExporter({ url: t.grpcUrl, ...(auth ? { metadata: grpcMetadata() } : {}) })],
  ['http/protobuf', (auth) => new ProtoExporter({ url: `${t.httpUrl}/v1/traces`, ...(auth ? { headers: { Authorization: bearer } } : {}) })],
  ['http/json', (auth) => new JsonExporter({ url: `${t.httpUrl}/v1/traces`, ...(auth ? { headers: { Authorization: bearer } } : {}) })],
];

function exportOne(exporter: SpanExporter, identity: string): Promise<ExportResult> {
  const spans = makeSpans([{ name: 'execute_tool crm.search', attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'crm.search' } }], {
    resource: { 'service.name': 'support-agent', 'nhi.identity': identity },
  });
  return new Promise((resolve) => exporter.export(spans, resolve)).finally(() => exporter.shutdown()) as Promise<ExportResult>;
}

describe.each(exporters)('%s exporter', (name, makeExporter) => {
  const identity = `spiffe://example.org/agent/auth-${name.replace('/', '-')}`;

  it('without the token: refused (401 / UNAUTHENTICATED), nothing kept', async () => {
    const result = await exportOne(makeExporter(false), identity + '-forged');
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(String(result.error)).toMatch(/401|UNAUTHENTICATED|Unauthorized/i);
    await new Promise((r) => setTimeout(r, 100));
    expect(t.actions.filter((a) => a.identity === identity + '-forged')).toEqual([]);
  });

  it('with the token: accepted', async () => {
    const result = await exportOne(makeExporter(true), identity);
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    await waitFor(() => t.actions.some((a) => a.identity === identity), `the action of ${identity}`);
  });
});

it('counts refused requests by receiver', async () => {
  const text = await (await fetch(`${t.apiUrl}/metrics`, { headers: { Authorization: `Bearer ${TEST_TOKEN}` } })).text();
  expect(text).toMatch(/vigil_requests_rejected_total\{receiver="grpc",reason="unauthenticated"\} [1-9]/);
  expect(text).toMatch(/vigil_requests_rejected_total\{receiver="http",reason="unauthenticated"\} [2-9]/);
});

// A stranger's upload is not read: refused before its body, its connection closed (the rest of a body is
// read and dropped only for a client that may send, so it sees its 413 or 503).
it('without the token, an upload is refused unread and its connection closed', async () => {
  const { outcomes, connections } = await postRepeatedly(`${t.httpUrl}/v1/traces`, { 'Content-Type': 'application/x-protobuf' }, Buffer.alloc(4 << 20), 3);
  for (const outcome of outcomes) expect([401, 'ECONNRESET', 'EPIPE']).toContain(outcome);
  expect(connections).toBe(3);
});
