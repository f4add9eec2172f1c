/**
 * A credential presented after its broker confirmed it revoked raises a `telemetry_integrity` alert for
 * the presenter (review21 L6): the revocation did not take, or the spans are replayed. Through a real
 * broker (HTTP receiver) and the real OTLP/HTTP exporter; known again after a restart (from the store).
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { ExportResult } from '@opentelemetry/core';
import { expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { REVOKED_GRACE_MS } from '../../src/revocation/revoked.js';
import { waitFor } from '../helpers/daemon.js';
import { makeSpans } from '../helpers/otlp-payloads.js';
import { closedAfterEachTest, hookBroker, sleep, type RevocationDaemon } from '../revocation/helpers.js';
import { raise } from '../sinks/fixtures.js';

const { broker, daemon } = closedAfterEachTest();
const AGENT = 'spiffe://acme.example/ns/ops/sa/reporter';
const TOKEN = 'jti-revoked-0001';

function exportSpan(t: RevocationDaemon, startMs: number): Promise<ExportResult> {
  const spans = makeSpans([{
    name: 'GET', kind: 'client', startMs,
    attributes: { 'http.request.method': 'GET', 'url.full': 'https://reports.internal/reports/7', 'server.address': 'reports.internal' },
    resource: { 'service.name': 'reporter', 'nhi.identity': AGENT, 'nhi.credential.id': TOKEN },
  }]);
  return new Promise((resolve) => new OTLPTraceExporter({ url: `${t.httpUrl}/v1/traces` }).export(spans, resolve));
}

const raisedFor = (t: RevocationDaemon) => {
  const alerts: Alert[] = [];
  t.daemon.alerts.subscribe((e) => e.type === 'alert' && e.alert.detector === 'telemetry_integrity' && alerts.push(e.alert));
  return alerts;
};

it('a credential used after its revocation succeeded is a high telemetry_integrity alert, also after a restart', async () => {
  const b = await broker();
  const revocation = { mode: 'enforce', rules: [{ minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(b)] };
  const t = await daemon(revocation);
  const found = raisedFor(t);
  raise(t.daemon, { identity: AGENT, credential: { id: TOKEN, type: 'oauth_jti' } });
  await waitFor(() => t.announced.some((r) => r.status === 'succeeded'), 'the revocation');
  // In flight as it took effect (within the grace): nothing.
  await exportSpan(t, Date.now());
  await waitFor(() => t.actions.some((a) => a.credential?.id === TOKEN), 'its action');
  expect(found).toEqual([]);
  // Later (dated past the grace; the test cannot wait a minute): the revocation did not take.
  await exportSpan(t, Date.now() + REVOKED_GRACE_MS + 30_000);
  await waitFor(() => found.length > 0, 'the alert');
  expect(found[0]).toMatchObject({ severity: 'high', identity: AGENT, title: `Revoked credential ${TOKEN} still in use` });
  expect(found[0].evidence).toMatchObject({ subject: `revoked_credential_in_use:${TOKEN}`, credentialId: TOKEN });
  expect(found[0].evidence.credential).toBeUndefined(); // nothing to revoke again: it is revoked
  expect(found[0].response).toBeUndefined();
  expect(b.received).toHaveLength(1);

  await t.close();
  const again = await daemon(revocation, {}, t.dir);
  const count = () => again.daemon.db.prepare('SELECT count FROM alerts WHERE subject = ?').pluck().get(`revoked_credential_in_use:${TOKEN}`);
  await exportSpan(again, Date.now() + REVOKED_GRACE_MS + 30_000);
  await waitFor(() => count() === 2, 'the use after a restart, folded into the alert');
  await sleep(100);
  expect(b.received).toHaveLength(1);
});
