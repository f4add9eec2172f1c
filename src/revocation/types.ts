/** The revocation model (CONTRACT §6) and the interface every broker implements. */
import type { OutboundRequest } from '../sinks/http.js';

export const REVOCATION_STATUSES = ['dry_run', 'pending', 'succeeded', 'failed', 'not_revocable'] as const;
export type RevocationStatus = (typeof REVOCATION_STATUSES)[number];
export type RevocationMode = 'dry_run' | 'enforce';

/** The websocket `revocation` object and `GET /v1/revocations` entry: a revocation's current state. */
export interface RevocationRecord {
  revocationId: string;
  /** The alert that opened the revocation (later alerts for the same credential share it). */
  alertId: string;
  identity: string;
  credentialId: string | null;
  credentialType: string | null;
  /** The configured broker name. */
  broker: string;
  mode: RevocationMode;
  status: RevocationStatus;
  /** Calls made to the broker so far. */
  attempts: number;
  /** Why it is in this state, in words an analyst reads. */
  reason: string;
  /** When it entered this state (RFC 3339). */
  at: string;
}

/** What a broker needs to build its request: the record plus what the alert said. */
export interface RevocationJob {
  revocationId: string;
  alertId: string;
  identity: string;
  credentialId: string | null;
  credentialType: string | null;
  detector: string;
  severity: string;
  /** Why revoke, for the broker's audit log (the alert's title). */
  cause: string;
  /** When the revocation was opened, unix ms: the stable `timestamp` of a signed payload. */
  createdAt: number;
  attempts: number;
}

/** A configured broker: what it can revoke, and the HTTP request that revokes it. */
export interface Broker {
  readonly name: string;
  readonly type: 'webhook' | 'vault' | 'ssf';
  /**
   * Null when this broker can act on the credential (or, for `ssf`, on the identity's sessions when there
   * is no credential id); otherwise the reason it cannot, which makes the revocation `not_revocable`.
   */
  refuses(credential: { id: string | null; type: string | null }): string | null;
  /** The request for one attempt; signatures and `iat` are fresh, ids stay the same across retries. */
  request(job: RevocationJob, now: number): OutboundRequest;
}

/** The reason given when the alert's spans named no credential. */
export const NO_CREDENTIAL = 'no credential id on the spans';
