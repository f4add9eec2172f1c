/**
 * TLS on every listener (`receivers.otlp.grpc.tls`, `receivers.otlp.http.tls`, `api.tls`), and mutual TLS
 * with `clientCa`: the real SDK exporters over real sockets, with the test CA in test/fixtures/tls.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSpans } from '../helpers/otlp-payloads.js';
import { startTestDaemon, TEST_TOKEN, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { CLI } from '../helpers/serve-process.js';
import { MUTUAL_TLS, pem, SERVER_TLS, tlsFile } from '../helpers/tls.js';


function exportOne(exporter: SpanExporter, identity: string): Promise<ExportResult> {
  const spans = makeSpans([{ name: 'execute_tool crm.search', attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'crm.search' } }], {
    resource: { 'service.name': 'support-agent', 'nhi.identity': identity },
  });
  return new Promise<ExportResult>((resolve) => exporter.export(spans, resolve)).finally(() => exporter.shutdown());
}

/** A client identity: the test CA's client certificate, a stranger CA's, or none. */
type Client = 'client' | 'stranger-client' | null;
/** Short: a refused handshake otherwise waits out the exporter's 10 s default. */
const timeoutMillis = 2000;
const grpcExporter = (t: TestDaemon, client: Client) =>
  new GrpcExporter({
    timeoutMillis,
    url: `https://127.0.0.1:${t.daemon.ports.grpc}`,
    credentials: client ? grpc.credentials.createSsl(pem('ca'), pem(`${client}-key`), pem(client)) : grpc.credentials.createSsl(pem('ca')),
  });
const protoExporter = (t: TestDaemon, client: Client) =>
  new ProtoExporter({
    timeoutMillis,
    url: `https://127.0.0.1:${t.daemon.ports.http}/v1/traces`,
    httpAgentOptions: { ca: pem('ca'), ...(client ? { cert: pem(client), key: pem(`${client}-key`) } : {}) },
  });
const EXPORTERS = [['grpc', grpcExporter], ['http/protobuf', protoExporter]] as const;

/** GET over HTTPS with the test CA; resolves with the status and body. */
function httpsGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca: pem('ca'), headers }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}

describe('TLS on every listener', () => {
  let t: TestDaemon;
  beforeAll(async () => {
    t = await startTestDaemon({ receivers: { otlp: { grpc: { tls: SERVER_TLS }, http: { tls: SERVER_TLS } } }, api: { tls: SERVER_TLS } });
  });
  afterAll(() => t.close());

  it.each(EXPORTERS)('%s exporter trusting the CA: its spans become actions', async (name, make) => {
    const identity = `spiffe://acme.example/agent/tls-${name.replace('/', '-')}`;
    const result = await exportOne(make(t, null), identity);
    expect(result.error).toBeUndefined();
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    await waitFor(() => t.actions.some((a) => a.identity === identity), `the action of ${identity}`);
  });

  it('the start-up log says which listeners use TLS', () => {
    const ready = JSON.parse(t.logs.find((l) => l.includes('"vigil ready'))!);
    for (const listener of ['otlpGrpc', 'otlpHttp', 'api']) expect(ready[listener]).toMatch(/^127\.0\.0\.1:\d+ \(TLS\)$/);
  });

  it('a plaintext client is not served', async () => {
    const plain = new ProtoExporter({ timeoutMillis, url: `http://127.0.0.1:${t.daemon.ports.http}/v1/traces` });
    expect((await exportOne(plain, 'spiffe://acme.example/agent/plaintext')).code).toBe(ExportResultCode.FAILED);
    const plainGrpc = new GrpcExporter({ timeoutMillis, url: `http://127.0.0.1:${t.daemon.ports.grpc}` });
    expect((await exportOne(plainGrpc, 'spiffe://acme.example/agent/plaintext')).code).toBe(ExportResultCode.FAILED);
    expect(t.actions.filter((a) => a.identity === 'spiffe://acme.example/agent/plaintext')).toEqual([]);
  });

  it('the API answers over HTTPS, token still required', async () => {
    const api = `https://127.0.0.1:${t.daemon.ports.api}`;
    expect((await httpsGet(`${api}/healthz`)).status).toBe(200);
    expect((await httpsGet(`${api}/metrics`)).status).toBe(401);
    const metrics = await httpsGet(`${api}/metrics`, { Authorization: `Bearer ${TEST_TOKEN}` });
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^vigil_spans_accepted_total\{receiver="grpc"\} [1-9]/m);
  });

  it('`vigil baseline show` talks HTTPS to it, trusting the CA given in NODE_EXTRA_CA_CERTS', async () => {
    const cfg = path.join(t.dir, 'cli.yaml');
    const tlsYaml = `{ cert: "${SERVER_TLS.cert}", key: "${SERVER_TLS.key}" }`;
    fs.writeFileSync(cfg, `api: { endpoint: "127.0.0.1:${t.daemon.ports.api}", tls: ${tlsYaml} }\nstorage: { path: "${path.join(t.dir, 'vigil.db')}" }\n`);
    const show = (env: Record<string, string>) => cli(['baseline', 'show', '--config', cfg, 'spiffe://acme.example/agent/tls-grpc'], env);

    const untrusted = await show({});
    expect(untrusted.status).not.toBe(0);
    expect(untrusted.stderr).toMatch(/does not trust .*NODE_EXTRA_CA_CERTS/);
    const trusted = await show({ NODE_EXTRA_CA_CERTS: tlsFile('ca') });
    expect(trusted.stderr).toBe(`vigil: answered by the daemon at https://127.0.0.1:${t.daemon.ports.api}\n`);
    expect(JSON.parse(trusted.stdout)).toMatchObject({ identity: 'spiffe://acme.example/agent/tls-grpc' });
  });
});

