/**
 * An endpoint that keeps failing is said (review24 L3): a warning once it has failed for an hour, at most
 * one an hour after that, an info line when it recovers, and `vigil_webhook_failing_seconds` meanwhile.
 * The outbox runs on its own with a clock the test moves forward by hours (its only fake part), against a
 * real SQLite file and a real receiver on port 0.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { createMetrics } from '../../src/metrics.js';
import { WebhookOutbox } from '../../src/sinks/webhooks.js';
import { openDatabase } from '../../src/store/database.js';
import { testConfig, waitFor } from '../helpers/daemon.js';
import { WEBHOOK_SECRET } from './fixtures.js';
import { FAST_DELIVERY, openedPerTest } from './opened.js';

const { receiver, closeAfter } = openedPerTest();
const HOUR = 3_600_000;

let n = 0;
function alert(): Alert {
  n++;
  const at = new Date().toISOString();
  return {
    seq: n, id: `al_health_${n}`, detectedAt: at, eventTime: at, lastEventTime: at, detector: 'unexpected_write', severity: 'high', score: 0.9,
    identity: 'spiffe://acme.example/agent/health', peerGroup: 'health', title: 'a test alert', explanation: 'a test alert',
    evidence: { traceIds: [], spanIds: [] }, tags: [], count: 1,
  };
}

/** An outbox for `url` whose clock is `skew.ms` ahead of the wall clock, and what it logs; `dir`: a store to start again on. */
function startOutbox(url: string, dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-health-')), skew = { ms: 0 }) {
  const db = openDatabase(path.join(dir, 'vigil.db'));
  const lines: Array<{ level: number; msg: string; [k: string]: unknown }> = [];
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, cb) => cb(void lines.push(JSON.parse(String(chunk)))) }));
  const metrics = createMetrics();
  const outbox = new WebhookOutbox({ db, config: testConfig(dir, { webhooks: [{ url, secret: WEBHOOK_SECRET }], delivery: FAST_DELIVERY }), metrics, logger, now: () => Date.now() + skew.ms });
  closeAfter({ close: async () => (await outbox.close(), db.open && db.close()) });
  const send = () => {
    outbox.begin();
    outbox.enqueue(alert());
    outbox.kick();
  };
  const failingSeconds = async () => Number(/^vigil_webhook_failing_seconds\{endpoint="0"\} (\S+)$/m.exec(await metrics.registry.metrics())?.[1]);
  const said = (re: RegExp) => lines.filter((l) => re.test(l.msg));
  const stop = async () => (await outbox.close(), db.close());
  return { outbox, send, skew, failingSeconds, said, dir, stop };
}

it('warns once an endpoint has failed for an hour, then at most hourly, and says when it recovers', async () => {
  let status = 404;
  const r = await receiver(() => ({ status }));
  const o = startOutbox(r.url());
  o.send();
  o.send();
  await waitFor(() => r.received.length >= 4, 'a few failed attempts');
  expect(await o.failingSeconds()).toBeGreaterThan(0);
  expect(await o.failingSeconds()).toBeLessThan(HOUR / 1000);
  expect(o.said(/has been failing/)).toHaveLength(0);

  o.skew.ms += HOUR + 60_000; // an hour and a minute later, still answering 404
  await waitFor(() => o.said(/has been failing/).length === 1, 'the warning');
  const [warning] = o.said(/has been failing/);
  expect(warning).toMatchObject({ level: 40, endpoint: expect.stringMatching(/^webhooks\[0\] \(http:\/\/127\.0\.0\.1:\d+\)$/), lastError: 'HTTP 404', pending: 2 });
  expect(warning.msg).toMatch(/has been failing for 1\.0 h .*2 deliveries wait for it.*`vigil webhook resume 0`/);
  expect(await o.failingSeconds()).toBeGreaterThanOrEqual(HOUR / 1000);

  const attempts = r.received.length;
  await waitFor(() => r.received.length >= attempts + 3, 'more failed attempts');
  expect(o.said(/has been failing/)).toHaveLength(1); // not again within the hour
  o.skew.ms += HOUR;
  await waitFor(() => o.said(/has been failing/).length === 2, 'the hourly warning');
  expect(o.said(/has been failing/)[1].msg).toMatch(/failing for 2\.0 h/);

  status = 204;
  await waitFor(() => o.said(/recovered/).length === 1, 'the recovery');
  expect(o.said(/recovered/)[0]).toMatchObject({ level: 30, failingSince: warning.failingSince, msg: expect.stringMatching(/got through after 2\.0 h of failures$/) });
  expect(await o.failingSeconds()).toBe(0);
  await waitFor(() => o.outbox.status()[0].pending === 0, 'both deliveries');
  expect(o.outbox.status()[0]).toMatchObject({ consecutiveFailures: 0, failingSince: null, lastError: { error: 'HTTP 404' } });
  expect(o.said(/recovered/)).toHaveLength(1);
});

it('says nothing of a failure that ends within the hour', async () => {
  const r = await receiver((_req, i) => ({ status: i < 3 ? 503 : 204 }));
  const o = startOutbox(r.url());
  o.send();
  await waitFor(() => o.outbox.status()[0].pending === 0, 'the delivery');
  expect(o.said(/has been failing|recovered/)).toHaveLength(0);
  expect(await o.failingSeconds()).toBe(0);
});

// A restart does not begin the streak again: a daemon restarted more often than hourly never warned.
it('keeps an endpoint\'s failure streak across a restart, and warns of it at the start when it is over an hour', async () => {
  const r = await receiver(() => ({ status: 404 }));
  const first = startOutbox(r.url());
  first.send();
  await waitFor(() => first.outbox.status()[0].consecutiveFailures >= 2, 'failed attempts');
  await first.outbox.close(); // no attempt after this: read before it, a third one could land in between
  const before = first.outbox.status()[0];
  await first.stop();
  expect(before.failingSince).not.toBeNull();

  const skew = { ms: 50 * 60_000 }; // restarted 50 minutes later: the streak is 50 minutes old
  const second = startOutbox(r.url(), first.dir, skew);
  expect(second.outbox.status()[0]).toMatchObject({ failingSince: before.failingSince, consecutiveFailures: before.consecutiveFailures, lastError: before.lastError });
  expect(await second.failingSeconds()).toBeGreaterThanOrEqual(50 * 60);
  await second.stop();

  const third = startOutbox(r.url(), first.dir, { ms: HOUR + 60_000 }); // and again, past the hour
  await waitFor(() => third.said(/has been failing/).length === 1, 'the warning after the restart');
  expect(third.said(/has been failing/)[0]).toMatchObject({ failingSince: before.failingSince, lastError: 'HTTP 404' });
});
