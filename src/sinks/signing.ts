/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): `webhook-id`, `webhook-timestamp` (unix
 * seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed with the bytes
 * the `whsec_` secret's base64 part encodes. Used for alert webhooks and the webhook revocation broker.
 */
import crypto from 'node:crypto';

const PREFIX = 'whsec_';

/** The HMAC key a `whsec_…` secret stands for (the base64 after the prefix, decoded). */
export function secretKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
}

/** `v1,<signature>` for one message id, timestamp (unix seconds) and exact body. */
export function sign(key: Buffer, id: string, timestampSeconds: number, body: string): string {
  const mac = crypto.createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/**
 * The headers of one attempt. The timestamp is the attempt's own, signed afresh each time: receivers
 * reject stale timestamps (replay protection), so re-sending an old signature after an outage would fail.
 */
export function signedHeaders(key: Buffer, id: string, body: string, nowMs: number): Record<string, string> {
  const timestamp = Math.floor(nowMs / 1000);
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': sign(key, id, timestamp, body),
  };
}
