/**
 * An operator's view and resume of webhook endpoints (review24 L3): `GET /v1/webhooks`,
 * `POST /v1/webhooks/{endpoint}/resume` and `vigil webhook list|resume`. Real daemon in process, a real
 * receiver on port 0 that is down (asking for an hour's wait) and then back, the real API over HTTP, and
 * the compiled CLI in a child process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TEST_TOKEN, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { runCli } from '../helpers/cli.js';
import { raise, WEBHOOK_SECRET } from '../sinks/fixtures.js';
import { openedPerTest } from '../sinks/opened.js';

const { receiver, daemon } = openedPerTest();

/** Pauses of an hour: a delivery made within the test was made by the resume, not by a probe. */
const HOUR_DELIVERY = { delivery: { retryInitial: '1h', retryMax: '1h', timeout: '2s' } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function api(t: TestDaemon, method: string, p: string, token = TEST_TOKEN): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(t.apiUrl + p, { method, headers: { Authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

describe('webhook endpoints', () => {
  it('shows a stuck endpoint, and a resume delivers its backlog long before its pause would have ended', async () => {
    let down = true;
    const r = await receiver(() => (down ? { status: 503, headers: { 'Retry-After': '3600' } } : { status: 204 }));
    const t = await daemon([{ url: r.url(), secret: WEBHOOK_SECRET }], HOUR_DELIVERY);
    const alerts = [raise(t.daemon), raise(t.daemon)];
    await waitFor(async () => (await api(t, 'GET', '/v1/webhooks')).body.webhooks[0].consecutiveFailures === 2, 'both deliveries to fail');

    const stuck = (await api(t, 'GET', '/v1/webhooks')).body.webhooks;
    expect(stuck).toEqual([
      {
        endpoint: 0,
        label: `webhooks[0] (${new URL(r.url()).origin})`,
        disabled: false,
        pending: 2,
        consecutiveFailures: 2,
        failingSince: expect.any(String),
        pausedUntil: expect.any(String),
        lastError: { at: expect.any(String), error: 'HTTP 503' },
      },
    ]);
    // Paused for the hour the receiver asked for (Retry-After), at least 59 minutes from now.
    expect(Date.parse(stuck[0].pausedUntil) - Date.now()).toBeGreaterThan(59 * 60_000);
    down = false;
    await sleep(300);
    expect(r.received).toHaveLength(2); // the receiver is back, and nothing is sent: the pause holds

    const resumed = await api(t, 'POST', '/v1/webhooks/0/resume');
    expect(resumed.status).toBe(200);
    expect(resumed.body.webhook).toMatchObject({ endpoint: 0, pending: 2, pausedUntil: null });
    await waitFor(async () => (await api(t, 'GET', '/v1/webhooks')).body.webhooks[0].pending === 0, 'the backlog to be delivered');
    expect(r.ids().sort()).toEqual(alerts.map((a) => a.id).sort());
    expect(r.received).toHaveLength(4);
    const after = (await api(t, 'GET', '/v1/webhooks')).body.webhooks[0];
    expect(after).toMatchObject({ consecutiveFailures: 0, failingSince: null, pausedUntil: null, lastError: { error: 'HTTP 503' } });
    const line = t.logs.map((l) => JSON.parse(l)).find((l) => /resumed by the operator/.test(l.msg));
    expect(line).toMatchObject({ endpoint: after.label, by: expect.stringMatching(/^127\.0\.0\.1:\d+$/), pending: 2 });
  });

  it('refuses to resume a disabled endpoint, saying how to re-enable it; 404 for an unknown one', async () => {
    const gone = await receiver(() => ({ status: 410 }));
    const t = await daemon([{ url: gone.url(), secret: WEBHOOK_SECRET }], HOUR_DELIVERY);
    raise(t.daemon);
    await waitFor(async () => (await api(t, 'GET', '/v1/webhooks')).body.webhooks[0].disabled, 'the endpoint to be disabled');
    expect((await api(t, 'GET', '/v1/webhooks')).body.webhooks[0]).toMatchObject({ disabled: true, consecutiveFailures: 0, pausedUntil: null, lastError: { error: 'HTTP 410 Gone' } });

    const refused = await api(t, 'POST', '/v1/webhooks/0/resume');
    expect(refused.status).toBe(409);
    expect(refused.body).toEqual({ error: 'VIGIL_ERR_CONFLICT', message: expect.stringMatching(/410 Gone and is disabled: edit its entry in the config .* restart/) });
    for (const name of ['1', 'abc', '0x0', '-1']) {
      const unknown = await api(t, 'POST', `/v1/webhooks/${name}/resume`);
      expect(unknown.status, name).toBe(404);
      expect(unknown.body).toEqual({ error: 'VIGIL_ERR_NOT_FOUND', message: expect.stringContaining(`unknown webhook endpoint ${name}: an endpoint is named by its index`) });
    }
    expect((await api(t, 'POST', '/v1/webhooks/0/resume', 'wrong-token-0123456789abc')).status).toBe(401);
    expect((await api(t, 'GET', '/v1/webhooks', 'wrong-token-0123456789abc')).status).toBe(401);
    expect((await api(t, 'GET', '/v1/webhooks/0/resume')).status).toBe(405);
    expect((await api(t, 'GET', '/v1/webhooks?endpoint=0')).status).toBe(400);
  });

  it('vigil webhook list and resume: print the state, or the reason in one sentence with exit 1', async () => {
    let down = true;
    const r = await receiver(() => (down ? { status: 503, headers: { 'Retry-After': '3600' } } : { status: 204 }));
    const t = await daemon([{ url: r.url(), secret: WEBHOOK_SECRET }], HOUR_DELIVERY);
    const alert = raise(t.daemon);
    await waitFor(() => r.received.length === 1, 'the failed attempt');
    const config = path.join(t.dir, 'cli.yaml');
    fs.writeFileSync(config, `api: { endpoint: "127.0.0.1:${new URL(t.apiUrl).port}" }\nstorage: { path: "${path.join(t.dir, 'cli.db')}" }\n`);

    const list = await runCli(['webhook', 'list', '--config', config]);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).webhooks).toMatchObject([{ endpoint: 0, pending: 1, consecutiveFailures: 1 }]);
    down = false;
    const ok = await runCli(['webhook', 'resume', '--config', config, '0']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).webhook).toMatchObject({ endpoint: 0, pending: 1 });
    await waitFor(() => r.received.length === 2, 'the delivery');
    expect(r.ids()).toEqual([alert.id]);

    const unknown = await runCli(['webhook', 'resume', '--config', config, '3']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('404');
    expect(unknown.stderr).toContain('unknown webhook endpoint 3');
    const usage = await runCli(['webhook', 'resume', '--config', config]);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toContain('usage: vigil webhook list');
  });
});
