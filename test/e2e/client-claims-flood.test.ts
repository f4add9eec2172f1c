/**
 * A client refused for what its spans claim (`identity_not_allowed`, `peer_group_not_allowed`) raises one
 * `telemetry_integrity` alert per reason within the suppression window, however many identities or
 * groups it claims: repeats fold into it, its count and `spans` grow, and its evidence names the first
 * 16 claims. Regression (review33 M6): folded per claimed group (and per claimed identity), one agent
 * posting 10 exports of 64 spans, each span with its own `service.name`, raised 640 high alerts, each a
 * webhook delivery; behind a Collector, any pod setting OTEL_SERVICE_NAME could do it in the
 * Collector's name. Real receivers over mutual TLS (an HTTPS POST of OTLP/JSON and the gRPC SDK
 * exporter), a real webhook endpoint, the alerts as the REST API serves them.
 */
import { ExportResultCode } from '@opentelemetry/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { validateAlert } from '../helpers/alert-schema.js';
import { startTestDaemon, TEST_TOKEN, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { exportOnce, MTLS_EXPORTERS, postJsonAs, type ClientCert } from '../helpers/mtls-exporters.js';
import { encodeJson, makeSpans } from '../helpers/otlp-payloads.js';
import { MUTUAL_TLS } from '../helpers/tls.js';
import { Receiver } from '../sinks/receivers.js';

const AGENT = 'spiffe://acme.example/ns/support/sa/agent-1';
const COLLECTOR = 'spiffe://acme.example/collector';
const SPANS = 64;

/** `n` tool calls, the i-th by `identity(i)` claiming peer group `group(i)`. */
const spansOf = (n: number, identity: (i: number) => string, group: (i: number) => string) =>
  makeSpans(
    Array.from({ length: n }, (_, i) => ({
      name: 'execute_tool kb.search',
      attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'kb.search' },
      resource: { 'nhi.identity': identity(i), 'service.name': group(i) },
    })),
  );

/** POSTs OTLP/JSON to the HTTP receiver as `cert`; the partial-success reply. */
const post = (cert: ClientCert, body: Uint8Array) => postJsonAs(t, cert, body);

/** Every alert as the REST API serves it (the stored body, folded counts and evidence included). */
async function stored(): Promise<Alert[]> {
  const res = await fetch(`${t.apiUrl}/v1/alerts?since=0&limit=1000`, { headers: { Authorization: `Bearer ${TEST_TOKEN}` } });
  return ((await res.json()) as { alerts: Alert[] }).alerts;
}

let t: TestDaemon;
let hook: Receiver;
beforeAll(async () => {
  hook = await Receiver.start();
  t = await startTestDaemon({
    receivers: {
      otlp: {
        grpc: { tls: MUTUAL_TLS },
        http: { tls: MUTUAL_TLS },
        clientIdentities: [
          { client: COLLECTOR, identities: ['spiffe://acme.example/ns/support/*'], peerGroups: ['support'] },
          { client: 'spiffe://acme.example/ns/*', identities: ['{client}'], peerGroups: ['support'] },
        ],
      },
    },
    webhooks: [{ url: hook.url(), secret: 'whsec_' + Buffer.alloc(32, 7).toString('base64'), minSeverity: 'high' }],
  });
});
afterAll(async () => {
  await t.close();
  await hook.close();
});

