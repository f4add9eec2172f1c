/**
 * Alerts on demand for in-process delivery tests: a finding and the action that tipped it, reported
 * straight to the daemon's AlertManager (what the detection engine does), each with its own subject so
 * nothing folds unless a test wants it to.
 */
import type { Finding } from '../../detectors/types.js';
import type { Action } from '../../src/actions/types.js';
import type { Alert } from '../../src/alerts/alert.js';
import type { Severity } from '../../src/config/schema.js';
import type { Daemon } from '../../src/main.js';

export const WEBHOOK_SECRET = 'whsec_' + Buffer.from('vigil-test-webhook-secret-0123456789').toString('base64');
export const BROKER_SECRET = 'whsec_' + Buffer.from('vigil-test-broker-secret-9876543210').toString('base64');

let n = 0;
const hex = (v: number, len: number) => v.toString(16).padStart(len, '0');

export interface RaiseOptions {
  detector?: Finding['detector'];
  severity?: Severity;
  identity?: string;
  /** Default "reporter". */
  peerGroup?: string;
  credential?: { id: string; type: string | null } | null;
  subject?: string;
  /** Held for a rollout until this event time (scope_drift's grace): `report` then raises nothing yet. */
  holdUntil?: number;
}

/** Raises one alert through `daemon.alerts.report` and returns it as stored (with `response`, `seq`). */
export function raise(daemon: Daemon, o: RaiseOptions = {}): Alert {
  const subject = report(daemon, o);
  const body = daemon.db.prepare('SELECT body FROM alerts WHERE subject = ? ORDER BY seq DESC LIMIT 1').pluck().get(subject) as string | undefined;
  if (!body) throw new Error(`no alert was raised for ${subject}`);
  return JSON.parse(body) as Alert;
}

/** Reports one finding to `daemon.alerts` (raised, folded, held or kept while the store refuses); returns its subject. */
export function report(daemon: Daemon, o: RaiseOptions = {}): string {
  n++;
  const identity = o.identity ?? 'spiffe://acme.example/agent/reporter';
  const subject = o.subject ?? `reports.delete|delete|${n}`;
  const finding: Finding = {
    detector: o.detector ?? 'unexpected_write',
    severity: o.severity ?? 'high',
    surprise: 0.9,
    subject,
    title: `reporter deleted through ${subject}, which it only ever read`,
    explanation: 'The identity deleted where its baseline only reads.',
    traceIds: [hex(n, 32)],
    spanIds: [hex(n, 16)],
    details: {},
    tags: ['OWASP-ASI02'],
    ...(o.holdUntil === undefined ? {} : { holdUntil: o.holdUntil, rolloutKey: `tool\u0000${subject}` }),
  };
  const time = Date.now() - 60_000 + n;
  const action: Action = {
    time,
    endTime: time + 5,
    identity,
    peerGroup: o.peerGroup ?? 'reporter',
    kind: 'http',
    target: 'reports.internal/reports/{id}',
    access: 'delete',
    host: 'reports.internal',
    zone: 'external',
    sensitive: false,
    failed: false,
    retry: false,
    traceId: hex(n, 32),
    spanId: hex(n, 16),
    parentSpanId: '',
    credential: o.credential === undefined ? { id: `lease-${n}`, type: 'vault_lease' } : o.credential,
    scopes: [],
    agent: null,
    caller: null,
  };
  daemon.alerts.report(finding, action, identity);
  return subject;
}
