/**
 * `receivers.otlp.clientIdentities` rules with `peerGroups`: a client may claim only the peer groups its
 * rule lists, as `identity.peerGroup` derives them (service.name here); spans claiming another are
 * rejected (partial success, `peer_group_not_allowed`) and raise a telemetry_integrity alert for the
 * client. Regression (red-team I4): a host pinned to its own identity presented agent-1's credential
 * claiming agent-1's group and raised nothing, since replicas of the owner's group may share it. Real
 * SDK exporters over mutual TLS; the Collector's fixture certificate plays that host (rogue), speaking
 * only for itself.
 */
import { ExportResultCode } from '@opentelemetry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { validateAlert } from '../helpers/alert-schema.js';
import { encodeJson, makeSpans } from '../helpers/otlp-payloads.js';
import { metricValue, startTestDaemon, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { exportOnce, MTLS_EXPORTERS, postJsonAs } from '../helpers/mtls-exporters.js';
import { MUTUAL_TLS } from '../helpers/tls.js';

const AGENT = 'spiffe://acme.example/ns/support/sa/agent-1';
const ROGUE = 'spiffe://acme.example/collector';

/** A tool call by `identity` claiming peer group `group` (none: no service.name), presenting `credential`. */
interface Claim {
  identity: string;
  group?: string;
  credential?: string;
}
const spansOf = (claims: Claim[]) =>
  makeSpans(
    claims.map(({ identity, group, credential }) => ({
      name: 'execute_tool crm.search',
      attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'crm.search' },
      resource: { 'nhi.identity': identity, ...(group !== undefined && { 'service.name': group }), ...(credential !== undefined && { 'nhi.credential.id': credential }) },
    })),
  );

let t: TestDaemon;
const alerts: Alert[] = [];
beforeAll(async () => {
  t = await startTestDaemon({
    receivers: {
      otlp: {
        grpc: { tls: MUTUAL_TLS },
        http: { tls: MUTUAL_TLS },
        clientIdentities: [
          { client: ROGUE, identities: ['{client}'], peerGroups: ['rogue'] },
          { client: 'spiffe://acme.example/ns/*', identities: ['{client}'], peerGroups: ['support'] },
        ],
      },
    },
  });
  t.daemon.alerts.subscribe((e) => void (e.type === 'alert' && alerts.push(e.alert)));
});
afterAll(() => t.close());

describe.each(MTLS_EXPORTERS)('%s exporter', (receiver, make) => {
  it('an agent pinned to its peer group: its spans claiming another are rejected and on record, those of its group kept', async () => {
    const other = `billing-${receiver}`;
    const series = `vigil_spans_rejected_total{receiver="${receiver}",reason="peer_group_not_allowed"}`;
    const before = await metricValue(t, series);
    const seen = t.actions.filter((a) => a.identity === AGENT).length;
    const result = await exportOnce(make(t, 'agent-client'), spansOf([{ identity: AGENT, group: 'support' }, { identity: AGENT, group: other }]));
    expect(result.code).toBe(ExportResultCode.SUCCESS); // partial success
    await waitFor(() => t.actions.filter((a) => a.identity === AGENT).length > seen, 'its action in support');
    expect(t.actions.filter((a) => a.peerGroup === other)).toEqual([]);
    expect(await metricValue(t, series)).toBe(before + 1);
    // One alert per client (review33 M6): the second receiver's claim folds into the first's, listed with it.
    const alert = await waitFor(() => alerts.find((a) => (a.evidence.claimedPeerGroups as string[] | undefined)?.includes(other)), 'an alert');
    expect(validateAlert(alert), JSON.stringify(validateAlert.errors)).toBe(true);
    const groups = MTLS_EXPORTERS.slice(0, MTLS_EXPORTERS.findIndex(([r]) => r === receiver) + 1).map(([r]) => `billing-${r}`);
    expect(alert).toMatchObject({
      detector: 'telemetry_integrity',
      severity: 'high',
      identity: AGENT,
      count: groups.length,
      title: groups.length === 1 ? `Spans claiming peer group ${other}, which this client may not claim` : `Spans claiming peer groups ${groups.join(' and ')}, which this client may not claim`,
      evidence: { subject: 'peer_group_not_allowed', claimedIdentities: [AGENT], claimedPeerGroups: groups, spans: groups.length, receiver: 'grpc' },
    });
    expect(alerts.filter((a) => a.identity === AGENT && a.evidence.subject === 'peer_group_not_allowed')).toEqual([alert]);
    expect(alert.response).toBeUndefined();
  });
});

it('the partial-success reply names the reason; a span claiming no peer group is outside the list too', async () => {
  const body = encodeJson(spansOf([{ identity: AGENT, group: 'support' }, { identity: AGENT }]));
  const reply = await postJsonAs(t, 'agent-client', body);
  expect(reply.status).toBe(200);
  expect(JSON.parse(reply.body).partialSuccess).toEqual({ rejectedSpans: '1', errorMessage: '1 span(s) rejected: peer_group_not_allowed' });
  // Folded into the agent's alert for the reason (review33 M6), listed as the empty group.
  await waitFor(() => alerts.find((a) => (a.evidence.claimedPeerGroups as string[] | undefined)?.includes('')), 'the claim of no group');
});

it('regression I4: a host presenting agent-1 credential claiming agent-1 group is rejected and alerted; under its own group it is the credential alert', async () => {
  const credential = 'tok-i4-support';
  await exportOnce(MTLS_EXPORTERS[1][1](t, 'agent-client'), spansOf([{ identity: AGENT, group: 'support', credential }]));
  await waitFor(() => t.actions.some((a) => a.credential?.id === credential), "agent-1's presentation");
  const before = alerts.length;

  // Claiming agent-1's group, it would be a replica sharing the credential: refused before it is one.
  expect((await exportOnce(MTLS_EXPORTERS[1][1](t, 'client'), spansOf([{ identity: ROGUE, group: 'support', credential }]))).code).toBe(ExportResultCode.SUCCESS);
  const claim = await waitFor(() => alerts.slice(before).find((a) => a.identity === ROGUE), 'an alert for the host');
  expect(claim).toMatchObject({ detector: 'telemetry_integrity', severity: 'high', evidence: { subject: 'peer_group_not_allowed', claimedIdentities: [ROGUE], claimedPeerGroups: ['support'] } });
  expect(t.actions.filter((a) => a.identity === ROGUE)).toEqual([]);

  // Under its own group, as before: the credential of another group.
  await exportOnce(MTLS_EXPORTERS[0][1](t, 'client'), spansOf([{ identity: ROGUE, group: 'rogue', credential }]));
  const theft = await waitFor(() => alerts.slice(before).find((a) => a.evidence.subject === `credential_of_another:${credential}`), 'the credential alert');
  expect(theft).toMatchObject({ identity: ROGUE, severity: 'high', evidence: { firstPresentedBy: AGENT } });
});
