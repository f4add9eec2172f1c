/**
 * One outbound POST (src/sinks/http.ts) against a real receiver on port 0: what reaches the error string
 * that is stored (webhook_outbox.last_error, revocation_attempts.error, a revocation's reason) and logged.
 * Called directly, not through the config, so these defences are tested even once the loader refuses
 * such settings.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { postOnce } from '../../src/sinks/http.js';
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
