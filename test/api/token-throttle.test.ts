/**
 * Failed API token attempts are throttled per client address (review25 F5): after 10 in a minute, the
 * address's requests that need the token — REST, /metrics, the websocket upgrade — are answered 429 with
 * Retry-After, the token not looked at, until the minute has passed; other addresses are not held back.
 * The rule on its own with explicit times, then the real API over HTTP from two loopback addresses
 * (127.0.0.1 and 127.0.0.2: Linux routes all of 127/8 to lo).
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientOf, FAILURES_ALLOWED, MAX_CLIENTS, TokenThrottle, WINDOW_MS } from '../../src/api/token-throttle.js';
import { metricValue, startTestDaemon, TEST_TOKEN, type TestDaemon } from '../helpers/daemon.js';

describe('the throttle', () => {
  it('holds an address off for the rest of the window once it has failed FAILURES_ALLOWED times, and no other', () => {
    const throttle = new TokenThrottle();
    const t0 = 1_000_000;
    for (let i = 0; i < FAILURES_ALLOWED - 1; i++) throttle.failed('203.0.113.7', t0 + i);
    expect(throttle.waitMs('203.0.113.7', t0 + 100)).toBe(0);
    throttle.failed('203.0.113.7', t0 + 1000);
    expect(throttle.waitMs('203.0.113.7', t0 + 1000)).toBe(WINDOW_MS - 1000);
    expect(throttle.waitMs('203.0.113.8', t0 + 1000)).toBe(0);
    expect(throttle.waitMs('203.0.113.7', t0 + WINDOW_MS - 1)).toBe(1);
    expect(throttle.waitMs('203.0.113.7', t0 + WINDOW_MS)).toBe(0);
    // A failure after the window starts a new one, from one.
    throttle.failed('203.0.113.7', t0 + WINDOW_MS);
    expect(throttle.waitMs('203.0.113.7', t0 + WINDOW_MS)).toBe(0);
  });

  it('failures spread over more than a window never throttle', () => {
    const throttle = new TokenThrottle();
    for (let i = 0; i < 5 * FAILURES_ALLOWED; i++) {
      throttle.failed('198.51.100.1', i * (WINDOW_MS / (FAILURES_ALLOWED - 1)));
      expect(throttle.waitMs('198.51.100.1', i * (WINDOW_MS / (FAILURES_ALLOWED - 1))), String(i)).toBe(0);
    }
  });

  it('tracks at most MAX_CLIENTS addresses, forgetting the one whose latest failure is oldest', () => {
    const throttle = new TokenThrottle();
    for (let i = 0; i < FAILURES_ALLOWED; i++) {
      throttle.failed('192.0.2.1', i);
      throttle.failed('192.0.2.2', i);
    }
    throttle.failed('192.0.2.1', FAILURES_ALLOWED); // 192.0.2.2 is now the one that failed longest ago
    for (let i = 0; i < MAX_CLIENTS - 2; i++) throttle.failed(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, 100);
    expect([throttle.waitMs('192.0.2.1', 100), throttle.waitMs('192.0.2.2', 100)]).toEqual([WINDOW_MS - 100, WINDOW_MS - 100]);
    throttle.failed('10.255.0.0', 100);
    expect([throttle.waitMs('192.0.2.1', 100), throttle.waitMs('192.0.2.2', 100)]).toEqual([WINDOW_MS - 100, 0]);
  });

  it('takes an IPv6 client as its /64, and an IPv4-mapped address as the IPv4 one', () => {
    expect(clientOf('2001:db8:1:2:aaaa::1')).toBe(clientOf('2001:0db8:0001:0002:ffff:1:2:3'));
    expect(clientOf('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientOf('2001:db8:1:3::1')).not.toBe(clientOf('2001:db8:1:2::1'));
    expect(clientOf('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientOf('::1')).toBe('0:0:0:0::/64');
    expect(clientOf('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientOf('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(clientOf('127.0.0.1')).toBe('127.0.0.1');
  });
});

describe('the API listener', () => {
  let t: TestDaemon;
  beforeAll(async () => {
    t = await startTestDaemon();
  });
  afterAll(() => t?.close());

  /** A request from `from` with `token` (none: null); `upgrade` asks for the alert websocket. */
  function send(p: string, o: { token: string | null; from?: string; upgrade?: boolean }): Promise<{ status: number; retryAfter: number | null; body: Record<string, string> }> {
    const headers: Record<string, string> = o.token === null ? {} : { Authorization: `Bearer ${o.token}` };
    if (o.upgrade) Object.assign(headers, { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' });
    return new Promise((resolve, reject) => {
      const req = http.get(t.apiUrl + p, { headers, localAddress: o.from ?? '127.0.0.1' }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          const retryAfter = res.headers['retry-after'];
          resolve({ status: res.statusCode ?? 0, retryAfter: retryAfter === undefined ? null : Number(retryAfter), body: text.startsWith('{') ? JSON.parse(text) : {} });
        });
      });
      req.on('upgrade', (_res, socket) => {
        socket.destroy();
        resolve({ status: 101, retryAfter: null, body: {} });
      });
      req.on('error', reject);
    });
  }

  it('answers 429 with Retry-After once an address has failed 10 times, without looking at its token; other addresses go on', async () => {
    for (let i = 0; i < FAILURES_ALLOWED; i++) {
      expect((await send('/v1/alerts', { token: i % 2 ? null : 'wrong-token-0123456789abc' })).status, String(i)).toBe(401);
    }
    // The right token from the same address: not looked at.
    const throttled = await send('/v1/alerts', { token: TEST_TOKEN });
    expect(throttled.status).toBe(429);
    expect(throttled.retryAfter).toBeGreaterThan(0);
    expect(throttled.retryAfter).toBeLessThanOrEqual(WINDOW_MS / 1000);
    expect(throttled.body).toEqual({ error: 'VIGIL_ERR_THROTTLED', message: expect.stringMatching(/too many requests with a missing or wrong API token .* \(\d+ s\)$/) });
    expect((await send('/metrics', { token: TEST_TOKEN })).status).toBe(429);
    const upgrade = await send('/v1/alerts/stream', { token: TEST_TOKEN, upgrade: true });
    expect([upgrade.status, upgrade.body.error]).toEqual([429, 'VIGIL_ERR_THROTTLED']);
    expect(upgrade.retryAfter).toBeGreaterThan(0);
    // What needs no token is still served; what does not exist is still 404.
    expect((await send('/healthz', { token: null })).status).toBe(200);
    expect((await send('/v1/nothing', { token: TEST_TOKEN })).status).toBe(404);

    // Another address is held back by nothing: its right token is taken, its wrong one refused 401.
    expect((await send('/v1/alerts', { token: TEST_TOKEN, from: '127.0.0.2' })).status).toBe(200);
    expect((await send('/v1/alerts/stream', { token: TEST_TOKEN, from: '127.0.0.2', upgrade: true })).status).toBe(101);
    expect((await send('/v1/alerts', { token: null, from: '127.0.0.2' })).status).toBe(401);

    expect(await metricValue(t, 'vigil_api_requests_throttled_total{surface="rest"}')).toBe(2);
    expect(await metricValue(t, 'vigil_api_requests_throttled_total{surface="websocket"}')).toBe(1);
    // Throttled requests are not refusals of a token: those are the 11 401s.
    expect(await metricValue(t, 'vigil_api_requests_unauthorized_total{surface="rest"}')).toBe(FAILURES_ALLOWED + 1);
  });
});
