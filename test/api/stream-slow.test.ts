/**
 * A slow websocket consumer never blocks the pipeline (issue 5): a client that stops reading is closed
 * with 4008 and a resume hint once its bounded buffer is full, while alerts keep being raised and a
 * healthy client keeps receiving them; resuming from the hint loses nothing. And shutdown closes clients
 * with 1001. Limits are small so the test moves megabytes, not gigabytes; the kernel's socket buffers
 * still absorb a few megabytes before the daemon's own buffer starts to fill.
 */
import { afterEach, expect, it } from 'vitest';
import { connect, raise, startApiDaemon, storedSeqs, tick, waitFor, type ApiDaemon } from './helpers.js';

const LIMITS = { highWaterBytes: 64 * 1024, maxQueuedBytes: 1024 * 1024, maxQueuedFrames: 200 };
const PADDING = 16 * 1024;

let d: ApiDaemon | undefined;
afterEach(() => d?.close());

const dropped = async (x: ApiDaemon) => (await x.daemon.metrics.websocketDropped.get()).values[0]?.value ?? 0;
const clients = async (x: ApiDaemon) => (await x.daemon.metrics.websocketClients.get()).values[0]?.value ?? 0;

it('closes a client that stops reading with 4008 and since=<last seq sent>, without slowing anyone else', async () => {
  d = await startApiDaemon(LIMITS);
  const slow = await connect(d.wsUrl, 'since=0');
  const healthy = await connect(d.wsUrl, 'since=0');
  slow.ws.pause(); // stops reading its socket: the daemon's writes back up

  let raised = 0;
  while ((await dropped(d)) === 0) {
    for (let i = 0; i < 10; i++, raised++) raise(d.daemon, { padding: PADDING });
    await tick();
    expect(raised, 'the slow client was never closed').toBeLessThan(5000);
  }
  // The pipeline goes on: more alerts are raised and the healthy client gets every one of them.
  for (let i = 0; i < 100; i++, raised++) {
    raise(d.daemon, { padding: PADDING });
    if (i % 10 === 9) await tick(); // a burst over the buffer limit in one turn would close anyone
  }
  const newest = storedSeqs(d.daemon).at(-1)!;
  await waitFor(() => healthy.seqs().at(-1) === newest, 'the healthy client to get every alert');
  expect(healthy.seqs()).toEqual(storedSeqs(d.daemon));
  expect(healthy.seqs()).toHaveLength(raised);

  // The slow client reads again: what was sent before the close arrives, then the close with the hint.
  slow.ws.resume();
  const { code, reason } = await slow.closed;
  expect(code).toBe(4008);
  const hint = Number(/reconnect with since=(\d+)$/.exec(reason)?.[1]);
  expect(reason).toMatch(/^slow consumer/);
  expect(hint).toBe(slow.seqs().at(-1));
  expect(slow.seqs()).toEqual(storedSeqs(d.daemon).slice(0, slow.seqs().length)); // a prefix: no gap
  expect(slow.seqs().length).toBeLessThan(raised);
  expect(await dropped(d)).toBe(1);
  await waitFor(async () => (await clients(d!)) === 1, 'the gauge to count only the healthy client');

  // Resuming from the hint gives exactly the rest.
  const resumed = await connect(d.wsUrl, `since=${hint}`);
  await waitFor(() => resumed.seqs().at(-1) === newest, 'the resumed client to catch up');
  expect([...slow.seqs(), ...resumed.seqs()]).toEqual(storedSeqs(d.daemon));
  await resumed.close();
  await healthy.close();
});

it('closes every client with 1001 and a resume hint at shutdown, after what was already queued', async () => {
  const x = await startApiDaemon();
  d = x;
  const a = await connect(x.wsUrl);
  const b = await connect(x.wsUrl, 'since=0', { token: null, protocols: ['vigil.v1', `bearer.${Buffer.from('test-token-0123456789abcdef').toString('base64url')}`] });
  for (let i = 0; i < 5; i++) raise(x.daemon);
  await x.close(); // before any of the five were necessarily written
  for (const c of [a, b]) {
    const { code, reason } = await c.closed;
    expect(code).toBe(1001);
    expect(c.seqs()).toHaveLength(5);
    expect(reason).toBe(`vigil is shutting down: reconnect with since=${c.seqs().at(-1)}`);
  }
  expect(await clients(x)).toBe(0);
});
