/**
 * The `ssf` broker: an OpenID Shared Signals push (RFC 8935) of a Security Event Token (RFC 8417) signed
 * ES256, carrying a CAEP 1.0 event (CONTRACT §6):
 *
 * - `credential-change` with `change_type: "revoke"` and `sub_id {"format":"opaque","id":<credential id>}`
 *   when the spans named the credential;
 * - `session-revoked` with `sub_id {"format":"uri","uri":<identity>}` when they did not: the identity's
 *   sessions are what is left to cut off. An identity that is not a URI (a bare `service.name`) is sent as
 *   `{"format":"opaque","id":…}`, since a `uri` subject must be a URI.
 *
 * Signed with node:crypto rather than a JOSE library: ES256 is one call (`dsaEncoding: ieee-p1363` gives
 * the JWS r||s form), which keeps a runtime dependency out of the daemon and lets the tests verify with
 * `jose`, an implementation independent of this one.
 */
import crypto, { type KeyObject } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { publicJwk } from './ssf-key.js';
import type { Broker, RevocationJob } from './types.js';

type SsfBrokerConfig = Extract<Config['revocation']['brokers'][number], { type: 'ssf' }>;

export const CAEP_CREDENTIAL_CHANGE = 'https://schemas.openid.net/secevent/caep/event-type/credential-change';
export const CAEP_SESSION_REVOKED = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url');

/** The SET's claims for one attempt: `jti` is the revocation id (the same on every retry); no sub, no exp. */
function setClaims(config: Pick<SsfBrokerConfig, 'issuer' | 'audience'>, job: RevocationJob, now: number): Record<string, unknown> {
  const common = {
    event_timestamp: Math.floor(job.createdAt / 1000),
    initiating_entity: 'policy',
    reason_admin: { en: `${job.detector} (${job.severity}): ${job.cause}` },
  };
  const [subId, events] =
    job.credentialId !== null
      ? [
          { format: 'opaque', id: job.credentialId },
          { [CAEP_CREDENTIAL_CHANGE]: { ...(job.credentialType !== null ? { credential_type: job.credentialType } : {}), change_type: 'revoke', ...common } },
        ]
      : [
          URL.canParse(job.identity) ? { format: 'uri', uri: job.identity } : { format: 'opaque', id: job.identity },
          { [CAEP_SESSION_REVOKED]: common },
        ];
  return { iss: config.issuer, aud: config.audience, iat: Math.floor(now / 1000), jti: job.revocationId, sub_id: subId, events };
}

/**
 * Compact JWS of `claims`, header `{"alg":"ES256","typ":"secevent+jwt","kid":…}` (RFC 8417 §2.3): the
 * `kid` lets a receiver pick the key from its JWKS, so a new key can be published before Vigil signs with it.
 */
function signSet(claims: Record<string, unknown>, key: KeyObject, kid: string): string {
  const input = `${b64url(JSON.stringify({ alg: 'ES256', typ: 'secevent+jwt', kid }))}.${b64url(JSON.stringify(claims))}`;
  const signature = crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(signature)}`;
}

export function ssfBroker(config: SsfBrokerConfig, key: KeyObject): Broker {
  const { kid } = publicJwk(key);
  return {
    name: config.name,
    type: 'ssf',
    // Any credential can be announced as revoked; with no credential id the identity's sessions are.
    refuses: () => null,
    request(job, now) {
      const headers: Record<string, string> = { 'content-type': 'application/secevent+jwt', accept: 'application/json' };
      if (config.authorization) headers.authorization = config.authorization;
      return { url: config.url, headers, body: signSet(setClaims(config, job, now), key, kid) };
    },
  };
}
