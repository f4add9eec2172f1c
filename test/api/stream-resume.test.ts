/**
 * The alert websocket's delivery guarantees (CONTRACT §2): a client resuming with `since` while alerts
 * keep being raised sees every stored alert once, in order, with no gap; without `since` it sees live
 * alerts only. The catch-up page is tiny so the backlog and the live feed interleave many times.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect, raise, startApiDaemon, storedSeqs, tick, waitFor, type ApiDaemon } from './helpers.js';

let d: ApiDaemon;
beforeAll(async () => {
  d = await startApiDaemon({ pageSize: 7 });
});
afterAll(() => d?.close());

it('resumes with since: every alert once, in seq order, while 500 alerts are raised concurrently', async () => {
  const start = storedSeqs(d.daemon).at(-1) ?? 0;
  const clients: Array<Promise<Awaited<ReturnType<typeof connect>>>> = [];
  let since = 0;
  for (let i = 0; i < 500; i++) {
    raise(d.daemon, { identity: `spiffe://acme.example/agent/r${i % 7}` });
    if (i === 150) {
      since = storedSeqs(d.daemon).at(-1)! - 100; // 100 stored alerts to catch up on
      clients.push(connect(d.wsUrl, `since=${since}`));
    }
    if (i === 300) clients.push(connect(d.wsUrl, `since=${start}`)); // the whole run
    // Interleave with the event loop so handshakes, catch-up pages and writes happen mid-run.
    if (i % 3 === 0) await tick();
  }
  const [mid, whole] = await Promise.all(clients);
  const newest = storedSeqs(d.daemon).at(-1)!;
  await waitFor(() => mid.seqs().at(-1) === newest && whole.seqs().at(-1) === newest, 'both clients to reach the newest alert');
  expect(mid.seqs()).toEqual(storedSeqs(d.daemon, since));
  expect(whole.seqs()).toEqual(storedSeqs(d.daemon, start));
  expect(whole.seqs()).toHaveLength(500);
  await mid.close();
  await whole.close();
});

it('without since sends only alerts raised after the connection, with no gap from then on', async () => {
  for (let i = 0; i < 20; i++) raise(d.daemon);
  const before = storedSeqs(d.daemon).at(-1)!;
  const c = await connect(d.wsUrl);
  for (let i = 0; i < 200; i++) {
    raise(d.daemon);
    if (i % 5 === 0) await tick();
  }
  const newest = storedSeqs(d.daemon).at(-1)!;
  await waitFor(() => c.seqs().at(-1) === newest, 'the newest alert');
  expect(c.seqs()).toEqual(storedSeqs(d.daemon, before));
  await c.close();
});

it('resuming from the last seq received continues exactly where the first connection stopped', async () => {
  const first = await connect(d.wsUrl);
  for (let i = 0; i < 30; i++) raise(d.daemon);
  await waitFor(() => first.seqs().length === 30, '30 alerts');
  await first.close();
  for (let i = 0; i < 30; i++) raise(d.daemon); // raised while disconnected
  const last = first.seqs().at(-1)!;
  const second = await connect(d.wsUrl, `since=${last}`);
  for (let i = 0; i < 30; i++) raise(d.daemon);
  const newest = storedSeqs(d.daemon).at(-1)!;
  await waitFor(() => second.seqs().at(-1) === newest, 'the newest alert');
  expect([...first.seqs(), ...second.seqs()]).toEqual(storedSeqs(d.daemon, first.seqs()[0] - 1));
  expect(second.seqs()).toHaveLength(60);
  await second.close();
});

it('a since beyond the newest seq waits for new alerts', async () => {
  const newest = storedSeqs(d.daemon).at(-1)!;
  const c = await connect(d.wsUrl, `since=${newest + 1000}`);
  raise(d.daemon);
  await new Promise((r) => setTimeout(r, 100));
  // seq is the store's: the next alert is newest + 1, which the client asked to skip.
  expect(c.seqs()).toEqual([]);
  await c.close();
});
