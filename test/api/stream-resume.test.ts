/**
 * The alert websocket's delivery guarantees (CONTRACT §2): a client resuming with `since` while alerts
 * keep being raised sees every stored alert once, in order, with no gap; without `since` it sees live
 * alerts only; a cursor this store never issued is refused, not taken as "skip until then". The
 * catch-up page is tiny so the backlog and the live feed interleave many times.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestDaemon } from '../helpers/daemon.js';
import { connect, raise, refusal, startApiDaemon, storedSeqs, tick, waitFor, type ApiDaemon } from './helpers.js';

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

it('refuses a since beyond the newest seq with 400 naming it, instead of silently skipping the alerts up to it', async () => {
  // Such a cursor comes from another or a restored database (or a typo). Accepted, it once made the
  // client drop every live alert up to it: heartbeats, no alerts, no error.
  const newest = storedSeqs(d.daemon).at(-1)!;
  const r = await refusal(d.wsUrl, `since=${newest + 1000}`);
  expect(r.status).toBe(400);
  expect(JSON.parse(r.body)).toMatchObject({ error: 'VIGIL_ERR_BAD_REQUEST', message: expect.stringContaining(`newest alert is seq ${newest}`) });
  // The newest itself is a valid cursor: the next alert arrives.
  const c = await connect(d.wsUrl, `since=${newest}`);
  raise(d.daemon);
  await waitFor(() => c.seqs().length > 0, 'the next alert');
  expect(c.seqs()).toEqual([newest + 1]);
  await c.close();
});

it('after a restart, a cursor at an alert that retention deleted is still accepted (seq is never reused)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-resume-'));
  const first = await startTestDaemon({}, dir);
  for (let i = 0; i < 3; i++) raise(first.daemon);
  const last = storedSeqs(first.daemon).at(-1)!;
  first.daemon.db.prepare('DELETE FROM alerts').run(); // what alerts.retention does to old alerts
  await first.close();
  const second = await startTestDaemon({}, dir);
  try {
    const wsUrl = second.apiUrl.replace('http', 'ws');
    expect((await refusal(wsUrl, `since=${last + 1}`)).status).toBe(400);
    const c = await connect(wsUrl, `since=${last}`);
    raise(second.daemon);
    await waitFor(() => c.seqs().length > 0, 'the next alert');
    expect(c.seqs()).toEqual([last + 1]);
    await c.close();
  } finally {
    await second.close();
  }
});
