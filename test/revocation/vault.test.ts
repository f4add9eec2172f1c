/**
 * The `vault` broker against a Vault-API-compatible test server. HashiCorp Vault itself cannot be
 * installed here (no network beyond the npm and Debian registries, and Vault ships as a prebuilt binary
 * from its own site), so this server implements the two endpoints Vigil calls as Vault documents them —
 * `POST /v1/sys/leases/revoke {"lease_id"}` and `POST /v1/auth/token/revoke-accessor {"accessor"}`, token
 * in `X-Vault-Token`, 204 on success, `{"errors":[…]}` with 400/403, 503 while sealed — and asserts every
 * path, header and body it receives.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/daemon.js';
import { raise } from '../sinks/fixtures.js';
import { Receiver, type Received, type Reply } from '../sinks/receivers.js';
import { sleep, startRevocationDaemon, type RevocationDaemon } from './helpers.js';

const TOKEN = 'hvs.CAESIVigilTestToken0123456789';

/** A fake Vault: knows some leases and accessors, checks the token, can be sealed. */
class FakeVault {
  leases = new Set(['database/creds/readonly/2f6a614c', 'aws/creds/deploy/h9x1']);
  accessors = new Set(['8609694a-cdbc-db9b-d345-e782dbb562ed']);
  revoked: string[] = [];
  sealed = false;
  problems: string[] = [];

  respond = (r: Received): Reply => {
    const fail = (status: number, error: string): Reply => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ errors: [error] }) });
    if (r.method !== 'POST') this.problems.push(`method ${r.method}`);
    if (r.headers['content-type'] !== 'application/json') this.problems.push(`content-type ${r.headers['content-type']}`);
    if (this.sealed) return fail(503, 'Vault is sealed');
    if (r.headers['x-vault-token'] !== TOKEN) return fail(403, 'permission denied');
    const body = JSON.parse(r.body) as Record<string, unknown>;
    if (r.path === '/v1/sys/leases/revoke') {
      if (Object.keys(body).join() !== 'lease_id') this.problems.push(`lease body ${r.body}`);
      if (!this.leases.delete(String(body.lease_id))) return fail(400, 'invalid lease');
      this.revoked.push(`lease ${body.lease_id}`);
      return { status: 204 };
    }
    if (r.path === '/v1/auth/token/revoke-accessor') {
      if (Object.keys(body).join() !== 'accessor') this.problems.push(`accessor body ${r.body}`);
      if (!this.accessors.delete(String(body.accessor))) return fail(400, 'invalid accessor');
      this.revoked.push(`accessor ${body.accessor}`);
      return { status: 204 };
    }
    this.problems.push(`path ${r.path}`);
    return fail(404, 'unsupported path');
  };
}

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function setup(token = TOKEN): Promise<{ vault: FakeVault; server: Receiver; t: RevocationDaemon }> {
  const vault = new FakeVault();
  const server = await Receiver.start(vault.respond);
  open.push(server);
  const t = await startRevocationDaemon({
    mode: 'enforce',
    rules: [{ minSeverity: 'high', broker: 'vault' }],
    // A trailing slash on the address must not double the slash in the API path.
    brokers: [{ name: 'vault', type: 'vault', address: server.url('/'), token }],
  });
  open.push(t);
  return { vault, server, t };
}

const settled = (t: RevocationDaemon, n: number) =>
  waitFor(() => t.daemon.revocations.list().filter((r) => r.status === 'succeeded' || r.status === 'failed' || r.status === 'not_revocable').length === n, `${n} settled revocations`);

describe('vault broker', () => {
  it('revokes a lease and a token accessor through the Vault API', async () => {
    const { vault, server, t } = await setup();
    raise(t.daemon, { credential: { id: 'database/creds/readonly/2f6a614c', type: 'vault_lease' } });
    raise(t.daemon, { credential: { id: '8609694a-cdbc-db9b-d345-e782dbb562ed', type: 'vault_token_accessor' } });
    await settled(t, 2);
    expect(vault.problems).toEqual([]);
    expect(vault.revoked.sort()).toEqual(['accessor 8609694a-cdbc-db9b-d345-e782dbb562ed', 'lease database/creds/readonly/2f6a614c']);
    expect(server.received.map((r) => r.path).sort()).toEqual(['/v1/auth/token/revoke-accessor', '/v1/sys/leases/revoke']);
    expect(t.daemon.revocations.list().map((r) => [r.status, r.attempts])).toEqual([['succeeded', 1], ['succeeded', 1]]);
  });

  it('calls nothing for a credential type Vault cannot revoke', async () => {
    const { server, t } = await setup();
    raise(t.daemon, { credential: { id: 'eyJhbGciOi.jti-77', type: 'oauth_jti' } });
    raise(t.daemon, { credential: { id: 'lease-without-type', type: null } });
    await settled(t, 2);
    expect(t.daemon.revocations.list().map((r) => r.reason)).toEqual([
      'broker "vault" (vault) revokes only vault_lease and vault_token_accessor, not credential type oauth_jti',
      'broker "vault" (vault) revokes only vault_lease and vault_token_accessor, not a credential of unknown type',
    ]);
    await sleep(200);
    expect(server.received).toHaveLength(0);
  });

  it('fails on a refused token or an unknown lease, and retries while Vault is sealed', async () => {
    const { vault, t } = await setup();
    raise(t.daemon, { credential: { id: 'no/such/lease', type: 'vault_lease' } });
    await settled(t, 1);
    expect(t.daemon.revocations.list()[0]).toMatchObject({ status: 'failed', attempts: 1, reason: expect.stringContaining('HTTP 400') });

    vault.sealed = true;
    raise(t.daemon, { credential: { id: 'aws/creds/deploy/h9x1', type: 'vault_lease' } });
    await waitFor(() => t.announced.filter((r) => r.status === 'pending' && r.attempts >= 2).length > 0, 'retries while sealed');
    vault.sealed = false;
    await settled(t, 2);
    expect(vault.revoked).toEqual(['lease aws/creds/deploy/h9x1']);
    expect(vault.problems).toEqual([]);
  });

  it('sends the configured token, and fails when Vault denies it', async () => {
    const { vault, t } = await setup('hvs.wrong');
    raise(t.daemon, { credential: { id: 'database/creds/readonly/2f6a614c', type: 'vault_lease' } });
    await settled(t, 1);
    expect(t.daemon.revocations.list()[0]).toMatchObject({ status: 'failed', reason: expect.stringContaining('HTTP 403') });
    expect(vault.revoked).toEqual([]);
    expect(t.logs.join('')).not.toContain('hvs.wrong');
  });
});
