/** The alert (CONTRACT §5, shared/spec/alert.schema.json) and how a finding becomes one. */
import crypto from 'node:crypto';
import { alertScore, severityRank, visible } from '../../detectors/severity.js';
import type { Finding } from '../../detectors/types.js';
import type { Action } from '../actions/types.js';
import type { Severity } from '../config/schema.js';

export interface Alert {
  seq: number;
  id: string;
  detectedAt: string;
  eventTime: string;
  detector: string;
  severity: Severity;
  score: number;
  identity: string;
  peerGroup: string;
  title: string;
  explanation: string;
  evidence: { traceIds: string[]; spanIds: string[]; [detail: string]: unknown };
  tags: string[];
  count: number;
  /** Event time of the latest folded finding (not in the schema's required set; useful to analysts). */
  lastEventTime: string;
  /** A revocation rule matched; no `revocationId` from `vigil replay`, which records and sends nothing. */
  /**
   * `status`: the revocation's status as it is now, added where stored alerts are served (`GET /v1/alerts`,
   * the stream's backlog), so a revocation that failed does not read as done (review41 H4).
   */
  response?: { action: 'revoke'; mode: 'dry_run' | 'enforce'; revocationId?: string; status?: string };
}

/** What a webhook endpoint and a revocation rule pick alerts by (config `detectors`, `minSeverity`). */
export interface AlertSelector {
  /** Detector ids, or `*` for every one. */
  detectors: readonly string[];
  /** Inclusive. */
  minSeverity: Severity;
}

/** Whether a selector takes an alert: its severity at least `minSeverity`, its detector named or `*`. */
export function selects(selector: AlertSelector, alert: Pick<Alert, 'severity' | 'detector'>): boolean {
  if (severityRank(alert.severity) < severityRank(selector.minSeverity)) return false;
  return selector.detectors.includes('*') || selector.detectors.includes(alert.detector);
}

/** The fold key: one alert per identity, detector and subject within the suppression window. */
export function foldKey(identity: string, detector: string, subject: string): string {
  return `${identity}\u0000${detector}\u0000${subject}`;
}

/**
 * Builds the alert for a finding (seq assigned by the store). The id is derived from what the alert is
 * about and when it started, so replaying the same traces yields the same ids.
 */
export function buildAlert(f: Finding, action: Action, identity: string, detectedAt: number): Omit<Alert, 'seq'> {
  const id = 'al_' + crypto.createHash('sha256').update(foldKey(identity, f.detector, f.subject)).update(String(action.time)).digest('hex').slice(0, 24);
  const eventTime = new Date(action.time).toISOString();
  return {
    id,
    detectedAt: new Date(detectedAt).toISOString(),
    eventTime,
    detector: f.detector,
    severity: f.severity,
    score: Math.round(alertScore(f.severity, f.surprise) * 1000) / 1000,
    identity,
    peerGroup: action.peerGroup,
    // Span-controlled names must not reorder what an analyst reads (bidirectional controls): shown escaped.
    title: visible(f.title),
    explanation: visible(f.explanation),
    // The credential id names what revocation would revoke (a jti, lease id, accessor), never a secret.
    // The agent it ran under (a framework's agent or graph name) and the identity that handed it the work
    // say where in a multi-agent flow it happened; each only when the spans said.
    evidence: {
      traceIds: f.traceIds,
      spanIds: f.spanIds,
      subject: f.subject,
      ...f.details,
      ...(action.credential ? { credential: action.credential } : {}),
      ...(action.agent ? { agent: action.agent } : {}),
      ...(action.caller ? { caller: action.caller } : {}),
    },
    tags: f.tags,
    count: 1,
    lastEventTime: eventTime,
  };
}
