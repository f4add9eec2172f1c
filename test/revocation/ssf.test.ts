/**
 * The `ssf` broker: an RFC 8935 push receiver on a real socket that verifies each Security Event Token
 * with `jose` (an implementation independent of Vigil's node:crypto signer) against the public key, and
 * checks typ, iss, aud, jti, the absence of sub/exp, and the CAEP events. Also the signing key checks the
 * config loader makes.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, exportJWK, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { CAEP_CREDENTIAL_CHANGE, CAEP_SESSION_REVOKED } from '../../src/revocation/ssf.js';
import { waitFor } from '../helpers/daemon.js';
import { raise } from '../sinks/fixtures.js';
import { Receiver, type Received, type Reply } from '../sinks/receivers.js';
import { startRevocationDaemon, writeP256Key, type RevocationDaemon } from './helpers.js';

const ISSUER = 'https://vigil.acme.example';
const AUDIENCE = 'https://idp.acme.example/ssf';
const AUTHORIZATION = 'Bearer ssf-push-token-0123456789';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function setup(respond: (r: Received, i: number) => Reply = () => ({ status: 202 })): Promise<{ server: Receiver; t: RevocationDaemon; key: ReturnType<typeof writeP256Key> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-ssf-'));
  const key = writeP256Key(dir);
  const server = await Receiver.start(respond);
  open.push(server);
  const t = await startRevocationDaemon(
    {
      mode: 'enforce',
      rules: [{ minSeverity: 'high', broker: 'idp' }],
      brokers: [{ name: 'idp', type: 'ssf', url: server.url('/ssf/push'), issuer: ISSUER, audience: AUDIENCE, signingKey: key.file, authorization: AUTHORIZATION }],
    },
    {},
    dir,
  );
  open.push(t);
  return { server, t, key };
}

/** What an RFC 8935 receiver does with a push: check the media type, verify the SET, return its claims. */
async function verifyPush(r: Received, publicKey: ReturnType<typeof writeP256Key>['publicKey']): Promise<JWTPayload> {
  expect(r.method).toBe('POST');
  expect(r.headers['content-type']).toBe('application/secevent+jwt');
  expect(r.headers.authorization).toBe(AUTHORIZATION);
  // kid: the key's RFC 7638 thumbprint, as jose computes it (review25 F6: receivers select keys by kid).
  expect(decodeProtectedHeader(r.body)).toEqual({ alg: 'ES256', typ: 'secevent+jwt', kid: await calculateJwkThumbprint(await exportJWK(publicKey)) });
  const { payload } = await jwtVerify(r.body, publicKey, { issuer: ISSUER, audience: AUDIENCE, typ: 'secevent+jwt', algorithms: ['ES256'] });
  expect(payload).not.toHaveProperty('sub');
  expect(payload).not.toHaveProperty('exp');
  return payload;
}

