/**
 * The `webhook` broker: a Standard Webhooks signed `credential.revoke` event to the operator's own
 * revocation service (CONTRACT §6). `webhook-id` is the revocation id, so a receiver that dedupes on it
 * revokes once however often a retry or a restart re-sends it.
 */
import type { Config } from '../config/schema.js';
import { secretKey, signedHeaders } from '../sinks/signing.js';
import { NO_CREDENTIAL, type Broker, type RevocationJob } from './types.js';

type WebhookBrokerConfig = Extract<Config['revocation']['brokers'][number], { type: 'webhook' }>;

/** The exact body of a revocation webhook: the same bytes on every attempt. */
function revokePayload(job: RevocationJob): string {
  return JSON.stringify({
    type: 'credential.revoke',
    timestamp: new Date(job.createdAt).toISOString(),
    data: {
      revocationId: job.revocationId,
      identity: job.identity,
      credentialId: job.credentialId,
      credentialType: job.credentialType,
      alertId: job.alertId,
      detector: job.detector,
      severity: job.severity,
      reason: job.cause,
    },
  });
}

export function webhookBroker(config: WebhookBrokerConfig): Broker {
  const key = secretKey(config.secret);
  return {
    name: config.name,
    type: 'webhook',
    // The receiving service decides what it can do with a credential type; it only needs an id.
    refuses: (credential) => (credential.id === null ? NO_CREDENTIAL : null),
    request(job, now) {
      const body = revokePayload(job);
      return { url: config.url, headers: signedHeaders(key, job.revocationId, body, now), body };
    },
  };
}
