/**
 * Alerts about the telemetry itself (`telemetry_integrity`), from spans the receivers refused for a
 * reason the SOC must hear about, not only a metric (ingest/suspects.ts):
 * - `future_start`: an identity's spans start further ahead of Vigil's clock than `time.maxFutureSkew`.
 *   They are rejected (CONTRACT §2), so what they record goes unjudged: a host clock that is off, or
 *   spans dated ahead to hide what they did.
 * - `no_start_time`: likewise for spans with no start time, or one before 2000 (a host clock at 1970, an
 *   exporter that leaves it unset: review42 L1).
 * - `identity_not_allowed`: a client sent spans for an identity `receivers.otlp.clientIdentities` does
 *   not let it speak for: impersonation, or a Collector routed to the wrong fleet. The alert is the client's.
 * - `peer_group_not_allowed`: likewise for a peer group its rule's `peerGroups` do not list: a client
 *   joining a group to share its credentials and be judged by (and teach) its baseline. The client's too.
 * - `credential_of_another`: an identity presented a credential an identity of another peer group
 *   presented first (revocation/owners.ts): a stolen token, or spans naming a victim's to get it revoked.
 * - `revoked_credential_in_use`: a credential presented after its broker confirmed it revoked
 *   (revocation/revoked.ts): a revocation that did not take, or replayed spans.
 * Each folds like any alert (per identity and subject within `alerts.suppressionWindow`). The subject of
 * the two client reasons is the reason alone, so a client has one of each per window however many
 * identities or groups its spans claim (whoever writes them chooses those: review33 M6); a repeat folded
 * in adds its spans and claims to the evidence (`spans`, `claimedIdentities`, `claimedPeerGroups`, the
 * first 16 of each, `moreIdentities` / `morePeerGroups` when others were left out). No revocation rule
 * matches them: what they name is a claim Vigil refused.
 */
import { span, visible } from '../../detectors/severity.js';
import type { Finding } from '../../detectors/types.js';
import type { Action } from '../actions/types.js';
import type { Alert } from '../alerts/alert.js';
import type { AlertManager } from '../alerts/manager.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { SuspectSpans } from '../ingest/protocol.js';
import { listClaim } from '../ingest/suspects.js';
import type { Receiver } from '../metrics.js';
import type { Owner } from '../revocation/owners.js';

/** How many identities dated ahead within AHEAD_WINDOW_MS make Vigil's own clock the likely cause. */
const MANY_AHEAD = 5;
const AHEAD_WINDOW_MS = 10 * 60_000;
const WARN_EVERY_MS = 60 * 60_000;

/**
 * Many identities dated ahead of Vigil's clock at once say more of Vigil's clock than of them (review35 L2:
 * with the daemon's clock 10 minutes behind, every agent raised an alert of its own, each blaming the
 * agent). Said in the log, at most once an hour, beside those alerts.
 */
export class FutureSpansWatch {
  /** Identities last dated ahead, and when (wall time), oldest first. */
  private readonly ahead = new Map<string, number>();
  private warnedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly logger: Logger, private readonly now: () => number = Date.now) {}

  note(s: SuspectSpans): void {
    if (s.reason !== 'future_start') return;
    const now = this.now();
    this.ahead.delete(s.identity);
    this.ahead.set(s.identity, now);
    for (const [identity, at] of this.ahead) {
      if (at >= now - AHEAD_WINDOW_MS && this.ahead.size <= MANY_AHEAD) break;
      this.ahead.delete(identity); // gone quiet, or more than the warning needs
    }
    if (this.ahead.size < MANY_AHEAD || now - this.warnedAt < WARN_EVERY_MS) return;
    this.warnedAt = now;
    this.logger.warn(
      { identities: [...this.ahead.keys()], aheadMs: s.aheadMs },
      `${MANY_AHEAD} identities sent spans dated ahead of this host's clock within ${span(AHEAD_WINDOW_MS)}: this host's clock is likely behind ` +
        `(check its time sync); their spans are rejected, each with a telemetry_integrity alert, until it is right`,
    );
  }
}

export function reportSuspectSpans(alerts: AlertManager, config: Config, suspects: readonly SuspectSpans[]): void {
  for (const s of suspects) alerts.report(findingOf(s, config), actionOf(s), s.identity, byClient(s) ? (open) => refold(open, s, config) : undefined);
}

/** The alert is the client's (it claimed what it may not), not the spans' identity's. */
function byClient(s: SuspectSpans): boolean {
  return s.reason === 'identity_not_allowed' || s.reason === 'peer_group_not_allowed';
}

/**
 * A client's repeat folded into its open alert: its spans are added, the identities and groups it claimed
 * listed (up to MAX_CLAIMS_LISTED of each, ingest/suspects.ts), and the title and explanation say so.
 * The evidence's first span, receiver and time stay the first repeat's.
 */
