/**
 * `receivers.otlp.clientIdentities`: over mutual TLS, a client may send spans only for the identities
 * its rule gives it. A Collector speaks for its fleet, an agent with its own SVID for itself; spans of
 * other identities are rejected (partial success, `identity_not_allowed`), and a client no rule names
 * is refused (403 / PERMISSION_DENIED). The real gRPC and http/protobuf SDK exporters, test certificates
 * from test/fixtures/tls (the Collector's is spiffe://acme.example/collector, the agent's
 * spiffe://acme.example/ns/support/sa/agent-1).
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { makeSpans } from '../helpers/otlp-payloads.js';
import { metricValue, startTestDaemon, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { exportOnce, MTLS_EXPORTERS as EXPORTERS } from '../helpers/mtls-exporters.js';
import { MUTUAL_TLS } from '../helpers/tls.js';

const AGENT = 'spiffe://acme.example/ns/support/sa/agent-1';

/** One export holding a tool call by each of `identities`. */
function exportFor(exporter: SpanExporter, identities: string[]): Promise<ExportResult> {
  const spans = makeSpans(
    identities.map((identity) => ({
      name: 'execute_tool crm.search',
      attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'crm.search' },
      resource: { 'service.name': 'support-agent', 'nhi.identity': identity },
    })),
  );
  return exportOnce(exporter, spans);
}

describe('rules for a Collector and for agents with their own SVIDs', () => {
  let t: TestDaemon;
  beforeAll(async () => {
    t = await startTestDaemon({
      receivers: {
        otlp: {
          grpc: { tls: MUTUAL_TLS },
          http: { tls: MUTUAL_TLS },
          clientIdentities: [
            { client: 'spiffe://acme.example/collector', identities: ['spiffe://acme.example/ns/support/*'] },
            { client: 'spiffe://acme.example/ns/*', identities: ['{client}'] },
          ],
        },
      },
    });
  });
  afterAll(() => t.close());
  const alerts: Alert[] = [];
  beforeAll(() => t.daemon.alerts.subscribe((e) => void (e.type === 'alert' && alerts.push(e.alert))));

  describe.each(EXPORTERS)('%s exporter', (receiver, make) => {
    it("the Collector's spans for its fleet are kept, those for another identity rejected", async () => {
      const fleet = `spiffe://acme.example/ns/support/sa/via-collector-${receiver}`;
      const forged = `spiffe://evil.example/ns/support/sa/forged-${receiver}`;
      const before = await metricValue(t, `vigil_spans_rejected_total{receiver="${receiver}",reason="identity_not_allowed"}`);
      expect((await exportFor(make(t, 'client'), [fleet, forged])).code).toBe(ExportResultCode.SUCCESS); // partial success
      await waitFor(() => t.actions.some((a) => a.identity === fleet), 'the fleet identity');
      expect(t.actions.filter((a) => a.identity === forged)).toEqual([]);
      expect(await metricValue(t, `vigil_spans_rejected_total{receiver="${receiver}",reason="identity_not_allowed"}`)).toBe(before + 1);
      // On record for the SOC, as the client's: it tried to speak for an identity it may not. One alert
      // per client (review33 M6): the second receiver's claim folds into the first's, listed with it.
      const alert = await waitFor(() => alerts.find((a) => (a.evidence.claimedIdentities as string[] | undefined)?.includes(forged)), 'an impersonation alert');
      expect(alert).toMatchObject({
        detector: 'telemetry_integrity',
        severity: 'high',
        identity: 'spiffe://acme.example/collector',
        evidence: { subject: 'identity_not_allowed', receiver: 'grpc' },
      });
      expect(alerts.filter((a) => a.identity === alert.identity && a.evidence.subject === 'identity_not_allowed')).toEqual([alert]);
      const forgedSoFar = EXPORTERS.slice(0, EXPORTERS.findIndex(([r]) => r === receiver) + 1).map(([r]) => `spiffe://evil.example/ns/support/sa/forged-${r}`);
      expect(alert.evidence).toMatchObject({ claimedIdentities: forgedSoFar, spans: forgedSoFar.length });
      expect(alert.count).toBe(forgedSoFar.length);
      expect(alert.title).toBe(`Spans for ${forgedSoFar.join(' and ')}, which this client may not speak for`);
    });

    it('an agent speaks for itself only, not for a case variant of itself (another identity to Vigil)', async () => {
      const other = `spiffe://acme.example/ns/support/sa/agent-2-${receiver}`;
      const variant = AGENT.toUpperCase(); // review25 F3: it passed, a fresh identity in learning
      const seen = t.actions.filter((a) => a.identity === AGENT).length;
      expect((await exportFor(make(t, 'agent-client'), [AGENT, other, variant])).code).toBe(ExportResultCode.SUCCESS);
      await waitFor(() => t.actions.filter((a) => a.identity === AGENT).length > seen, 'its own action');
      expect(t.actions.filter((a) => a.identity === other || a.identity === variant)).toEqual([]);
    });
  });
});

describe('a client no rule names', () => {
  let t: TestDaemon;
  beforeAll(async () => {
    t = await startTestDaemon({
      receivers: { otlp: { grpc: { tls: MUTUAL_TLS }, http: { tls: MUTUAL_TLS }, clientIdentities: [{ client: 'spiffe://acme.example/collector', identities: ['*'] }] } },
    });
  });
  afterAll(() => t.close());

  it.each(EXPORTERS)('is refused whole over %s (403 / PERMISSION_DENIED), and counted', async (receiver, make) => {
    const result = await exportFor(make(t, 'agent-client'), [AGENT]);
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(String(result.error)).toMatch(receiver === 'grpc' ? /PERMISSION_DENIED|7 / : /Forbidden/);
    expect(await metricValue(t, `vigil_requests_rejected_total{receiver="${receiver}",reason="forbidden"}`)).toBe(1);
    expect(t.actions.filter((a) => a.identity === AGENT)).toEqual([]);
  });
});
