/**
 * The ingest worker dying (a bug, out of memory) costs a retry, not the daemon: exports it had not
 * answered are refused as retryable, it is started again, and later exports are acknowledged.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Worker } from 'node:worker_threads';
import { VigilError } from '../../src/errors.js';
import { encodeProtobuf, makeSpans } from '../helpers/otlp-payloads.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';

let t: TestDaemon;
beforeAll(async () => {
  t = await startTestDaemon();
});
afterAll(() => t.close());

const exportOf = (agent: string) =>
  Buffer.from(encodeProtobuf(makeSpans([{ name: 'GET', kind: 'client', attributes: { 'http.request.method': 'GET', 'url.full': 'https://api.example.com/v1/x' } }], { resource: { 'service.name': 'svc', 'nhi.identity': agent } })));

/** The worker thread behind the pipeline (private: reached into on purpose, to kill it); null between a crash and a delayed restart. */
const workerThread = (): Worker | null => (t.daemon.pipeline as unknown as { worker: { worker: Worker | null } }).worker.worker;

it('restarts a dead worker; the export in flight is refused as retryable or was answered, never lost silently', async () => {
  const before = workerThread()!;
  const inFlight = t.daemon.pipeline.ingest(exportOf('spiffe://test/a'), 'protobuf', 'http');
  await before.terminate();
  const settled = await inFlight.then(
    (outcome) => ({ ok: true, outcome }),
    (err: unknown) => ({ ok: false, err }),
  );
  if (settled.ok) {
    // Answered before the worker died: acknowledged means its action was derived and committed.
    expect(t.actions.some((a) => a.identity === 'spiffe://test/a')).toBe(true);
  } else {
    expect(settled.err).toBeInstanceOf(VigilError);
    expect((settled.err as VigilError).retryable).toBe(true);
  }
  expect(workerThread()).not.toBe(before);
  expect(t.logs.join('')).toMatch(/ingest worker failed; restarting it/);

  const after = await t.daemon.pipeline.ingest(exportOf('spiffe://test/b'), 'protobuf', 'http');
  expect(after).toEqual({ rejected: 0, errorMessage: '' });
  await expect.poll(() => t.actions.some((a) => a.identity === 'spiffe://test/b')).toBe(true);
  expect(t.daemon.pipeline.exports.depth).toBe(0);
});

it('keeps restarting a worker that dies again and again, with a delay; work posted meanwhile waits for it', async () => {
  for (let i = 0; i < 3; i++) {
    await expect.poll(() => workerThread()).not.toBeNull();
    await workerThread()!.terminate();
  }
  // Quick successive crashes: the next start is delayed, and an export sent now is answered after it.
  expect(workerThread()).toBeNull();
  const outcome = await t.daemon.pipeline.ingest(exportOf('spiffe://test/c'), 'protobuf', 'http');
  expect(outcome).toEqual({ rejected: 0, errorMessage: '' });
  expect(workerThread()).not.toBeNull();
  expect(t.logs.join('')).toMatch(/"restartInMs":[1-9]/);
});

it('hands a small export to the worker ahead of bulk exports queued before it', async () => {
  const bulk = (agent: string) =>
    Buffer.from(encodeProtobuf(makeSpans(Array.from({ length: 100 }, (_, i) => ({ name: 'GET', kind: 'client' as const, attributes: { 'http.request.method': 'GET', 'url.full': `https://api.example.com/v1/${i}` } })), { resource: { 'service.name': 'svc', 'nhi.identity': agent } })));
  const before = t.actions.length;
  t.daemon.pipeline.exports.pause();
  const queued = [bulk('spiffe://test/bulk-1'), bulk('spiffe://test/bulk-2')].map((b) => t.daemon.pipeline.ingest(b, 'protobuf', 'http'));
  const small = t.daemon.pipeline.ingest(exportOf('spiffe://test/small'), 'protobuf', 'http');
  t.daemon.pipeline.exports.resume();
  await Promise.all([...queued, small]);
  await expect.poll(() => t.actions.length - before).toBe(201);
  // The bulk exports, handed over together, come out in event-time order: only the small one's place counts.
  const order = [...new Set(t.actions.slice(before).map((a) => a.identity))];
  expect(order[0]).toBe('spiffe://test/small');
  expect(order.slice(1).sort()).toEqual(['spiffe://test/bulk-1', 'spiffe://test/bulk-2']);
});

it('works on a small export ahead of bulk messages the worker was already handed', async () => {
  const bulk = (agent: string) =>
    Buffer.from(encodeProtobuf(makeSpans(Array.from({ length: 600 }, (_, i) => ({ name: 'GET', kind: 'client' as const, attributes: { 'http.request.method': 'GET', 'url.full': `https://api.example.com/v1/${i}` } })), { resource: { 'service.name': 'svc', 'nhi.identity': agent } })));
  const bodies = ['spiffe://test/posted-1', 'spiffe://test/posted-2', 'spiffe://test/posted-3'].map(bulk);
  const smallBody = exportOf('spiffe://test/small-2');
  await expect.poll(() => workerThread() !== null).toBe(true); // not mid-restart after the tests above
  const before = t.actions.length;
  // Three messages of 600 spans go to the worker at once; the small export comes while it works on them.
  const posted = bodies.map((b) => t.daemon.pipeline.ingest(b, 'protobuf', 'http'));
  const small = t.daemon.pipeline.ingest(smallBody, 'protobuf', 'http');
  await Promise.all([...posted, small]);
  await expect.poll(() => t.actions.length - before).toBe(1801);
  const order = [...new Set(t.actions.slice(before).map((a) => a.identity))];
  expect(order.indexOf('spiffe://test/small-2')).toBeLessThan(order.indexOf('spiffe://test/posted-3'));
});

it('a worker that dies during shutdown does not hang it: the lost export is refused, the close completes', async () => {
  const own = await startTestDaemon();
  const worker = (own.daemon.pipeline as unknown as { worker: { worker: Worker } }).worker.worker;
  const inFlight = own.daemon.pipeline.ingest(exportOf('spiffe://test/c'), 'protobuf', 'http').then(
    () => 'acknowledged',
    (err: Error) => `refused: ${err.message}`,
  );
  const closed = own.daemon.pipeline.close();
  await worker.terminate();
  await closed; // waited for an answer the restarted worker would never send
  const outcome = await inFlight;
  expect(outcome).toMatch(/^(acknowledged|refused: .*: the ingest worker restarted)$/);
  // Acknowledged only if its action was derived: never an acknowledged export that was lost.
  expect(own.actions.some((a) => a.identity === 'spiffe://test/c')).toBe(outcome === 'acknowledged');
  await own.close();
});