function refold(open: Alert, s: SuspectSpans, config: Config): void {
  const e = open.evidence;
  if (e.reason !== s.reason) return; // not one this detector wrote (cannot happen: the subject is the reason)
  const claims = (listed: unknown, more: unknown, added: readonly string[], addedMore: boolean) => {
    const names = Array.isArray(listed) ? listed.filter((n): n is string => typeof n === 'string') : [];
    let left = more === true || addedMore;
    for (const n of added) if (!listClaim(names, n)) left = true;
    return [names, left] as const;
  };
  const [claimedIdentities, moreIdentities] = claims(e.claimedIdentities, e.moreIdentities, s.claimedIdentities, s.moreIdentities);
  const [claimedPeerGroups, morePeerGroups] = claims(e.claimedPeerGroups, e.morePeerGroups, s.claimedPeerGroups, s.morePeerGroups);
  const spans = (typeof e.spans === 'number' ? e.spans : 0) + s.spans;
  const receiver = typeof e.receiver === 'string' ? (e.receiver as Receiver) : s.receiver;
  const f = findingOf({ ...s, spans, receiver, claimedIdentities, moreIdentities, claimedPeerGroups, morePeerGroups }, config);
  open.title = visible(f.title);
  open.explanation = visible(f.explanation);
  Object.assign(e, f.details);
}

function findingOf(s: SuspectSpans, config: Config): Finding {
  const some = `${s.spans} span${s.spans === 1 ? '' : 's'}`;
  const common = { detector: 'telemetry_integrity' as const, traceIds: [s.traceId], spanIds: [s.spanId] };
  if (s.reason === 'no_start_time') {
    return {
      ...common,
      severity: 'medium',
      surprise: 0.5,
      subject: 'no_start_time',
      title: 'Spans with no start time',
      explanation:
        `${s.identity} sent ${some} with no start time, or one before 2000 (a host clock at 1970, an exporter that leaves it unset). ` +
        `They were rejected, so what they record was not judged: fix the host's clock or the exporter, or spans were dated so to hide what they did.`,
      details: { reason: s.reason, spans: s.spans, receiver: s.receiver },
      tags: ['OWASP-ASI10', 'MAESTRO-L5'],
    };
  }
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
        `a host clock that is off (Vigil's own, when many identities raise this at once), or spans dated ahead to hide what they did.`,
      details: { reason: s.reason, spans: s.spans, aheadMs: s.aheadMs, receiver: s.receiver },
      tags: ['OWASP-ASI10', 'MAESTRO-L5'],
    };
  }
  // One alert per client and reason (the subject), whatever it claimed: the claims are listed, not alerted
  // one by one (review33 M6: a new group in each span raised a high alert each, without limit).
  const identities = { claimedIdentities: s.claimedIdentities, ...(s.moreIdentities && { moreIdentities: true }) };
  const idNoun = (names: readonly string[], more: boolean) => (names.length === 1 && !more ? 'identity' : 'identities');
  if (s.reason === 'peer_group_not_allowed') {
    const groups = s.claimedPeerGroups.map((g) => (g === '' ? '(none)' : g));
    const one = groups.length === 1 && !s.morePeerGroups;
    const title = one ? (s.claimedPeerGroups[0] === '' ? 'no peer group' : `peer group ${groups[0]}`) : `peer groups ${names(groups, s.morePeerGroups, 3)}`;
    const claimed = one ? title : `peer groups ${names(groups, s.morePeerGroups)}`;
    return {
      ...common,
      severity: 'high',
      surprise: 0.9,
      subject: s.reason,
      title: `Spans claiming ${title}, which this client may not claim`,
      explanation:
        `Client ${s.identity} sent ${some} (${idNoun(s.claimedIdentities, s.moreIdentities)} ${names(s.claimedIdentities, s.moreIdentities)}) ` +
        `claiming ${claimed}, which receivers.otlp.clientIdentities does not let it claim. They were rejected: an agent joining ` +
        `another group to share its credentials and be judged by its baseline, or a Collector routed to the wrong fleet.`,
      details: { reason: s.reason, spans: s.spans, ...identities, claimedPeerGroups: s.claimedPeerGroups, ...(s.morePeerGroups && { morePeerGroups: true }), receiver: s.receiver },
      tags: ['OWASP-ASI03', 'MAESTRO-L5'],
    };
  }
  const noun = idNoun(s.claimedIdentities, s.moreIdentities);
  return {
    ...common,
    severity: 'high',
    surprise: 0.9,
    subject: s.reason,
    title: `Spans for ${names(s.claimedIdentities, s.moreIdentities, 3)}, which this client may not speak for`,
    explanation:
      `Client ${s.identity} sent ${some} claiming ${noun} ${names(s.claimedIdentities, s.moreIdentities)}, which receivers.otlp.clientIdentities ` +
      `does not let it speak for. They were rejected: an agent or Collector pretending to be another identity, or one routed to the wrong fleet.`,
    details: { reason: s.reason, spans: s.spans, ...identities, receiver: s.receiver },
    tags: ['OWASP-ASI03', 'MAESTRO-L5'],
  };
}

/**
 * "a, b and c", or "a, b and others" when there are more than `max` or `more` (some were left out of the
 * list): what a client claimed, as a sentence names it.
 */
function names(list: readonly string[], more: boolean, max = list.length): string {
  if (list.length === 0) return 'none';
  if (!more && list.length <= max) return list.length === 1 ? list[0] : `${list.slice(0, -1).join(', ')} and ${list[list.length - 1]}`;
  return `${list.slice(0, list.length > max ? max - 1 : list.length).join(', ')} and others`;
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