it('regression M6: an agent claiming a new peer group in every span raises one alert, its count growing, naming the first 16 groups', async () => {
  // Four exports of 64 spans, 256 groups in all: three over HTTP, one through the gRPC exporter.
  for (let e = 0; e < 3; e++) {
    const reply = await post('agent-client', encodeJson(spansOf(SPANS, () => AGENT, (i) => `x${e}-${i}`)));
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body).partialSuccess).toEqual({ rejectedSpans: String(SPANS), errorMessage: `${SPANS} span(s) rejected: peer_group_not_allowed` });
  }
  expect((await exportOnce(MTLS_EXPORTERS[0][1](t, 'agent-client'), spansOf(SPANS, () => AGENT, (i) => `x3-${i}`))).code).toBe(ExportResultCode.SUCCESS);

  const alert = await waitFor(async () => (await stored()).find((a) => a.identity === AGENT && (a.evidence.spans as number) >= 4 * SPANS), 'the folded alert');
  const mine = (await stored()).filter((a) => a.identity === AGENT);
  expect(mine).toHaveLength(1); // was 256
  expect(validateAlert(alert), JSON.stringify(validateAlert.errors)).toBe(true);
  expect(alert).toMatchObject({
    detector: 'telemetry_integrity',
    severity: 'high',
    count: 4, // one per export (each answered before the next was sent)
    title: 'Spans claiming peer groups x0-0, x0-1 and others, which this client may not claim',
    evidence: {
      subject: 'peer_group_not_allowed',
      reason: 'peer_group_not_allowed',
      spans: 4 * SPANS,
      claimedIdentities: [AGENT],
      claimedPeerGroups: Array.from({ length: 16 }, (_, i) => `x0-${i}`),
      morePeerGroups: true,
      receiver: 'http',
    },
  });
  expect(alert.evidence).not.toHaveProperty('moreIdentities');
  expect(alert.explanation).toContain(`Client ${AGENT} sent 256 spans (identity ${AGENT}) claiming peer groups x0-0, x0-1, x0-2,`);
  expect(alert.explanation).toContain('x0-15 and others');
});

it('regression M6: a Collector forwarding spans for many identities it may not speak for, and a pod naming its own group, raise one alert per reason', async () => {
  const before = (await stored()).filter((a) => a.identity === COLLECTOR).length;
  expect(before).toBe(0);
  for (let e = 0; e < 2; e++) {
    const reply = await post('client', encodeJson(spansOf(SPANS, (i) => `spiffe://evil.example/ns/x/sa/i${e}-${i}`, () => 'support')));
    expect(JSON.parse(reply.body).partialSuccess.rejectedSpans).toBe(String(SPANS));
  }
  // A pod of its fleet that set OTEL_SERVICE_NAME: its spans claim a group of their own, one each here.
  const pod = 'spiffe://acme.example/ns/support/sa/pod-7';
  expect(JSON.parse((await post('client', encodeJson(spansOf(3, () => pod, (i) => `billing-${i}`)))).body).partialSuccess.rejectedSpans).toBe('3');

  const alerts = await waitFor(async () => {
    const all = (await stored()).filter((a) => a.identity === COLLECTOR);
    return all.length === 2 && all.some((a) => a.evidence.spans === 2 * SPANS) ? all : null;
  }, 'two alerts for the Collector');
  for (const a of alerts) expect(validateAlert(a), JSON.stringify(validateAlert.errors)).toBe(true);
  const [impersonation, groups] = alerts;
  expect(impersonation).toMatchObject({
    severity: 'high',
    count: 2,
    title: 'Spans for spiffe://evil.example/ns/x/sa/i0-0, spiffe://evil.example/ns/x/sa/i0-1 and others, which this client may not speak for',
    evidence: {
      subject: 'identity_not_allowed',
      spans: 2 * SPANS,
      claimedIdentities: Array.from({ length: 16 }, (_, i) => `spiffe://evil.example/ns/x/sa/i0-${i}`),
      moreIdentities: true,
    },
  });
  expect(impersonation.evidence).not.toHaveProperty('claimedPeerGroups');
  expect(groups).toMatchObject({
    severity: 'high',
    count: 1,
    title: 'Spans claiming peer groups billing-0, billing-1 and billing-2, which this client may not claim',
    evidence: { subject: 'peer_group_not_allowed', spans: 3, claimedIdentities: [pod], claimedPeerGroups: ['billing-0', 'billing-1', 'billing-2'] },
  });
  expect(groups.evidence).not.toHaveProperty('morePeerGroups');
});

it('regression M6: one webhook delivery per alert, not per claim', async () => {
  const ids = new Set((await stored()).filter((a) => a.detector === 'telemetry_integrity').map((a) => a.id));
  expect(ids.size).toBe(3);
  await waitFor(() => hook.received.length >= 3, 'the deliveries');
  await new Promise((r) => setTimeout(r, 300)); // any further delivery would be on its way by now
  expect(hook.received.map((r) => (JSON.parse(r.body) as { data: Alert }).data.id).sort()).toEqual([...ids].sort());
});
