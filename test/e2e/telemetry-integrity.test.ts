/**
 * Spans refused for a reason the SOC must hear about raise `telemetry_integrity` alerts, not only a
 * metric: spans dated further ahead of the clock than time.maxFutureSkew (what they record goes unjudged:
 * an agent could hide its actions so), through the real OTLP/HTTP exporter. They fold like any alert, and
 * no revocation rule acts on them, not even `*` (the identity they name is a claim). Replay: in
 * late-actions.test.ts; impersonation under clientIdentities: in client-identities.test.ts.
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { ExportResult } from '@opentelemetry/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { startTestDaemon, TEST_TOKEN, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { makeSpans } from '../helpers/otlp-payloads.js';
import { validateAlert } from '../helpers/alert-schema.js';


const AGENT = 'spiffe://acme.example/ns/ops/sa/clock-ahead';
const MIN = 60_000;

const spansAt = (startMs: number) =>
  makeSpans([{ name: 'execute_tool shell.exec', startMs, attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'shell.exec' }, resource: { 'service.name': 'ops-agent', 'nhi.identity': AGENT, 'nhi.credential.id': 'tok-1' } }]);

let t: TestDaemon;
const alerts: Alert[] = [];
beforeAll(async () => {
  t = await startTestDaemon({
    revocation: {
      mode: 'enforce',
      rules: [{ detectors: ['*'], minSeverity: 'low', broker: 'hook' }],
      brokers: [{ name: 'hook', type: 'webhook', url: 'http://127.0.0.1:9/revoke', secret: 'whsec_' + Buffer.alloc(32, 1).toString('base64') }],
    },
  });
  t.daemon.alerts.subscribe((e) => {
    if (e.type === 'alert') alerts.push(e.alert);
  });
});
afterAll(() => t.close());

const exportSpans = (startMs: number) =>
  new Promise<ExportResult>((resolve) => {
    const exporter = new OTLPTraceExporter({ url: `${t.httpUrl}/v1/traces` });
    exporter.export(spansAt(startMs), resolve);
  });

it('spans dated ahead of the clock are rejected and raise a telemetry_integrity alert for their identity; repeats fold', async () => {
  await exportSpans(Date.now() + 20 * MIN);
  await waitFor(() => alerts.length > 0, 'an alert');
  const [alert] = alerts;
  expect(validateAlert(alert), JSON.stringify(validateAlert.errors)).toBe(true);
  expect(alert).toMatchObject({ detector: 'telemetry_integrity', severity: 'medium', identity: AGENT, title: 'Spans dated 20 minutes ahead of the clock' });
  expect(alert.explanation).toMatch(/sent 1 span starting up to 20 minutes ahead of Vigil's clock .*rejected, so what they record was not judged/);
  expect(alert.evidence).toMatchObject({ subject: 'future_start', spans: 1, receiver: 'http' });
  expect(alert.evidence.spanIds).toHaveLength(1);
  expect(Math.abs(Date.parse(alert.eventTime) - Date.now())).toBeLessThan(MIN); // when it was refused, not the claimed time
  // Nothing to revoke on: the '*' rule does not cover it, and the claimed credential is not evidence.
  expect(alert.response).toBeUndefined();
  expect(alert.evidence.credential).toBeUndefined();
  expect(t.actions.filter((a) => a.identity === AGENT)).toEqual([]);

  await exportSpans(Date.now() + 30 * MIN);
  const stored = async () => ((await (await fetch(`${t.apiUrl}/v1/alerts?since=0&detector=telemetry_integrity`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })).json()) as { alerts: Alert[] }).alerts;
  await waitFor(async () => (await stored())[0]?.count === 2, 'the repeat folded');
  expect(alerts).toHaveLength(1);
});

it('spans with no start time (a host clock at 1970) are rejected and raise a telemetry_integrity alert too (review42 L1)', async () => {
  const before = alerts.length;
  await exportSpans(Date.UTC(1970, 0, 1, 0, 5));
  await waitFor(() => alerts.length > before, 'an alert');
  const alert = alerts[alerts.length - 1];
  expect(validateAlert(alert), JSON.stringify(validateAlert.errors)).toBe(true);
  expect(alert).toMatchObject({ detector: 'telemetry_integrity', severity: 'medium', identity: AGENT, title: 'Spans with no start time' });
  expect(alert.evidence).toMatchObject({ subject: 'no_start_time', spans: 1, receiver: 'http' });
  expect(alert.response).toBeUndefined();
});

it('spans within time.maxFutureSkew raise nothing', async () => {
  const before = alerts.length;
  await exportSpans(Date.now() + 2 * MIN);
  await waitFor(() => t.actions.some((a) => a.identity === AGENT), 'its action');
  expect(alerts.length).toBe(before);
});

// Regression (review20 F18): spans name their credential as they please, so one agent could name another's
// token and get it revoked by its own alerts. The first identity to present a credential owns it; replicas
// of its peer group may share it, an identity of another group may not.
it('an identity of another peer group presenting a credential raises an alert for the presenter; a replica of its owner does not', async () => {
  const present = (identity: string, service: string) =>
    new Promise<ExportResult>((resolve) => {
      const spans = makeSpans([{ name: 'execute_tool crm.search', attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'crm.search' }, resource: { 'service.name': service, 'nhi.identity': identity, 'nhi.credential.id': 'tok-owned' } }]);
      new OTLPTraceExporter({ url: `${t.httpUrl}/v1/traces` }).export(spans, resolve);
    });
  await present('spiffe://acme.example/ns/billing/sa/billing-1', 'billing-agent');
  await waitFor(() => t.actions.some((a) => a.identity === 'spiffe://acme.example/ns/billing/sa/billing-1'), 'the owner');
  const before = alerts.length;
  await present('spiffe://acme.example/ns/billing/sa/billing-2', 'billing-agent'); // a replica: shares it
  await present('spiffe://acme.example/ns/ops/sa/thief', 'ops-agent');
  await waitFor(() => t.actions.some((a) => a.identity === 'spiffe://acme.example/ns/ops/sa/thief'), 'the thief');
  await waitFor(() => alerts.length > before, 'an alert');
  expect(alerts.slice(before).map((a) => [a.detector, a.severity, a.identity, a.evidence.subject, a.evidence.firstPresentedBy])).toEqual([
    ['telemetry_integrity', 'high', 'spiffe://acme.example/ns/ops/sa/thief', 'credential_of_another:tok-owned', 'spiffe://acme.example/ns/billing/sa/billing-1'],
  ]);
  expect(alerts.at(-1)!.response).toBeUndefined();
});
