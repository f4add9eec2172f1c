/**
 * Webhook endpoints changed in the config between restarts, while deliveries were pending: the outbox
 * keys a delivery by its endpoint's url, so a corrected url, a removed endpoint or a changed filter must
 * not strand alerts nor send them twice to a receiver that already has them. Real daemons over one
 * SQLite folder, real receivers on port 0.
 */
import { describe, expect, it } from 'vitest';
import { waitFor, type TestDaemon } from '../helpers/daemon.js';
import { raise, WEBHOOK_SECRET } from './fixtures.js';
import { openedPerTest } from './opened.js';

const { receiver, daemon } = openedPerTest();

const outbox = (t: TestDaemon) => t.daemon.db.prepare('SELECT endpoint, msg_id FROM webhook_outbox ORDER BY id').all() as Array<{ endpoint: string; msg_id: string }>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('webhook endpoints changed between restarts', () => {
  // Regression: rows kept for the misspelt url belonged to "an endpoint no longer in the config" after
  // the fix, and were never sent — the very alerts that failed because of the mistake.
  it('delivers alerts pending for a misspelt url once the url is corrected', async () => {
    const rx = await receiver((r) => (r.path === '/hook' ? { status: 200 } : { status: 404 }));
    const first = await daemon([{ url: rx.url('/hokk'), secret: WEBHOOK_SECRET }]);
    const alert = raise(first.daemon);
    await waitFor(() => rx.received.length > 0, 'a refused attempt');
    await first.close();

    const fixed = await daemon([{ url: rx.url('/hook'), secret: WEBHOOK_SECRET }], {}, first.dir);
    await waitFor(() => rx.received.some((r) => r.path === '/hook' && r.headers['webhook-id'] === alert.id), 'delivery to the corrected url', 5000);
    await waitFor(() => outbox(fixed).length === 0 && fixed.daemon.webhooks.pendingCount === 0, 'the outbox to empty');
    expect(fixed.logs.join('')).toMatch(/1 sent to configured endpoints/);
  });

  it('does not send a removed endpoint\'s backlog again to an endpoint that already has it', async () => {
    const down = await receiver(() => ({ status: 503 }));
    const kept = await receiver();
    const endpoints = [
      { url: down.url(), secret: WEBHOOK_SECRET },
      { url: kept.url(), secret: WEBHOOK_SECRET },
    ];
    const first = await daemon(endpoints);
    const alerts = [raise(first.daemon), raise(first.daemon)];
    await waitFor(() => kept.ids().length === 2 && down.ids().length === 2, 'both alerts delivered to one endpoint, tried on the other');
    await waitFor(() => first.daemon.webhooks.pendingCount === 2, 'the delivered ones settled');
    await first.close();

    const again = await daemon([endpoints[1]], {}, first.dir);
    await sleep(500); // several backoff periods: a duplicate would have been sent by now
    expect(kept.received.map((r) => r.headers['webhook-id']).sort()).toEqual(alerts.map((a) => a.id).sort());
    expect(outbox(again)).toEqual([]);
    expect(again.logs.join('')).toMatch(/2 dropped/);
  });

  it('sends a removed endpoint\'s backlog to an endpoint whose filters now want it and that never had it', async () => {
    const down = await receiver(() => ({ status: 503 }));
    const high = await receiver();
    const first = await daemon([
      { url: down.url(), secret: WEBHOOK_SECRET },
      { url: high.url(), secret: WEBHOOK_SECRET, minSeverity: 'high' },
    ]);
    const medium = raise(first.daemon, { severity: 'medium' });
    const critical = raise(first.daemon, { severity: 'critical' });
    await waitFor(() => high.ids().length === 1 && down.ids().length === 2, 'the critical one delivered, both tried');
    await waitFor(() => first.daemon.webhooks.pendingCount === 2, 'the delivered one settled');
    await first.close();

    // The remaining endpoint now takes every severity: it gets the medium alert it never had, once.
    const again = await daemon([{ url: high.url(), secret: WEBHOOK_SECRET }], {}, first.dir);
    await waitFor(() => high.ids().length === 2, 'the medium alert');
    await sleep(300);
    expect(high.received.map((r) => r.headers['webhook-id'])).toEqual([critical.id, medium.id]);
    await waitFor(() => outbox(again).length === 0, 'the outbox to empty');
  });

  it('keeps a backlog no configured endpoint wants, and sends it when its endpoint is configured again', async () => {
    const rx = await receiver(() => ({ status: 503 }));
    const endpoint = { url: rx.url(), secret: WEBHOOK_SECRET };
    const first = await daemon([endpoint]);
    const alert = raise(first.daemon);
    await waitFor(() => rx.received.length > 0, 'an attempt');
    await first.close();

    const without = await daemon([], {}, first.dir);
    expect(outbox(without)).toEqual([{ endpoint: endpoint.url, msg_id: alert.id }]);
    expect(without.logs.join('')).toMatch(/1 kept/);
    await without.close();

    rx.respond = () => ({ status: 200 });
    const back = await daemon([endpoint], {}, first.dir);
    await waitFor(() => rx.received.some((r) => r.headers['webhook-id'] === alert.id) && outbox(back).length === 0, 'the kept delivery');
  });
});