/** Runs the CLI (asynchronously: the daemon runs in this process) with the API token. */
function cli(args: string[], env: Record<string, string>): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, VIGIL_API_TOKEN: TEST_TOKEN, ...env } }, (err, stdout, stderr) =>
      resolve({ status: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

describe('mutual TLS (clientCa)', () => {
  let t: TestDaemon;
  beforeAll(async () => {
    t = await startTestDaemon({ receivers: { otlp: { grpc: { tls: MUTUAL_TLS }, http: { tls: MUTUAL_TLS } } } });
  });
  afterAll(() => t.close());

  it('the start-up log says the receivers require client certificates', () => {
    const ready = JSON.parse(t.logs.find((l) => l.includes('"vigil ready'))!);
    expect(ready.otlpHttp).toMatch(/\(TLS, client certificates required\)$/);
    expect(ready.api).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  describe.each(EXPORTERS)('%s exporter', (name, make) => {
    const identity = (who: string) => `spiffe://acme.example/agent/mtls-${name.replace('/', '-')}-${who}`;

    it('with a client certificate from the CA: accepted', async () => {
      const result = await exportOne(make(t, 'client'), identity('client'));
      expect(result.error).toBeUndefined();
      await waitFor(() => t.actions.some((a) => a.identity === identity('client')), 'the action');
    });

    it('without a client certificate, or with one from another CA: refused, nothing kept', async () => {
      const refused = [identity('none'), identity('stranger')];
      expect((await exportOne(make(t, null), refused[0])).code).toBe(ExportResultCode.FAILED);
      expect((await exportOne(make(t, 'stranger-client'), refused[1])).code).toBe(ExportResultCode.FAILED);
      await new Promise((r) => setTimeout(r, 100));
      expect(t.actions.filter((a) => refused.includes(a.identity))).toEqual([]);
    });
  });
});

describe('an API reachable from other hosts', () => {
  const warning = 'api.endpoint is reachable from other hosts without TLS';

  it('without TLS: the start-up log warns that the token and alerts cross the network in clear', async () => {
    const t = await startTestDaemon({ api: { endpoint: '0.0.0.0:0' } });
    try {
      const line = t.logs.find((l) => l.includes(warning));
      expect(line).toBeDefined();
      expect(JSON.parse(line!)).toMatchObject({ level: 40, key: 'api.endpoint' });
    } finally {
      await t.close();
    }
  });

  it('with api.tls, or on loopback: no warning', async () => {
    for (const api of [{ endpoint: '0.0.0.0:0', tls: SERVER_TLS }, { endpoint: '127.0.0.1:0' }]) {
      const t = await startTestDaemon({ api });
      try {
        expect(t.logs.some((l) => l.includes('"vigil ready'))).toBe(true);
        expect(t.logs.filter((l) => l.includes(warning))).toEqual([]);
      } finally {
        await t.close();
      }
    }
  });
});
