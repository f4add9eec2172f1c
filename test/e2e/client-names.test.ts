/**
 * How `receivers.otlp.clientIdentities` names a client, over real mutual TLS: a URI (a SPIFFE ID) only
 * from a URI SAN, compared case-sensitively; a CN, a host or service name, in any case. Regression
 * (review33 L4): a certificate with no URI SAN and the CN `spiffe://acme.example/collector` was the
 * Collector and sent spans for any identity in `support`; a URI SAN `spiffe://acme.example/COLLECTOR`
 * matched the Collector's rule too. Certificates from a CA made here with openssl (the fixture CA signs
 * nothing more), the fixture server certificate, the real gRPC and http/protobuf SDK exporters.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue, startTestDaemon, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { exportOnce } from '../helpers/mtls-exporters.js';
import { makeSpans } from '../helpers/otlp-payloads.js';
import { pem, SERVER_TLS } from '../helpers/tls.js';

const COLLECTOR = 'spiffe://acme.example/collector';
const NS = 'spiffe://acme.example/ns/support/sa';

/** The client certificates: each a subject CN and, when given, a URI SAN. */
const CLIENTS = {
  collector: { cn: 'collector', uri: COLLECTOR },
  cnspoof: { cn: COLLECTOR },
  upper: { cn: 'collector', uri: 'spiffe://acme.example/COLLECTOR' },
  host: { cn: 'HOST-1' },
} satisfies Record<string, { cn: string; uri?: string }>;
type Client = keyof typeof CLIENTS;

let dir: string;
const file = (name: string) => path.join(dir, `${name}.pem`);

/** A CA and the client certificates it signs, EC P-256, in a fresh temp folder. */
function makeCertificates(): void {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-client-names-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const key = (name: string) => openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file(`${name}-key`));
  key('ca');
  openssl('req', '-x509', '-new', '-key', file('ca-key'), '-subj', '/CN=Vigil L4 test CA', '-days', '2', '-out', file('ca'));
  for (const [name, { cn, ...san }] of Object.entries(CLIENTS) as Array<[Client, { cn: string; uri?: string }]>) {
    key(name);
    openssl('req', '-new', '-key', file(`${name}-key`), '-subj', `/CN=${cn.replaceAll('/', '\\/')}`, '-out', path.join(dir, `${name}.csr`));
    const ext = path.join(dir, `${name}.ext`);
    fs.writeFileSync(ext, `${san.uri ? `subjectAltName=URI:${san.uri}\n` : ''}extendedKeyUsage=clientAuth\n`);
    openssl('x509', '-req', '-in', path.join(dir, `${name}.csr`), '-CA', file('ca'), '-CAkey', file('ca-key'), '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', file(name));
    const made = new X509Certificate(fs.readFileSync(file(name)));
    expect(made.subject).toBe(`CN=${cn}`);
    expect(made.subjectAltName).toBe(san.uri && `URI:${san.uri}`);
  }
}

const EXPORTERS: Array<[string, (c: Client) => SpanExporter]> = [
  ['grpc', (c) => new GrpcExporter({ url: `https://127.0.0.1:${t.daemon.ports.grpc}`, credentials: grpc.credentials.createSsl(pem('ca'), fs.readFileSync(file(`${c}-key`)), fs.readFileSync(file(c))) })],
  ['http', (c) => new ProtoExporter({ url: `https://127.0.0.1:${t.daemon.ports.http}/v1/traces`, httpAgentOptions: { ca: pem('ca'), cert: fs.readFileSync(file(c)), key: fs.readFileSync(file(`${c}-key`)) } })],
];

/** A tool call by `identity` claiming peer group `group`. */
const call = (identity: string, group: string) =>
  makeSpans([{ name: 'execute_tool kb.search', attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'kb.search' }, resource: { 'nhi.identity': identity, 'service.name': group } }]);

let t: TestDaemon;
beforeAll(async () => {
  makeCertificates();
  const tls = { ...SERVER_TLS, clientCa: file('ca') };
  t = await startTestDaemon({
    receivers: {
      otlp: {
        grpc: { tls },
        http: { tls },
        clientIdentities: [
          { client: COLLECTOR, identities: ['*'], peerGroups: ['support'] },
          { client: 'spiffe://acme.example/ns/*', identities: ['{client}'], peerGroups: ['support'] },
          { client: 'host-*', identities: ['{client}'], peerGroups: ['hosts'] },
        ],
      },
    },
  });
});
afterAll(async () => {
  await t.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe.each(EXPORTERS)('%s exporter', (receiver, make) => {
  it("the Collector's URI SAN gets its rule; a CN client is named in any case", async () => {
    const fleet = `${NS}/fleet-${receiver}`;
    expect((await exportOnce(make('collector'), call(fleet, 'support'))).code).toBe(ExportResultCode.SUCCESS);
    await waitFor(() => t.actions.some((a) => a.identity === fleet), "the Collector's fleet member");
    expect((await exportOnce(make('host'), call('HOST-1', 'hosts'))).code).toBe(ExportResultCode.SUCCESS);
    await waitFor(() => t.actions.filter((a) => a.identity === 'HOST-1').length === EXPORTERS.findIndex(([r]) => r === receiver) + 1, 'the host itself');
  });

  it('regression L4: a CN equal to the Collector SPIFFE ID, and a URI SAN differing in case, are refused whole', async () => {
    const forbidden = `vigil_requests_rejected_total{receiver="${receiver}",reason="forbidden"}`;
    const before = await metricValue(t, forbidden);
    for (const [client, identity] of [['cnspoof', `${NS}/agent-2-${receiver}`], ['upper', `${NS}/agent-3-${receiver}`]] as const) {
      const result = await exportOnce(make(client), call(identity, 'support'));
      expect(result.code, `${client} is refused`).toBe(ExportResultCode.FAILED);
      expect(String(result.error)).toMatch(receiver === 'grpc' ? /PERMISSION_DENIED|7 / : /Forbidden/);
      expect(t.actions.filter((a) => a.identity === identity)).toEqual([]);
    }
    expect(await metricValue(t, forbidden)).toBe(before + 2);
  });
});
