/**
 * Alert webhooks end to end inside one process: a real daemon, real HTTP receivers on port 0, signatures
 * verified with the independent `standardwebhooks` package, the payload checked against the normative
 * alert schema. Timing is kept short with `delivery.retryInitial/retryMax`.
 */
import { describe, expect, it } from 'vitest';
import { metricValue, startTestDaemon, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { raise, WEBHOOK_SECRET } from './fixtures.js';
import { FAST_DELIVERY, openedPerTest } from './opened.js';
import { Receiver, verifyStandardWebhook } from './receivers.js';
import { validateAlert } from '../helpers/alert-schema.js';


const { receiver, daemon, closeAfter } = openedPerTest();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('alert webhooks', () => {
  it('delivers signed alert.created events, filtered by minSeverity (inclusive) and detectors', async () => {
    const all = await receiver();
    const storms = await receiver();
    const t = await daemon([
      { url: all.url(), secret: WEBHOOK_SECRET },
      { url: storms.url(), secret: WEBHOOK_SECRET, minSeverity: 'high', detectors: ['retry_storm'] },
    ]);
    const write = raise(t.daemon, { detector: 'unexpected_write', severity: 'high' });
    const mediumStorm = raise(t.daemon, { detector: 'retry_storm', severity: 'medium' });
    const highStorm = raise(t.daemon, { detector: 'retry_storm', severity: 'high' });
    await waitFor(() => all.received.length === 3 && storms.received.length === 1, 'three and one deliveries');

    for (const r of all.received) {
      const payload = verifyStandardWebhook(WEBHOOK_SECRET, r);
      expect(payload.type).toBe('alert.created');
      expect(payload.timestamp).toBe(payload.data.detectedAt);
      expect(validateAlert(payload.data), JSON.stringify(validateAlert.errors)).toBe(true);
      expect(r.headers['webhook-id']).toBe(payload.data.id);
      expect(r.headers['content-type']).toBe('application/json');
    }
    expect(all.ids().sort()).toEqual([write.id, mediumStorm.id, highStorm.id].sort());
    expect(storms.ids()).toEqual([highStorm.id]);
    expect(JSON.parse(storms.received[0].body).data).toEqual(highStorm);
    // The receivers have the requests before the daemon has their answers: wait for the outbox to settle.
    await waitFor(async () => (await metricValue(t, 'vigil_webhook_outbox_pending')) === 0, 'the outbox to empty');
    expect(await metricValue(t, 'vigil_webhook_deliveries_total{endpoint="0",outcome="delivered"}')).toBe(3);
    expect(await metricValue(t, 'vigil_webhook_deliveries_total{endpoint="1",outcome="delivered"}')).toBe(1);
    // A delivery is remembered only while another endpoint has its alert pending: nothing is left.
    expect(t.daemon.db.prepare('SELECT count(*) FROM webhook_outbox').pluck().get()).toBe(0);
  });

  it('retries a receiver that is down (503 + Retry-After) with the same webhook-id, signing each attempt afresh', async () => {
    const r = await receiver((_req, i) => (i < 2 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 204 }));
    const t = await daemon([{ url: r.url(), secret: WEBHOOK_SECRET }]);
    const alert = raise(t.daemon);
    await waitFor(() => r.received.length === 3, 'three attempts', 10_000);
    await waitFor(async () => (await metricValue(t, 'vigil_webhook_outbox_pending')) === 0, 'the outbox to empty');

    expect(r.ids()).toEqual([alert.id]);
    for (const req of r.received) expect(verifyStandardWebhook(WEBHOOK_SECRET, req).data.id).toBe(alert.id);
    expect(new Set(r.received.map((q) => q.body)).size).toBe(1);
    // Retry-After: 1 was honoured between attempts (not the 50-200ms backoff).
    expect(r.received[1].at - r.received[0].at).toBeGreaterThanOrEqual(950);
    expect(r.received[2].at - r.received[1].at).toBeGreaterThanOrEqual(950);
    const stamps = r.received.map((q) => Number(q.headers['webhook-timestamp']));
    expect(stamps[2]).toBeGreaterThan(stamps[0]);
    expect(await metricValue(t, 'vigil_webhook_deliveries_total{endpoint="0",outcome="retry"}')).toBe(2);
    expect(await metricValue(t, 'vigil_webhook_deliveries_total{endpoint="0",outcome="delivered"}')).toBe(1);
  });

  it('honours Retry-After as an HTTP date on 429', async () => {
    const r = await receiver((_req, i) =>
      i === 0 ? { status: 429, headers: { 'retry-after': new Date(Math.floor(Date.now() / 1000) * 1000 + 2000).toUTCString() } } : { status: 200 },
    );
    const t = await daemon([{ url: r.url(), secret: WEBHOOK_SECRET }]);
    raise(t.daemon);
    await waitFor(() => r.received.length === 2, 'the retry', 10_000);
    expect(r.received[1].at - r.received[0].at).toBeGreaterThanOrEqual(900);
  });

  // Regression: `Retry-After: 0` (or a date already past, common from proxies with a skewed clock) made
  // the delivery due again at once, so a receiver that was down got hundreds of requests a second.
  it.each([
    ['0', () => '0'],
    ['a date already past', () => new Date(Date.now() - 3_600_000).toUTCString()],
  ])('does not hammer a 503 receiver whose Retry-After is %s: the backoff still applies', async (_what, retryAfter) => {
    const r = await receiver(() => ({ status: 503, headers: { 'retry-after': retryAfter() } }));
    const t = await daemon([{ url: r.url(), secret: WEBHOOK_SECRET }], { delivery: { retryInitial: '500ms', retryMax: '2s', timeout: '2s' } });
    raise(t.daemon);
    await sleep(1500);
    // A backoff of 500ms..2s allows a handful of attempts in 1.5 s (the fault made hundreds): 20 is generous.
    expect(r.received.length).toBeGreaterThanOrEqual(1);
    expect(r.received.length).toBeLessThanOrEqual(20);
  });

  // Regression: fetch refuses a url with user-info and quotes it whole, password included; that message was
  // stored in webhook_outbox.last_error and logged. Set after validation: the loader may refuse such urls.
  it('never writes the password of a webhook url into the outbox or the logs, nor its query into an error', async () => {
    const r = await receiver();
    const url = r.url('/hook?token=tok-in-query-42').replace('http://', 'http://siem:s3cret-pw@');
    const t = await startTestDaemon({ delivery: { retryInitial: '20ms', retryMax: '50ms', timeout: '2s' }, log: { level: 'debug' } }, undefined, (c) => ({
      ...c,
      webhooks: [{ url, secret: WEBHOOK_SECRET, minSeverity: 'low', detectors: ['*'] }],
    }));
    closeAfter(t);
    raise(t.daemon);
    // Past 5 attempts, so the "still failing" warning is logged too.
    await waitFor(() => (t.daemon.db.prepare('SELECT attempts FROM webhook_outbox').pluck().get() as number) >= 6, 'six failed attempts');
    const row = t.daemon.db.prepare('SELECT endpoint, last_error FROM webhook_outbox').get() as { endpoint: string; last_error: string };
    expect(row.endpoint).not.toContain('s3cret-pw');
    for (const secret of ['s3cret-pw', 'tok-in-query-42']) expect([row.last_error, ...t.logs].join('\n')).not.toContain(secret);
    expect(row.last_error).toMatch(/credentials/);
    expect(t.logs.join('')).toMatch(/still failing after 5 attempts/);
  });

  it('disables an endpoint that answers 410: no further attempts, logged, counted, kept across restarts', async () => {
    const gone = await receiver(() => ({ status: 410 }));
    const endpoint = { url: gone.url(), secret: WEBHOOK_SECRET };
    const t = await daemon([endpoint]);
    const first = raise(t.daemon);
    await waitFor(() => gone.received.length === 1, 'the first attempt');
    await waitFor(async () => (await metricValue(t, 'vigil_webhook_deliveries_total{endpoint="0",outcome="disabled"}')) === 1, 'the disabled metric');
    raise(t.daemon);
    await sleep(400); // several backoff periods: nothing may be sent
    expect(gone.received).toHaveLength(1);
    expect(t.logs.join('')).toMatch(/answered 410 Gone and is DISABLED/);
    await t.close();

    // Restarted with the same entry: still disabled, said at start, nothing sent.
    const again = await daemon([endpoint], {}, t.dir);
    await sleep(300);
    expect(gone.received).toHaveLength(1);
    expect(again.logs.join('')).toMatch(/stays disabled/);
    await again.close();

    // The operator edits the entry (the receiver is back): re-enabled, and the kept delivery arrives.
    gone.respond = () => ({ status: 200 });
    const edited = await daemon([{ ...endpoint, minSeverity: 'medium' }], {}, t.dir);
    await waitFor(() => gone.received.length === 2, 'the kept delivery');
    expect(gone.ids()).toEqual([first.id]);
    expect(edited.logs.join('')).toMatch(/re-enabled/);
  });

  it('keeps and retries a delivery a receiver refuses with another 4xx (a wrong secret must not lose alerts)', async () => {
    const r = await receiver((_req, i) => ({ status: i < 3 ? 401 : 200 }));
    const t = await daemon([{ url: r.url(), secret: WEBHOOK_SECRET }]);
    const alert = raise(t.daemon);
    await waitFor(() => r.received.length === 4, 'delivery after three refusals');
    expect(r.ids()).toEqual([alert.id]);
    expect(t.logs.join('')).toMatch(/refused a delivery \(HTTP 401\); it is kept and retried/);
  });

  it('keeps at most 4 requests in flight per endpoint, and one while it is failing', async () => {
    let failing = false;
    const r = await receiver(() => (failing ? { status: 503, delayMs: 20 } : { status: 200, delayMs: 150 }));
    const t = await daemon([{ url: r.url(), secret: WEBHOOK_SECRET }]);
    for (let i = 0; i < 12; i++) raise(t.daemon);
    await waitFor(() => r.ids().length === 12, 'twelve deliveries');
    // Bounded at 4; more than one shows they do run concurrently (each is held 150ms).
    expect(r.maxInFlight).toBeLessThanOrEqual(4);
    expect(r.maxInFlight).toBeGreaterThan(1);

    failing = true;
    r.maxInFlight = 0;
    for (let i = 0; i < 6; i++) raise(t.daemon);
    await waitFor(() => r.received.length >= 12 + 8, 'several failed attempts');
    // The first burst may overlap before the first failure is seen; after that, one probe at a time.
    const sinceFailing = r.received.length;
    r.maxInFlight = 0;
    await waitFor(() => r.received.length >= sinceFailing + 5, 'more probes');
    expect(r.maxInFlight).toBe(1);
    failing = false;
    await waitFor(() => r.ids().length === 18, 'all eighteen delivered');
  });

  // Regression: one alert the receiver kept refusing paused the whole endpoint (here for its Retry-After,
  // by default up to retryMax, 10 minutes), so every new alert waited behind it.
  it('a delivery the receiver keeps refusing waits alone: the endpoint\'s other alerts go out at once', async () => {
    let poison = '';
    const r = await receiver((req) => (poison !== '' && req.body.includes(poison) ? { status: 503, headers: { 'Retry-After': '60' } } : { status: 200 }));
    const t = await daemon([{ url: r.url(), secret: WEBHOOK_SECRET }]);
    poison = raise(t.daemon).id;
    await waitFor(() => r.received.length === 1, 'the refused delivery');
    const later = [raise(t.daemon), raise(t.daemon)];
    await waitFor(() => r.received.length === 3, 'the later alerts, with the refused one waiting its minute');
    expect(r.ids()).toEqual([poison, ...later.map((a) => a.id)]);
    // Two different deliveries failing is the receiver's trouble: then the endpoint is paused as a whole.
    poison = 'spiffe://acme.example'; // every alert body names the identity
    raise(t.daemon);
    raise(t.daemon);
    await waitFor(() => r.received.length === 5, 'both new alerts refused');
    raise(t.daemon);
    await sleep(500);
    expect(r.received).toHaveLength(5);
  });

  it('times out a receiver that does not answer, and retries', async () => {
    const r = await receiver((_req, i) => (i === 0 ? { status: 200, delayMs: 5_000 } : { status: 200 }));
    const t = await daemon([{ url: r.url(), secret: WEBHOOK_SECRET }], { delivery: { ...FAST_DELIVERY, timeout: '200ms' } });
    const alert = raise(t.daemon);
    await waitFor(() => r.received.length === 2, 'the retry after the timeout');
    expect(r.ids()).toEqual([alert.id]);
    await waitFor(async () => (await metricValue(t, 'vigil_webhook_outbox_pending')) === 0, 'the outbox to empty');
  });

  it('resumes pending deliveries after a restart, also when the receiver was not even listening', async () => {
    const r = await receiver(() => ({ status: 503 }));
    const closedPort = await receiver();
    const unreachable = closedPort.url();
    await closedPort.close();
    const endpoints = [
      { url: r.url(), secret: WEBHOOK_SECRET },
      { url: unreachable, secret: WEBHOOK_SECRET },
    ];
    const t = await daemon(endpoints);
    const alerts = [raise(t.daemon), raise(t.daemon)];
    await waitFor(() => r.received.length >= 2, 'failed attempts');
    await t.close();
    expect(t.daemon.db.open).toBe(false);

    r.respond = () => ({ status: 200 });
    const again = await daemon(endpoints, {}, t.dir);
    await waitFor(() => r.ids().length === 2, 'both delivered after the restart');
    expect(r.ids().sort()).toEqual(alerts.map((a) => a.id).sort());
    // The receiver has the requests before the daemon has their answers: wait for the outbox to catch up.
    await waitFor(async () => (await metricValue(again, 'vigil_webhook_outbox_pending')) === 2, "only the unreachable endpoint's two left");
    expect(await metricValue(again, 'vigil_webhook_deliveries_total{endpoint="1",outcome="retry"}')).toBeGreaterThan(0);
    // The delivered endpoint's rows stay as marks while the other has the alerts pending: without their
    // body, and out of the due index its polls read (review24 H1, M1).
    const rows = again.daemon.db.prepare('SELECT delivered_at IS NOT NULL AS mark, length(body) > 0 AS body FROM webhook_outbox ORDER BY mark').all();
    expect(rows).toEqual([{ mark: 0, body: 1 }, { mark: 0, body: 1 }, { mark: 1, body: 0 }, { mark: 1, body: 0 }]);
    const plan = again.daemon.db.prepare("EXPLAIN QUERY PLAN SELECT id FROM webhook_outbox WHERE endpoint = 'x' AND next_at <= 0 AND delivered_at IS NULL ORDER BY next_at, id LIMIT 10").all() as Array<{ detail: string }>;
    expect(plan.map((p) => p.detail).join()).toContain('USING INDEX webhook_outbox_due');
    const index = again.daemon.db.prepare("SELECT sql FROM sqlite_master WHERE name = 'webhook_outbox_due'").pluck().get();
    expect(index).toContain('WHERE delivered_at IS NULL');
  });
});
