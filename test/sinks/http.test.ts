/**
 * One outbound POST (src/sinks/http.ts) against a real receiver on port 0: what reaches the error string
 * that is stored (webhook_outbox.last_error, revocation_attempts.error, a revocation's reason) and logged,
 * and deadlines a Node timer cannot hold. Called directly, not through the config, so these defences are
 * tested even once the loader refuses such settings.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { postOnce } from '../../src/sinks/http.js';
import { waitFor } from '../helpers/daemon.js';
import { Receiver } from './receivers.js';

const open: Receiver[] = [];
afterEach(async () => {
  for (const r of open.splice(0)) await r.close();
});

async function receiver(...args: Parameters<typeof Receiver.start>): Promise<Receiver> {
  const r = await Receiver.start(...args);
  open.push(r);
  return r;
}

const post = (url: string, timeoutMs = 2000) => postOnce({ url, headers: { 'content-type': 'application/json' }, body: '{}' }, timeoutMs, new AbortController().signal);

describe('postOnce failure descriptions', () => {
  // Regression: fetch refuses a URL with user-info and says so with the whole URL, password included,
  // which went into webhook_outbox.last_error and the "still failing" warning.
  it('never repeats the user-info or the query of a URL with credentials', async () => {
    const r = await receiver();
    const url = r.url('/hook?token=tok-in-query-42').replace('http://', 'http://siem:s3cret-pw@');
    const result = await post(url);
    for (const secret of ['s3cret-pw', 'siem:', 'tok-in-query-42', '/hook']) expect(result.error).not.toContain(secret);
    expect(result.status).toBeNull();
    // Still says what is wrong, and with which receiver.
    expect(result.error).toMatch(/credentials/);
    expect(result.error).toContain(new URL(r.url()).host);
  });

  it('keeps the code of a network error, which is what an operator greps for', async () => {
    const closed = await receiver();
    const url = closed.url('/hook?token=tok-in-query-42');
    await closed.close();
    const result = await post(url);
    expect(result).toEqual({ status: null, retryAfterMs: null, error: 'ECONNREFUSED' });
  });
});

describe('postOnce deadlines', () => {
  // Regression: AbortSignal.timeout() past 2^31-1 ms fires after 1 ms (every attempt "timed out") and past
  // 2^32-1 ms throws, so `delivery.timeout: 30d` delivered nothing.
  it.each([
    ['30 days', 30 * 86_400_000],
    ['past 2^32 ms', 2 ** 33],
    ['infinite', Number.POSITIVE_INFINITY],
    ['zero', 0],
  ])('delivers with a timeout of %s', async (_what, timeoutMs) => {
    const r = await receiver(() => ({ status: 204, delayMs: 50 }));
    expect(await post(r.url(), timeoutMs)).toEqual({ status: 204, retryAfterMs: null, error: null });
    expect(r.received).toHaveLength(1);
  });

  it('still times out a receiver that does not answer', async () => {
    const r = await receiver(() => ({ status: 200, delayMs: 5000 }));
    expect(await post(r.url(), 100)).toEqual({ status: null, retryAfterMs: null, error: 'timed out' });
  });

  // Regression: on Node 20 an AbortSignal.timeout() inside AbortSignal.any() is held weakly; once a garbage
  // collection ran, it never fired, and a receiver that never answered held its lane for undici's 300 s.
  it('times out a receiver that does not answer even when a garbage collection runs meanwhile', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const r = await receiver(() => ({ status: 200, delayMs: 20_000 }));
    const attempt = post(r.url(), 500);
    await waitFor(() => r.received.length === 1, 'the request to arrive');
    gc();
    gc();
    const outcome = await Promise.race([attempt, new Promise((resolve) => setTimeout(() => resolve('still waiting after 5 s'), 5000))]);
    expect(outcome).toEqual({ status: null, retryAfterMs: null, error: 'timed out' });
  });
});
