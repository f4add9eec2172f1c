/**
 * The revocation engine with the `webhook` broker, in process: rules, dry_run and enforce, idempotency per
 * credential, not_revocable with its reason, retries and permanent failures, every attempt in SQLite,
 * every state change announced (after the alert it belongs to). The broker is a real HTTP receiver whose
 * signatures are verified with the independent `standardwebhooks` package.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TEST_TOKEN, waitFor } from '../helpers/daemon.js';
import { encodeProtobuf, makeSpans } from '../helpers/otlp-payloads.js';
import { BROKER_SECRET, raise, WEBHOOK_SECRET } from '../sinks/fixtures.js';
import { Receiver, verifyStandardWebhook } from '../sinks/receivers.js';
import { closedAfterEachTest, hookBroker, sleep, startRevocationDaemon, type RevocationDaemon } from './helpers.js';

const { broker, daemon } = closedAfterEachTest();

const storedResponse = (t: RevocationDaemon, alertId: string) =>
  JSON.parse(t.daemon.db.prepare('SELECT body FROM alerts WHERE id = ?').pluck().get(alertId) as string).response;

describe('revocation engine', () => {
  it('dry_run (the default) records and announces, calls nothing, and fills the alert response', async () => {
    const b = await broker();
    const hook = await broker();
    const t = await daemon({ rules: [{ minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(b)] }, { webhooks: [{ url: hook.url(), secret: WEBHOOK_SECRET }] });
    const alert = raise(t.daemon, { credential: { id: 'jti-1', type: 'oauth_jti' } });
    expect(alert.response).toEqual({ action: 'revoke', mode: 'dry_run', revocationId: expect.stringMatching(/^rv_/) });
    expect(storedResponse(t, alert.id)).toEqual(alert.response);
    await waitFor(() => t.announced.length === 1 && hook.received.length === 1, 'the announcement and the alert webhook');
    expect(t.announced[0]).toEqual({
      revocationId: alert.response!.revocationId,
      alertId: alert.id,
      identity: alert.identity,
      credentialId: 'jti-1',
      credentialType: 'oauth_jti',
      broker: 'hook',
      mode: 'dry_run',
      status: 'dry_run',
      attempts: 0,
      reason: expect.stringContaining('dry run, nothing called'),
      at: expect.any(String),
    });
    expect(t.daemon.revocations.list()).toEqual(t.announced);
    // The alert webhook carries the response decided inside the same transaction.
    expect(verifyStandardWebhook(WEBHOOK_SECRET, hook.received[0]).data.response).toEqual(alert.response);
    await sleep(300);
    expect(b.received).toHaveLength(0);
    expect(t.attempts(alert.response!.revocationId)).toEqual([]);
  });

  it('leaves alerts no rule matches without a response', async () => {
    const b = await broker();
    const t = await daemon({ mode: 'enforce', rules: [{ detectors: ['retry_storm'], minSeverity: 'high', credentialTypes: ['oauth_jti'], broker: 'hook' }], brokers: [hookBroker(b)] });
    expect(raise(t.daemon, { detector: 'unexpected_write', severity: 'critical', credential: { id: 'a', type: 'oauth_jti' } }).response).toBeUndefined();
    expect(raise(t.daemon, { detector: 'retry_storm', severity: 'medium', credential: { id: 'b', type: 'oauth_jti' } }).response).toBeUndefined();
    expect(raise(t.daemon, { detector: 'retry_storm', severity: 'high', credential: { id: 'c', type: 'vault_lease' } }).response).toBeUndefined();
    expect(raise(t.daemon, { detector: 'retry_storm', severity: 'high', credential: { id: 'd', type: 'oauth_jti' } }).response).toBeDefined();
  });

  it('makes an alert without a credential id not_revocable with the reason, calling nothing', async () => {
    const b = await broker();
    const t = await daemon({ mode: 'enforce', rules: [{ minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(b)] });
    const first = raise(t.daemon, { credential: null });
    const second = raise(t.daemon, { credential: null });
    expect(first.response?.revocationId).not.toBe(second.response?.revocationId);
    await waitFor(() => t.announced.length === 2, 'two announcements');
    for (const r of t.announced) expect(r).toMatchObject({ status: 'not_revocable', reason: 'no credential id on the spans', credentialId: null, attempts: 0, mode: 'enforce' });
    await sleep(300);
    expect(b.received).toHaveLength(0);
  });

  // Regression (review20 F18): an identity naming another peer group's credential got it revoked by its own alerts.
  it('does not revoke a credential another identity presented first, whatever its peer group: not_revocable, saying whose it is', async () => {
    const b = await broker(() => ({ status: 204 }));
    const t = await daemon({ mode: 'enforce', rules: [{ minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(b)] });
    const owner = 'spiffe://acme.example/ns/billing/sa/billing-1';
    const spans = makeSpans([{ name: 'execute_tool crm.search', attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'crm.search' }, resource: { 'service.name': 'billing-agent', 'nhi.identity': owner, 'nhi.credential.id': 'tok-billing' } }]);
    await t.daemon.pipeline.ingest(encodeProtobuf(spans), 'protobuf', 'http');
    await waitFor(() => t.actions.some((a) => a.identity === owner), 'its action');
    // Neither the reporter's alert (peer group "reporter") nor one on an identity claiming its owner's peer
    // group (review25 F1: the group is the span's say-so) revokes it.
    const alerts = [raise(t.daemon, { credential: { id: 'tok-billing', type: null } }), raise(t.daemon, { identity: 'spiffe://acme.example/ns/sandbox/sa/evil', peerGroup: 'billing-agent', credential: { id: 'tok-billing', type: null } })];
    await waitFor(() => t.announced.length === 1, 'the decision');
    expect(t.announced[0]).toMatchObject({ status: 'not_revocable', credentialId: 'tok-billing', reason: expect.stringContaining(`first presented by ${owner} (peer group billing-agent)`) });
    expect(alerts[1].response?.revocationId).toBe(alerts[0].response?.revocationId); // the one not_revocable record
    expect(b.received).toHaveLength(0);
    // Its owner's own alert still revokes it.
    const own = raise(t.daemon, { identity: owner, peerGroup: 'billing-agent', credential: { id: 'tok-billing', type: null } });
    expect(own.response?.mode).toBe('enforce');
    await waitFor(() => b.received.length === 1, 'the revocation call');
  });

  it('revokes once per credential in enforce mode: a later alert carries the same revocationId', async () => {
    const b = await broker(() => ({ status: 204 }));
    const t = await daemon({ mode: 'enforce', rules: [{ minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(b)] });
    const credential = { id: 'lease/abc/1', type: 'vault_lease' };
    const first = raise(t.daemon, { credential });
    await waitFor(() => t.announced.some((r) => r.status === 'succeeded'), 'success');
    const second = raise(t.daemon, { credential, detector: 'scope_drift', severity: 'critical' });
    expect(second.response).toEqual({ action: 'revoke', mode: 'enforce', revocationId: first.response!.revocationId });
    await sleep(300);
    expect(b.received).toHaveLength(1);

    const id = first.response!.revocationId;
    const payload = verifyStandardWebhook(BROKER_SECRET, b.received[0]);
    expect(b.received[0].headers['webhook-id']).toBe(id);
    expect(payload).toEqual({
      type: 'credential.revoke',
      timestamp: expect.any(String),
      data: { revocationId: id, identity: first.identity, credentialId: 'lease/abc/1', credentialType: 'vault_lease', alertId: first.id, detector: 'unexpected_write', severity: 'high', reason: first.title },
    });
    expect(t.announced.map((r) => [r.status, r.attempts])).toEqual([['pending', 0], ['succeeded', 1]]);
    expect(t.attempts(id)).toMatchObject([{ attempt: 1, http_status: 204, outcome: 'succeeded' }]);
    expect(t.daemon.revocations.list()).toMatchObject([{ revocationId: id, status: 'succeeded', attempts: 1, alertId: first.id }]);
  });

  // Regression: the type is part of the credential's key, so spans that named it for some calls only made
  // two revocations of one token, and a broker deduplicating on webhook-id revoked it twice.
  it('one credential is one revocation whether or not its spans named its type', async () => {
    const b = await broker(() => ({ status: 204 }));
    const t = await daemon({ mode: 'enforce', rules: [{ minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(b)] });
    const typedFirst = raise(t.daemon, { credential: { id: 'jti-same', type: 'oauth_jti' } }).response!.revocationId;
    expect(raise(t.daemon, { credential: { id: 'jti-same', type: null } }).response!.revocationId).toBe(typedFirst);
    // The other way round: the type given later is kept.
    const untypedFirst = raise(t.daemon, { credential: { id: 'jti-later-typed', type: null } }).response!.revocationId;
    expect(raise(t.daemon, { credential: { id: 'jti-later-typed', type: 'oauth_jti' } }).response!.revocationId).toBe(untypedFirst);
    await waitFor(() => b.received.length === 2, 'both revocations');
    await sleep(300);
    expect(b.ids().sort()).toEqual([typedFirst, untypedFirst].sort());
    expect(t.daemon.revocations.list()).toMatchObject([
      { revocationId: typedFirst, credentialType: 'oauth_jti' },
      { revocationId: untypedFirst, credentialType: 'oauth_jti' },
    ]);
  });

  it('keeps a type learned while an attempt was out: the attempt writes its outcome, not its old view of the row', async () => {
    const b = await broker(() => ({ status: 503, delayMs: 500 }));
    const t = await daemon({ mode: 'enforce', rules: [{ minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(b)] });
    const id = raise(t.daemon, { credential: { id: 'jti-race', type: null } }).response!.revocationId;
    await waitFor(() => b.received.length === 1, 'the first attempt out');
    expect(raise(t.daemon, { credential: { id: 'jti-race', type: 'oauth_jti' } }).response!.revocationId).toBe(id);
    await waitFor(() => t.attempts(id).some((a) => a.outcome === 'retry'), 'the attempt to settle');
    const row = () => t.daemon.db.prepare('SELECT cred_key, credential_type FROM revocations WHERE id = ?').get(id);
    expect(row()).toEqual({ cred_key: 'credential\u0000oauth_jti\u0000jti-race', credential_type: 'oauth_jti' });
    // What was announced after the attempt names the type too.
    expect(t.announced.at(-1)).toMatchObject({ revocationId: id, credentialType: 'oauth_jti', attempts: 1 });
  });

  it('retries 429/5xx/network errors with the same webhook-id, recording every attempt', async () => {
    const b = await broker((_r, i) => (i === 0 ? { status: 503 } : i === 1 ? { status: 429, headers: { 'retry-after': '0' } } : { status: 200 }));
    const t = await daemon({ mode: 'enforce', rules: [{ minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(b)] });
    const id = raise(t.daemon).response!.revocationId;
    await waitFor(() => t.announced.some((r) => r.status === 'succeeded'), 'success');
    expect(b.ids()).toEqual([id]);
    expect(b.received).toHaveLength(3);
    for (const r of b.received) verifyStandardWebhook(BROKER_SECRET, r);
    expect(t.attempts(id).map((a) => [a.attempt, a.http_status, a.outcome])).toEqual([[1, 503, 'retry'], [2, 429, 'retry'], [3, 200, 'succeeded']]);
    expect(t.announced.map((r) => [r.status, r.attempts])).toEqual([['pending', 0], ['pending', 1], ['pending', 2], ['succeeded', 3]]);
    expect(t.announced[1].reason).toMatch(/attempt 1 to broker "hook" failed \(HTTP 503\); retrying/);
  });

  // Review21 M2: a broker that was down showed only info lines and a counter of state changes.
  it('a broker that keeps failing is a warning, and /metrics shows the credentials still valid and for how long', async () => {
    let up = false;
    const b = await broker(() => ({ status: up ? 200 : 503 }));
    const t = await daemon({ mode: 'enforce', rules: [{ minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(b)] });
    const metric = async (name: string) => {
      const text = await t.daemon.metrics.registry.metrics();
      return Number(new RegExp(`^${name}\\{broker="hook"\\} (\\S+)$`, 'm').exec(text)?.[1]);
    };
    expect(await metric('vigil_revocations_pending')).toBe(0);
    raise(t.daemon);
    await waitFor(() => t.announced.some((r) => r.attempts >= 1), 'a failed attempt');
    const warnings = t.logs.map((l) => JSON.parse(l)).filter((l) => l.level === 40 && /revocation pending/.test(l.msg));
    expect(warnings[0].msg).toMatch(/attempt 1 to broker "hook" failed \(HTTP 503\); retrying .* the credential is still valid$/);
    expect(await metric('vigil_revocations_pending')).toBe(1);
    await sleep(50);
    expect(await metric('vigil_revocation_oldest_pending_seconds')).toBeGreaterThan(0);
    up = true;
    await waitFor(() => t.announced.some((r) => r.status === 'succeeded'), 'success');
    expect(await metric('vigil_revocations_pending')).toBe(0);
    expect(await metric('vigil_revocation_oldest_pending_seconds')).toBe(0);
  });

  // Regression: a broker answering 503 with `Retry-After: 0` was called in a tight loop, each call writing
  // an attempt row and a websocket announcement.
  it('does not hammer a broker that answers 503 with Retry-After: 0', async () => {
    const b = await broker(() => ({ status: 503, headers: { 'retry-after': '0' } }));
    const t = await daemon(
      { mode: 'enforce', rules: [{ minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(b)] },
      { delivery: { retryInitial: '500ms', retryMax: '2s', timeout: '2s' } },
    );
    const id = raise(t.daemon).response!.revocationId;
    await sleep(1500);
    // A backoff of 500ms..2s allows a handful of calls in 1.5 s (the fault made hundreds): 20 is generous.
    expect(b.received.length).toBeGreaterThanOrEqual(1);
    expect(b.received.length).toBeLessThanOrEqual(20);
    expect(t.attempts(id).length).toBeLessThanOrEqual(20);
  });

  it('fails permanently on another status, with the attempts counted', async () => {
    const b = await broker(() => ({ status: 400 }));
    const t = await daemon({ mode: 'enforce', rules: [{ minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(b)] });
    const id = raise(t.daemon).response!.revocationId;
    await waitFor(() => t.announced.some((r) => r.status === 'failed'), 'failure');
    await sleep(300);
    expect(b.received).toHaveLength(1);
    expect(t.daemon.revocations.list()).toMatchObject([{ revocationId: id, status: 'failed', attempts: 1, reason: expect.stringContaining('HTTP 400') }]);
    expect(t.attempts(id)).toMatchObject([{ attempt: 1, http_status: 400, outcome: 'failed' }]);
    // Still valid, and /metrics says so, read from the store: a restart does not reset it (review41 M2).
    const failed = (text: string) => Number(/^vigil_revocations_failed\{broker="hook"\} (\S+)$/m.exec(text)?.[1]);
    expect(failed(await t.daemon.metrics.registry.metrics())).toBe(1);
    expect(/^vigil_revocations_pending\{broker="hook"\} 0$/m.test(await t.daemon.metrics.registry.metrics())).toBe(true);
  });

  it('sends a failed revocation again when a new alert on the same credential matches a rule (review41 H4)', async () => {
    let status = 403; // the broker refuses: its policy lacks the permission
    const b = await broker(() => ({ status }));
    const t = await daemon({ mode: 'enforce', rules: [{ minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(b)] });
    const credential = { id: 'tok-Q', type: 'bearer' };
    const id = raise(t.daemon, { credential }).response!.revocationId;
    await waitFor(() => t.announced.some((r) => r.status === 'failed'), 'failure');
    // Served alerts say so: the stored body says only that a revocation was decided.
    const served = async () => {
      const res = await fetch(`${t.apiUrl}/v1/alerts`, { headers: { Authorization: `Bearer ${TEST_TOKEN}` } });
      return ((await res.json()) as { alerts: Array<{ response?: { status?: string } }> }).alerts.map((a) => a.response?.status);
    };
    expect(await served()).toEqual(['failed']);
    status = 204; // fixed; the same agent acts again, at once: not sent again within delivery.retryMax (review42 L2)
    raise(t.daemon, { credential, detector: 'scope_drift', severity: 'critical' });
    await sleep(250); // past retryMax (200 ms here): a new alert sends it again
    expect(b.received).toHaveLength(1);
    const third = raise(t.daemon, { credential, detector: 'lateral_chaining', severity: 'critical' });
    expect(third.response).toEqual({ action: 'revoke', mode: 'enforce', revocationId: id });
    await waitFor(() => t.announced.some((r) => r.status === 'succeeded'), 'success');
    expect(b.received.map((r) => r.headers['webhook-id'])).toEqual([id, id]); // the same idempotency key
    expect(t.daemon.revocations.list()).toMatchObject([{ revocationId: id, status: 'succeeded', attempts: 2, alertId: third.id }]);
    expect(await served()).toEqual(['succeeded', 'succeeded', 'succeeded']);
  });

  it('announces a revocation after its alert, never before', async () => {
    const b = await broker();
    const t = await daemon({ rules: [{ minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(b)] });
    const order: string[] = [];
    t.daemon.alerts.subscribe((e) => e.type === 'alert' && order.push(`alert ${e.alert.id}`));
    t.daemon.revocations.subscribe((r) => order.push(`revocation ${r.alertId}`));
    const a = raise(t.daemon);
    await waitFor(() => order.length === 2, 'both events');
    expect(order).toEqual([`alert ${a.id}`, `revocation ${a.id}`]);
  });

  it('reopens a not_revocable credential when a later rule picks a broker that can revoke it', async () => {
    const b = await broker();
    const t = await daemon({
      mode: 'enforce',
      rules: [
        { detectors: ['retry_storm'], minSeverity: 'high', broker: 'vault' },
        { minSeverity: 'high', broker: 'hook' },
      ],
      brokers: [{ name: 'vault', type: 'vault', address: b.url('/vault'), token: 'hvs.test' }, hookBroker(b)],
    });
    const credential = { id: 'jti-9', type: 'oauth_jti' };
    const first = raise(t.daemon, { detector: 'retry_storm', credential });
    await waitFor(() => t.announced.length === 1, 'not_revocable');
    expect(t.announced[0]).toMatchObject({ status: 'not_revocable', broker: 'vault', reason: 'broker "vault" (vault) revokes only vault_lease and vault_token_accessor, not credential type oauth_jti' });
    const second = raise(t.daemon, { detector: 'unexpected_write', credential });
    expect(second.response!.revocationId).toBe(first.response!.revocationId);
    await waitFor(() => t.announced.some((r) => r.status === 'succeeded'), 'success through the webhook broker');
    expect(b.received.map((r) => r.path)).toEqual(['/revoke']);
    expect(t.daemon.revocations.list()).toMatchObject([{ broker: 'hook', alertId: second.id, status: 'succeeded' }]);
  });

  it('revokes a dry_run credential for real once the operator switches to enforce; a switch back stops sending', async () => {
    const b = await broker(() => ({ status: 503 }));
    const rules = [{ minSeverity: 'high', broker: 'hook' }];
    const credential = { id: 'acc-1', type: 'vault_token_accessor' };
    const dry = await daemon({ rules, brokers: [hookBroker(b)] });
    const id = raise(dry.daemon, { credential }).response!.revocationId;
    await dry.close();

    const enforce = await daemon({ mode: 'enforce', rules, brokers: [hookBroker(b)] }, {}, dry.dir);
    expect(raise(enforce.daemon, { credential }).response).toEqual({ action: 'revoke', mode: 'enforce', revocationId: id });
    await waitFor(() => b.received.length >= 1, 'an attempt');
    await enforce.close();
    const calls = b.received.length;

    const back = await daemon({ rules, brokers: [hookBroker(b)] }, {}, dry.dir);
    await sleep(400);
    expect(b.received).toHaveLength(calls);
    expect(back.logs.join('')).toMatch(/pending revocations are not sent while revocation.mode is dry_run/);
    expect(back.daemon.revocations.list()).toMatchObject([{ revocationId: id, mode: 'enforce', status: 'pending' }]);
  });
});

describe('revocation engine: a broker renamed or removed while a revocation is pending', () => {
  const oldBroker = (r: Receiver) => hookBroker(r, 'old');
  const newBroker = (r: Receiver) => hookBroker(r, 'new');

  /** A revocation left pending on broker `old` (down) in a stopped daemon; returns its folder and id. */
  async function pendingOnOld(credential: { id: string; type: string }, rules: unknown[]): Promise<{ dir: string; id: string }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-renamed-broker-'));
    const down = await broker(() => ({ status: 503 }));
    const first = await startRevocationDaemon({ mode: 'enforce', rules, brokers: [oldBroker(down)] }, {}, dir);
    const id = raise(first.daemon, { credential }).response!.revocationId;
    await waitFor(() => down.received.length >= 1, 'an attempt on the old broker');
    await first.close();
    return { dir, id };
  }

  // Regression: the row stayed pending on a broker no longer configured, and a later alert for the same
  // credential got its revocationId while nothing was ever sent again.
  it('sends a pending revocation whose broker was renamed through the broker the current rules pick', async () => {
    const credential = { id: 'lease/renamed/1', type: 'vault_lease' };
    const { dir, id } = await pendingOnOld(credential, [{ minSeverity: 'high', broker: 'old' }]);
    const up = await broker(() => ({ status: 204 }));
    const t = await daemon({ mode: 'enforce', rules: [{ minSeverity: 'high', broker: 'new' }], brokers: [newBroker(up)] }, {}, dir);
    // Re-routed at start: no later alert is needed for it to go out.
    await waitFor(() => t.daemon.revocations.list().some((r) => r.status === 'succeeded'), 'the revocation through the new broker');
    const again = raise(t.daemon, { credential, subject: 'reports.delete|delete|again' });
    expect(again.response?.revocationId).toBe(id);
    await sleep(300);
    // The revocation id is the broker's idempotency key (webhook-id, SSF jti): it stays the same.
    expect(up.ids()).toEqual([id]);
    expect(up.received).toHaveLength(1);
    expect(t.daemon.revocations.list()).toMatchObject([{ revocationId: id, status: 'succeeded', broker: 'new' }]);
    expect(t.attempts(id).at(-1)).toMatchObject({ http_status: 204, outcome: 'succeeded' });
    expect(t.logs.join('')).toMatch(/re-routed/);
  });

  it('routes it through the broker a later alert picks when no rule matched it at start', async () => {
    const credential = { id: 'jti-renamed-2', type: 'oauth_jti' };
    const { dir, id } = await pendingOnOld(credential, [{ detectors: ['unexpected_write'], minSeverity: 'high', broker: 'old' }]);
    const up = await broker(() => ({ status: 204 }));
    const t = await daemon({ mode: 'enforce', rules: [{ detectors: ['scope_drift'], minSeverity: 'high', broker: 'new' }], brokers: [newBroker(up)] }, {}, dir);
    await sleep(300);
    expect(up.received).toHaveLength(0);
    expect(t.logs.join('')).toMatch(/no rule routes/);
    const later = raise(t.daemon, { credential, detector: 'scope_drift' });
    expect(later.response).toEqual({ action: 'revoke', mode: 'enforce', revocationId: id });
    await waitFor(() => up.received.length === 1, 'the revocation through the new broker');
    expect(up.ids()).toEqual([id]);
    await waitFor(() => t.daemon.revocations.list()[0]?.status === 'succeeded', 'success');
    expect(t.daemon.revocations.list()).toMatchObject([{ revocationId: id, broker: 'new', alertId: later.id }]);
  });

  it('makes it not_revocable, with the reason, when the broker the rules now pick cannot revoke it', async () => {
    const credential = { id: 'jti-renamed-3', type: 'oauth_jti' };
    const { dir, id } = await pendingOnOld(credential, [{ minSeverity: 'high', broker: 'old' }]);
    const vault = await broker();
    const t = await daemon({ mode: 'enforce', rules: [{ minSeverity: 'high', broker: 'vault' }], brokers: [{ name: 'vault', type: 'vault', address: vault.url(''), token: 'hvs.test' }] }, {}, dir);
    expect(t.daemon.revocations.list()).toMatchObject([{ revocationId: id, broker: 'vault', status: 'not_revocable', reason: expect.stringContaining('not credential type oauth_jti') }]);
    await sleep(300);
    expect(vault.received).toHaveLength(0);
  });

  // Regression: the revocation stayed pending on a broker that could no longer build its request, and its
  // next attempt failed it with a TypeError for a reason.
  it('routes it again when its broker keeps its name but changes to a type that cannot revoke it', async () => {
    const credential = { id: 'jti-retyped', type: 'oauth_jti' };
    const { dir, id } = await pendingOnOld(credential, [{ minSeverity: 'high', broker: 'old' }]);
    const vault = await broker();
    const up = await broker(() => ({ status: 204 }));
    const retyped = { name: 'old', type: 'vault', address: vault.url(''), token: 'hvs.test' };
    // A rule that routes it elsewhere: it goes there, keeping its id.
    const rerouted = await daemon({ mode: 'enforce', rules: [{ credentialTypes: ['vault_lease'], minSeverity: 'high', broker: 'old' }, { minSeverity: 'high', broker: 'new' }], brokers: [retyped, newBroker(up)] }, {}, dir);
    await waitFor(() => rerouted.daemon.revocations.list()[0]?.status === 'succeeded', 'the revocation through the broker the rules pick');
    expect(up.ids()).toEqual([id]);
    expect(rerouted.logs.join('')).toMatch(/now of type vault, which cannot revoke them: re-routed to broker/);
    await rerouted.close();

    // No rule routes it elsewhere: not_revocable, with the broker's reason, and nothing is called.
    const other = await pendingOnOld({ id: 'jti-retyped-2', type: 'oauth_jti' }, [{ minSeverity: 'high', broker: 'old' }]);
    const t = await daemon({ mode: 'enforce', rules: [{ minSeverity: 'high', broker: 'old' }], brokers: [retyped] }, {}, other.dir);
    expect(t.daemon.revocations.list()).toMatchObject([{ revocationId: other.id, broker: 'old', status: 'not_revocable', reason: expect.stringContaining('not credential type oauth_jti') }]);
    await sleep(300);
    expect(vault.received).toHaveLength(0);
  });
});
