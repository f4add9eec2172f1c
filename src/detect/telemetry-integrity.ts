/**
 * Alerts about the telemetry itself (`telemetry_integrity`), from spans the receivers refused for a
 * reason the SOC must hear about, not only a metric (ingest/suspects.ts):
 * - `future_start`: an identity's spans start further ahead of Vigil's clock than `time.maxFutureSkew`.
 *   They are rejected (CONTRACT §2), so what they record goes unjudged: a host clock that is off, or
 *   spans dated ahead to hide what they did.
 * - `identity_not_allowed`: a client sent spans for an identity `receivers.otlp.clientIdentities` does
 *   not let it speak for: impersonation, or a Collector routed to the wrong fleet. The alert is the client's.
 * - `peer_group_not_allowed`: likewise for a peer group its rule's `peerGroups` do not list: a client
 *   joining a group to share its credentials and be judged by (and teach) its baseline. The client's too.
 * - `credential_of_another`: an identity presented a credential an identity of another peer group
 *   presented first (revocation/owners.ts): a stolen token, or spans naming a victim's to get it revoked.
 * - `revoked_credential_in_use`: a credential presented after its broker confirmed it revoked
 *   (revocation/revoked.ts): a revocation that did not take, or replayed spans.
 * Each folds like any alert (per identity and subject within `alerts.suppressionWindow`). No revocation
 * rule matches them: what they name is a claim Vigil refused.
 */
import { span } from '../../detectors/severity.js';
import type { Finding } from '../../detectors/types.js';
import type { Action } from '../actions/types.js';
import type { AlertManager } from '../alerts/manager.js';
import type { Config } from '../config/schema.js';
import type { SuspectSpans } from '../ingest/protocol.js';
import type { Owner } from '../revocation/owners.js';

export function reportSuspectSpans(alerts: AlertManager, config: Config, suspects: readonly SuspectSpans[]): void {
  for (const s of suspects) alerts.report(findingOf(s, config), actionOf(s), s.identity);
}

function findingOf(s: SuspectSpans, config: Config): Finding {
  const some = `${s.spans} span${s.spans === 1 ? '' : 's'}`;
  const common = { detector: 'telemetry_integrity' as const, traceIds: [s.traceId], spanIds: [s.spanId] };
  if (s.reason === 'future_start') {
    return {
      ...common,
      severity: 'medium',
      surprise: 0.5,
      subject: 'future_start',
      title: `Spans dated ${span(s.aheadMs)} ahead of the clock`,
      explanation:
        `${s.identity} sent ${some} starting up to ${span(s.aheadMs)} ahead of Vigil's clock (more than time.maxFutureSkew, ` +
        `${span(config.time.maxFutureSkew)}, allows). They were rejected, so what they record was not judged: ` +
        `a host clock that is off, or spans dated ahead to hide what they did.`,
      details: { reason: s.reason, spans: s.spans, aheadMs: s.aheadMs, receiver: s.receiver },
      tags: ['OWASP-ASI10', 'MAESTRO-L5'],
    };
  }
  if (s.reason === 'peer_group_not_allowed') {
    const group = s.claimedPeerGroup === '' ? 'no peer group' : `peer group ${s.claimedPeerGroup}`;
    return {
      ...common,
      severity: 'high',
      surprise: 0.9,
      subject: `peer_group_not_allowed:${s.claimedPeerGroup}`,
      title: `Spans claiming ${group}, which this client may not claim`,
      explanation:
        `Client ${s.identity} sent ${some} (identity ${s.claimed}) claiming ${group}, which receivers.otlp.clientIdentities does not ` +
        `let it claim. They were rejected: an agent joining another group to share its credentials and be judged by its baseline, ` +
        `or a Collector routed to the wrong fleet.`,
      details: { reason: s.reason, spans: s.spans, claimedIdentity: s.claimed, claimedPeerGroup: s.claimedPeerGroup, receiver: s.receiver },
      tags: ['OWASP-ASI03', 'MAESTRO-L5'],
    };
  }
  return {
    ...common,
    severity: 'high',
    surprise: 0.9,
    subject: `identity_not_allowed:${s.claimed}`,
    title: `Spans for ${s.claimed}, which this client may not speak for`,
    explanation:
      `Client ${s.identity} sent ${some} claiming identity ${s.claimed}, which receivers.otlp.clientIdentities does not ` +
      `let it speak for. They were rejected: an agent or Collector pretending to be another identity, or one routed to the wrong fleet.`,
    details: { reason: s.reason, spans: s.spans, claimedIdentity: s.claimed, receiver: s.receiver },
    tags: ['OWASP-ASI03', 'MAESTRO-L5'],
  };
}

/** An identity presented a credential `owner`, of another peer group, presented first; the alert is the presenter's. */
export function reportDisputedCredential(alerts: AlertManager, action: Action, owner: Owner): void {
  const id = action.credential!.id;
  reportCredentialUse(alerts, action, id, 'credential_of_another', {
    title: `Credential ${id} of another identity`,
    explanation:
      `${action.identity} (peer group ${action.peerGroup}) presented credential ${id}, which ${owner.identity} of peer group ` +
      `${owner.peerGroups.join(', ')} presented first. Its alerts will not revoke it: a stolen token in use, or spans naming ` +
      `another identity's credential to get it revoked.`,
    details: { firstPresentedBy: owner.identity, ownerPeerGroups: owner.peerGroups },
    tags: ['OWASP-ASI03', 'OWASP-NHI9', 'MAESTRO-L5'],
  });
}

/** An identity presented a credential after its revocation succeeded (revocation/revoked.ts). */
export function reportRevokedCredentialUse(alerts: AlertManager, action: Action, revokedAt: number): void {
  const id = action.credential!.id;
  const at = new Date(revokedAt).toISOString();
  reportCredentialUse(alerts, { ...action, credential: null }, id, 'revoked_credential_in_use', {
    title: `Revoked credential ${id} still in use`,
    explanation:
      `${action.identity} presented credential ${id} ${span(action.time - revokedAt)} after its broker confirmed it revoked (${at}). ` +
      `The revocation may not have taken (a broker that acknowledged and did nothing, a gateway accepting it from a cache), ` +
      `or these spans are replayed: check the credential at its issuer.`,
    details: { revokedAt: at },
    tags: ['OWASP-NHI1', 'OWASP-NHI7', 'MAESTRO-L5'],
  });
}

/** A high alert for the presenter of credential `id` (`action`: as the alert carries it). */
function reportCredentialUse(alerts: AlertManager, action: Action, id: string, reason: string, f: Pick<Finding, 'title' | 'explanation' | 'details' | 'tags'>): void {
  const finding: Finding = {
    ...f,
    detector: 'telemetry_integrity',
    severity: 'high',
    surprise: 0.9,
    subject: `${reason}:${id}`,
    traceIds: [action.traceId],
    spanIds: [action.spanId],
    details: { reason, credentialId: id, ...f.details },
  };
  alerts.report(finding, action, action.identity);
}

/** The action an alert is built from (its time, peer group, no credential): the refused spans made none. */
function actionOf(s: SuspectSpans): Action {
  return {
    time: s.time,
    endTime: s.time,
    identity: s.identity,
    peerGroup: s.peerGroup,
    kind: 'tool',
    target: '',
    access: null,
    host: null,
    zone: null,
    sensitive: false,
    failed: false,
    retry: false,
    traceId: s.traceId,
    spanId: s.spanId,
    parentSpanId: '',
    credential: null,
    scopes: [],
    agent: null,
  };
}