describe('ssf broker', () => {
  it('vigil check-config prints the JWKS a receiver verifies the pushed SETs with', async () => {
    const { server, t, key } = await setup();
    const config = path.join(path.dirname(key.file), 'vigil.yaml');
    fs.writeFileSync(config, `revocation:\n  brokers:\n    - { name: idp, type: ssf, url: "${server.url('/ssf/push')}", issuer: "${ISSUER}", audience: "${AUDIENCE}", signingKey: ${key.file} }\n`);
    const r = spawnSync(process.execPath, [path.join(import.meta.dirname, '../../dist/src/cli.js'), 'check-config', '--config', config], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const line = r.stdout.split('\n').find((l) => l.startsWith('# ssf broker idp signs with this key'));
    const jwks = JSON.parse(line!.slice(line!.indexOf('{'))) as JSONWebKeySet;
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).not.toHaveProperty('d'); // the public half only
    raise(t.daemon, { credential: { id: 'jti-jwks', type: 'oauth_jti' } });
    await waitFor(() => server.received.length === 1, 'the push');
    const { payload } = await jwtVerify(server.received[0].body, createLocalJWKSet(jwks), { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'] });
    expect(payload.sub_id).toEqual({ format: 'opaque', id: 'jti-jwks' });
  });

  it('pushes a signed CAEP credential-change (change_type revoke) for the credential; 202 succeeds', async () => {
    const { server, t, key } = await setup();
    const alert = raise(t.daemon, { credential: { id: 'jti-4f1c', type: 'oauth_jti' } });
    await waitFor(() => t.announced.some((r) => r.status === 'succeeded'), 'success');
    expect(server.received).toHaveLength(1);
    const claims = await verifyPush(server.received[0], key.publicKey);
    expect(claims).toEqual({
      iss: ISSUER,
      aud: AUDIENCE,
      iat: expect.any(Number),
      jti: alert.response!.revocationId,
      sub_id: { format: 'opaque', id: 'jti-4f1c' },
      events: {
        [CAEP_CREDENTIAL_CHANGE]: {
          credential_type: 'oauth_jti',
          change_type: 'revoke',
          event_timestamp: expect.any(Number),
          initiating_entity: 'policy',
          reason_admin: { en: expect.stringContaining('unexpected_write (high)') },
        },
      },
    });
    expect(Math.abs((claims.iat as number) - Date.now() / 1000)).toBeLessThan(30);
  });

  it('keeps the jti across retries, signing each attempt afresh', async () => {
    const { server, t, key } = await setup((_r, i) => (i === 0 ? { status: 503 } : { status: 202 }));
    const id = raise(t.daemon, { credential: { id: 'jti-retry', type: null } }).response!.revocationId;
    await waitFor(() => t.announced.some((r) => r.status === 'succeeded'), 'success after a retry');
    expect(server.received).toHaveLength(2);
    const [a, b] = await Promise.all(server.received.map((r) => verifyPush(r, key.publicKey)));
    expect(a.jti).toBe(id);
    expect(b.jti).toBe(id);
    // No credential type on the spans: credential_type is left out rather than guessed.
    expect(b.events).toEqual({ [CAEP_CREDENTIAL_CHANGE]: expect.not.objectContaining({ credential_type: expect.anything() }) });
  });

  it('revokes the identity\'s sessions when the spans named no credential', async () => {
    const { server, t, key } = await setup();
    const identity = 'spiffe://acme.example/ns/support/sa/agent-7';
    const alert = raise(t.daemon, { identity, credential: null });
    expect(alert.response?.revocationId).toMatch(/^rv_/);
    await waitFor(() => t.announced.some((r) => r.status === 'succeeded'), 'success');
    const claims = await verifyPush(server.received[0], key.publicKey);
    expect(claims.sub_id).toEqual({ format: 'uri', uri: identity });
    expect(Object.keys(claims.events as object)).toEqual([CAEP_SESSION_REVOKED]);
    // Idempotent per identity for session revocation.
    expect(raise(t.daemon, { identity, credential: null }).response?.revocationId).toBe(alert.response?.revocationId);
  });

  it('moves a pending sessions revocation to a renamed broker, where later alerts about the identity find it', async () => {
    const { server, t, key } = await setup(() => ({ status: 503 }));
    const identity = 'spiffe://acme.example/ns/support/sa/agent-8';
    const id = raise(t.daemon, { identity, credential: null }).response!.revocationId;
    await waitFor(() => server.received.length >= 1, 'an attempt');
    await t.close();

    server.respond = () => ({ status: 202 });
    const renamed = await startRevocationDaemon(
      {
        mode: 'enforce',
        rules: [{ minSeverity: 'high', broker: 'idp-eu' }],
        brokers: [{ name: 'idp-eu', type: 'ssf', url: server.url('/ssf/push'), issuer: ISSUER, audience: AUDIENCE, signingKey: key.file, authorization: AUTHORIZATION }],
      },
      {},
      t.dir,
    );
    open.push(renamed);
    await waitFor(() => renamed.daemon.revocations.list().some((r) => r.status === 'succeeded'), 'success through the renamed broker');
    // The SET keeps its jti (the revocation id) on the renamed broker, and the next alert finds the revocation.
    expect((await verifyPush(server.received.at(-1)!, key.publicKey)).jti).toBe(id);
    expect(raise(renamed.daemon, { identity, credential: null }).response?.revocationId).toBe(id);
    expect(renamed.daemon.revocations.list()).toMatchObject([{ revocationId: id, broker: 'idp-eu', status: 'succeeded' }]);
  });

  it('fails on an RFC 8935 error answer (400 with err)', async () => {
    const { t } = await setup(() => ({ status: 400, headers: { 'content-type': 'application/json' }, body: '{"err":"invalid_audience"}' }));
    raise(t.daemon, { credential: { id: 'jti-x', type: 'oauth_jti' } });
    await waitFor(() => t.announced.some((r) => r.status === 'failed'), 'failure');
    expect(t.daemon.revocations.list()[0]).toMatchObject({ status: 'failed', attempts: 1 });
  });
});

describe('ssf signing key checks at config load', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-ssf-keys-'));
  const problemsFor = (signingKey: string): string[] => {
    const file = path.join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
    fs.writeFileSync(file, `revocation:\n  brokers:\n    - { name: idp, type: ssf, url: "https://idp.example/push", issuer: vigil, audience: idp, signingKey: "${signingKey}" }\n`);
    try {
      loadConfig({ path: file, env: {} });
      return [];
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).problems;
    }
  };
  const write = (name: string, pem: string | Buffer) => fs.writeFileSync(path.join(dir, name), pem);

  it('accepts an EC P-256 PKCS#8 key, resolved against the config folder', () => {
    writeP256Key(dir, 'good.pem');
    expect(problemsFor('good.pem')).toEqual([]);
  });

  it('names the key path and the file for a missing, wrong or wrongly encoded key', () => {
    expect(problemsFor('missing.pem')).toEqual(['revocation.brokers[0].signingKey: cannot read missing.pem (no such file)']);
    write('rsa.pem', generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    expect(problemsFor('rsa.pem')).toEqual(['revocation.brokers[0].signingKey: rsa.pem must hold an EC P-256 key for ES256, not a RSA key']);
    write('p384.pem', generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    expect(problemsFor('p384.pem')).toEqual(['revocation.brokers[0].signingKey: p384.pem must hold an EC P-256 key for ES256, not an EC key on secp384r1']);
    write('sec1.pem', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' }));
    expect(problemsFor('sec1.pem')[0]).toMatch(/sec1\.pem is not a PKCS#8 PEM private key .*openssl pkcs8 -topk8 -nocrypt/);
    write('public.pem', generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }));
    expect(problemsFor('public.pem')[0]).toMatch(/public\.pem is not a PKCS#8 PEM private key/);
    write('garbage.pem', '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n');
    expect(problemsFor('garbage.pem')).toEqual(['revocation.brokers[0].signingKey: garbage.pem holds no readable private key']);
  });
});
