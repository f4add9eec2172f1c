/**
 * An operator's retry of a revocation (`POST /v1/revocations/{id}/retry`, `vigil revocation retry`): after
 * a broker refused it for good, after the config changed so a broker can revoke it, or to end a backoff
 * now. Real daemon in process, real API over HTTP, real broker (signatures verified with the independent
 * `standardwebhooks` package), and the compiled CLI in a child process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TEST_TOKEN, waitFor } from '../helpers/daemon.js';
import { runCli as cli } from '../helpers/cli.js';
import { encodeProtobuf, makeSpans } from '../helpers/otlp-payloads.js';
import { BROKER_SECRET, raise } from '../sinks/fixtures.js';
import { verifyStandardWebhook } from '../sinks/receivers.js';
import { closedAfterEachTest, hookBroker, sleep, type RevocationDaemon } from './helpers.js';

const { broker, daemon } = closedAfterEachTest();

async function retry(t: RevocationDaemon, id: string, token = TEST_TOKEN): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${t.apiUrl}/v1/revocations/${encodeURIComponent(id)}/retry`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('retrying a revocation', () => {
  // Review28 H1: the retry routed a record by the rules only, so retrying the not_revocable record of an
  // identity that named another's credential revoked the victim's token.
  it('refuses to retry a revocation of a credential another identity presented first, calling nothing', async () => {
    const b = await broker(() => ({ status: 204 }));
    const t = await daemon({ mode: 'enforce', rules: [{ minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(b)] });
    const owner = 'spiffe://acme.example/ns/billing/sa/billing-1';
    const spans = makeSpans([{ name: 'execute_tool crm.search', attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'crm.search' }, resource: { 'service.name': 'billing-agent', 'nhi.identity': owner, 'nhi.credential.id': 'tok-9' } }]);
    await t.daemon.pipeline.ingest(encodeProtobuf(spans), 'protobuf', 'http');
    await waitFor(() => t.actions.some((a) => a.identity === owner), 'the owner presenting it');
    const id = raise(t.daemon, { credential: { id: 'tok-9', type: null } }).response!.revocationId;
    expect(t.daemon.revocations.list()).toMatchObject([{ revocationId: id, status: 'not_revocable' }]);

    const r = await retry(t, id);
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ error: 'VIGIL_ERR_CONFLICT', message: expect.stringContaining(`credential tok-9 was first presented by ${owner}`) });
    await sleep(200);
    expect(b.received).toHaveLength(0);
    expect(t.daemon.revocations.list()).toMatchObject([{ revocationId: id, status: 'not_revocable' }]);
  });

  it('sends a revocation a broker refused again, with the same id, once the broker is fixed', async () => {
    let refuse = true;
    const b = await broker(() => ({ status: refuse ? 403 : 204 }));
    const t = await daemon({ mode: 'enforce', rules: [{ minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(b)] });
    const id = raise(t.daemon, { credential: { id: 'jti-403', type: 'oauth_jti' } }).response!.revocationId;
    await waitFor(() => t.announced.some((r) => r.status === 'failed'), 'the permanent failure');

    refuse = false; // the broker's policy is fixed
    const r = await retry(t, id);
    expect(r.status).toBe(200);
    expect(r.body.revocation).toMatchObject({ revocationId: id, status: 'pending', attempts: 1, reason: expect.stringContaining('retried by the operator') });
    await waitFor(() => t.announced.some((x) => x.status === 'succeeded'), 'the revocation');
    expect(t.announced.map((x) => x.status)).toEqual(['pending', 'failed', 'pending', 'succeeded']);
    expect(t.daemon.revocations.list()).toMatchObject([{ revocationId: id, status: 'succeeded', attempts: 2 }]);
    expect(t.attempts(id)).toMatchObject([
      { attempt: 1, http_status: 403, outcome: 'failed' },
      { attempt: 2, http_status: 204, outcome: 'succeeded' },
    ]);
    // The revocation id is the broker's idempotency key: both calls carry it, both verify.
    expect(b.ids()).toEqual([id]);
    for (const call of b.received) expect(verifyStandardWebhook(BROKER_SECRET, call).data.revocationId).toBe(id);

    // Done is done: a second retry changes nothing and calls nothing.
    const again = await retry(t, id);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: 'VIGIL_ERR_CONFLICT', message: expect.stringContaining('already revoked') });
    await sleep(200);
    expect(b.received).toHaveLength(2);
  });

  it('routes a not_revocable revocation by the current rules after a restart with a broker that can revoke it', async () => {
    const b = await broker(() => ({ status: 204 }));
    const vault = { name: 'vault', type: 'vault', address: b.url('/vault'), token: 'hvs.test' };
    const credential = { id: 'jti-not-vault', type: 'oauth_jti' };
    const before = await daemon({ mode: 'enforce', rules: [{ minSeverity: 'high', broker: 'vault' }], brokers: [vault] });
    const id = raise(before.daemon, { credential }).response!.revocationId;
    expect(before.daemon.revocations.list()).toMatchObject([{ status: 'not_revocable' }]);
    // Retried under the same config it stays as it is, and the answer says why.
    const refused = await retry(before, id);
    expect(refused).toMatchObject({ status: 409, body: { message: expect.stringContaining('not credential type oauth_jti') } });
    await before.close();

    const t = await daemon({ mode: 'enforce', rules: [{ minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(b)] }, {}, before.dir);
    const r = await retry(t, id);
    expect(r).toMatchObject({ status: 200, body: { revocation: { revocationId: id, broker: 'hook', status: 'pending' } } });
    await waitFor(() => t.daemon.revocations.list()[0]?.status === 'succeeded', 'the revocation');
    expect(b.received.map((x) => x.path)).toEqual(['/revoke']);
    expect(verifyStandardWebhook(BROKER_SECRET, b.received[0]).data).toMatchObject({ revocationId: id, credentialId: credential.id });
    // Later alerts for the credential still find it by its key.
    expect(raise(t.daemon, { credential, subject: 'reports.delete|delete|later' }).response?.revocationId).toBe(id);
  });

  it('sends a pending revocation at once, whatever its own backoff and its broker\'s pause', async () => {
    let down = true;
    const b = await broker(() => ({ status: down ? 503 : 204, headers: down ? { 'Retry-After': '3600' } : {} }));
    const t = await daemon({ mode: 'enforce', rules: [{ minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(b)] });
    // Two revocations failing: the broker counts as down, its lane paused for the hour it asked for.
    const id = raise(t.daemon, { credential: { id: 'jti-a', type: 'oauth_jti' } }).response!.revocationId;
    raise(t.daemon, { credential: { id: 'jti-b', type: 'oauth_jti' } });
    await waitFor(() => t.announced.filter((r) => r.attempts === 1).length === 2, 'both first attempts');
    await sleep(300);
    expect(b.received).toHaveLength(2);

    down = false;
    const r = await retry(t, id);
    expect(r).toMatchObject({ status: 200, body: { revocation: { revocationId: id, status: 'pending', attempts: 1, reason: expect.stringMatching(/^sending now \(retried by the operator; before: attempt 1 /) } } });
    await waitFor(() => t.daemon.revocations.list().find((x) => x.revocationId === id)?.status === 'succeeded', 'the retried revocation');
    expect(b.received).toHaveLength(3);
  });

  it('refuses in dry_run, for an unknown id, with a wrong token, and when no rule matches any more', async () => {
    const b = await broker();
    const dry = await daemon({ rules: [{ minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(b)] });
    const id = raise(dry.daemon).response!.revocationId;
    expect(await retry(dry, id)).toMatchObject({ status: 409, body: { message: expect.stringContaining('revocation.mode is dry_run') } });
    expect(await retry(dry, 'rv_nope')).toMatchObject({ status: 404, body: { error: 'VIGIL_ERR_NOT_FOUND' } });
    expect((await retry(dry, id, 'wrong-token')).status).toBe(401);
    const malformed = await fetch(`${dry.apiUrl}/v1/revocations/%E0%A4%A/retry`, { method: 'POST', headers: { Authorization: `Bearer ${TEST_TOKEN}` } });
    expect(malformed.status).toBe(400);
    const get = await fetch(`${dry.apiUrl}/v1/revocations/${id}/retry`, { headers: { Authorization: `Bearer ${TEST_TOKEN}` } });
    expect(get.status).toBe(405);
    await dry.close();

    const t = await daemon({ mode: 'enforce', rules: [{ detectors: ['retry_storm'], minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(b)] }, {}, dry.dir);
    expect(await retry(t, id)).toMatchObject({ status: 409, body: { message: expect.stringContaining('no revocation rule matches it now') } });
    await sleep(200);
    expect(b.received).toHaveLength(0);
    expect(t.daemon.revocations.list()).toMatchObject([{ revocationId: id, status: 'dry_run' }]);
  });

  it('vigil revocation retry: prints the new state, or the reason in one sentence with exit 1', async () => {
    const b = await broker(() => ({ status: 400 }));
    const t = await daemon({ mode: 'enforce', rules: [{ minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(b)] });
    const id = raise(t.daemon).response!.revocationId;
    await waitFor(() => t.announced.some((r) => r.status === 'failed'), 'the permanent failure');
    const config = path.join(t.dir, 'cli.yaml');
    fs.writeFileSync(config, `api: { endpoint: "127.0.0.1:${new URL(t.apiUrl).port}" }\nstorage: { path: "${path.join(t.dir, 'cli.db')}" }\n`);

    const ok = await cli(['revocation', 'retry', '--config', config, id]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).revocation).toMatchObject({ revocationId: id, status: 'pending' });
    await waitFor(() => t.announced.filter((r) => r.status === 'failed').length === 2, 'the second refusal');

    const unknown = await cli(['revocation', 'retry', '--config', config, 'rv_unknown']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('404');
    expect(unknown.stderr).toContain('unknown revocation rv_unknown');
    const usage = await cli(['revocation', 'retry', '--config', config]);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toContain('usage: vigil revocation retry');
  });
});
