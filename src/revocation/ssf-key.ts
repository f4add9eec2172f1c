/**
 * The `ssf` broker's signing key: a PKCS#8 PEM file holding an EC P-256 private key (ES256). Checked when
 * the config is loaded, so a missing or wrong key is a config error naming its key path at start-up —
 * not a revocation that fails the day it is needed.
 */
import crypto, { type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import { unreadableReason } from '../errors.js';

/** A key file that cannot be used; `message` says why and how to fix it. */
export class SigningKeyError extends Error {}

/** Reads and checks the key, or throws SigningKeyError saying what is wrong with `file`. */
export function loadSigningKey(file: string, shown: string = file): KeyObject {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SigningKeyError(`cannot read ${shown} (${unreadableReason(err)})`);
  }
  if (pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
    throw new SigningKeyError(`${shown} is an encrypted key; Vigil needs an unencrypted PKCS#8 PEM (openssl pkcs8 -topk8 -nocrypt)`);
  }
  // SEC1 ("BEGIN EC PRIVATE KEY") would load too, but the contract names PKCS#8; saying so now avoids a
  // key that works here and nowhere else the operator copies it.
  if (!pem.includes('-----BEGIN PRIVATE KEY-----')) {
    throw new SigningKeyError(`${shown} is not a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----); convert it with openssl pkcs8 -topk8 -nocrypt`);
  }
  let key: KeyObject;
  try {
    key = crypto.createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new SigningKeyError(`${shown} holds no readable private key`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    const found = key.asymmetricKeyType === 'ec' ? `an EC key on ${key.asymmetricKeyDetails?.namedCurve}` : `a ${key.asymmetricKeyType?.toUpperCase()} key`;
    throw new SigningKeyError(`${shown} must hold an EC P-256 key for ES256, not ${found}`);
  }
  return key;
}

/** The key's public half as a JWK, with `kid` its RFC 7638 thumbprint: what an SSF receiver puts in its JWKS. */
export function publicJwk(key: KeyObject): { kty: string; crv: string; x: string; y: string; kid: string; alg: 'ES256'; use: 'sig' } {
  const { crv, kty, x, y } = crypto.createPublicKey(key).export({ format: 'jwk' }) as { crv: string; kty: string; x: string; y: string };
  // RFC 7638 §3.2: the required members only, in lexicographic order, no whitespace.
  const kid = crypto.createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');
  return { kty, crv, x, y, kid, alg: 'ES256', use: 'sig' };
}

/**
 * One problem line per unusable `signingKey` of an `ssf` broker, paths as written in the config (relative
 * ones resolved against `base`, the config file's folder).
 */
export function signingKeyProblems(config: Config, base: string): string[] {
  const problems: string[] = [];
  config.revocation.brokers.forEach((broker, i) => {
    if (broker.type !== 'ssf') return;
    try {
      loadSigningKey(resolve(base, broker.signingKey), broker.signingKey);
    } catch (err) {
      if (!(err instanceof SigningKeyError)) throw err;
      problems.push(`revocation.brokers[${i}].signingKey: ${err.message}`);
    }
  });
  return problems;
}
