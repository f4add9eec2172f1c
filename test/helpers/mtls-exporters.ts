/**
 * The real OpenTelemetry gRPC and http/protobuf exporters, sending to a test daemon over mutual TLS with
 * one of the fixture client certificates (test/fixtures/tls: `client` is spiffe://acme.example/collector,
 * `agent-client` spiffe://acme.example/ns/support/sa/agent-1). For the clientIdentities tests.
 */
import https from 'node:https';
import * as grpc from '@grpc/grpc-js';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { TestDaemon } from './daemon.js';
import { pem } from './tls.js';

export type ClientCert = 'client' | 'agent-client';
export type MakeExporter = (t: TestDaemon, client: ClientCert) => SpanExporter;

/** [receiver, make an exporter to it presenting `client`'s certificate]: for `describe.each`. */
export const MTLS_EXPORTERS: Array<[string, MakeExporter]> = [
  ['grpc', (t, c) => new GrpcExporter({ url: `https://127.0.0.1:${t.daemon.ports.grpc}`, credentials: grpc.credentials.createSsl(pem('ca'), pem(`${c}-key`), pem(c)) })],
  ['http', (t, c) => new ProtoExporter({ url: `https://127.0.0.1:${t.daemon.ports.http}/v1/traces`, httpAgentOptions: { ca: pem('ca'), cert: pem(c), key: pem(`${c}-key`) } })],
];

/** Exports `spans` once and shuts the exporter down. */
export function exportOnce(exporter: SpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise<ExportResult>((resolve) => exporter.export(spans, resolve)).finally(() => exporter.shutdown());
}

/** POSTs an OTLP/JSON body to the HTTP receiver presenting `client`'s certificate; the status and reply text. */
export function postJsonAs(t: TestDaemon, client: ClientCert, body: Uint8Array): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: t.daemon.ports.http, path: '/v1/traces', method: 'POST', headers: { 'content-type': 'application/json' }, ca: pem('ca'), cert: pem(client), key: pem(`${client}-key`) },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
