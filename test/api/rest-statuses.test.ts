/**
 * A client's mistake gets the status that names it, not a 404 that says the endpoint is missing or a 500
 * logged as a daemon bug; and the token is still checked first, as on every route that needs it.
 */
import http from 'node:http';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiDaemon, TEST_TOKEN, type ApiDaemon } from './helpers.js';

let d: ApiDaemon;
beforeAll(async () => {
  d = await startApiDaemon();
});
afterAll(() => d?.close());

const auth = { Authorization: `Bearer ${TEST_TOKEN}` };

describe('identity paths with broken percent-encoding', () => {
  const bad = '%E0%A4%A';
  const requests: Array<[string, string, RequestInit]> = [
    ['GET', `/v1/identities/${bad}`, {}],
    ['POST', `/v1/identities/${bad}/allow`, { body: JSON.stringify({ dimension: 'tool', item: 'x' }), headers: { 'Content-Type': 'application/json' } }],
    ['POST', `/v1/identities/${bad}/reset`, {}],
  ];

  it.each(requests)('%s %s -> 400 VIGIL_ERR_BAD_REQUEST naming the encoding, not 500', async (method, p, init) => {
    const res = await fetch(`${d.apiUrl}${p}`, { ...init, method, headers: { ...auth, ...init.headers } });
    const body = (await res.json()) as { error: string; message: string };
    expect({ status: res.status, error: body.error }).toEqual({ status: 400, error: 'VIGIL_ERR_BAD_REQUEST' });
    expect(body.message).toContain('percent-encoding');
  });

  it.each(requests)('%s %s without the token -> 401', async (method, p, init) => {
    const res = await fetch(`${d.apiUrl}${p}`, { ...init, method });
    expect(res.status).toBe(401);
  });
});

describe('a known path with a method it does not serve', () => {
  it.each([
    ['POST', '/v1/alerts', 'GET, HEAD'],
    ['DELETE', '/v1/identities/x', 'GET, HEAD'],
    ['POST', '/v1/identities/x', 'GET, HEAD'],
    ['GET', '/v1/identities/x/allow', 'POST'],
    ['PUT', '/v1/revocations', 'GET, HEAD'],
    ['POST', '/v1/alerts/stream', 'GET, HEAD'],
  ])('%s %s -> 405 with Allow: %s', async (method, p, allow) => {
    const res = await fetch(`${d.apiUrl}${p}`, { method, headers: auth });
    const body = (await res.json()) as { error: string };
    expect({ status: res.status, allow: res.headers.get('allow'), error: body.error }).toEqual({ status: 405, allow, error: 'VIGIL_ERR_METHOD_NOT_ALLOWED' });
  });

  it('needs the token first, as the path does: without it 401, not 405', async () => {
    const res = await fetch(`${d.apiUrl}/v1/alerts`, { method: 'POST' });
    expect([res.status, res.headers.get('allow')]).toEqual([401, null]);
  });

  it('on the public health checks, 405 without a token', async () => {
    const res = await fetch(`${d.apiUrl}/healthz`, { method: 'POST' });
    expect([res.status, res.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
  });

  it('HEAD is GET without a body: health checks, and token-guarded routes as their GET', async () => {
    for (const [p, headers, status] of [['/healthz', {}, 200], ['/readyz', {}, 200], ['/v1/alerts', auth, 200], ['/v1/alerts', {}, 401]] as const) {
      const res = await fetch(`${d.apiUrl}${p}`, { method: 'HEAD', headers });
      expect([p, res.status, await res.text()]).toEqual([p, status, '']);
    }
    const get = await fetch(`${d.apiUrl}/v1/alerts`, { headers: auth });
    const head = await fetch(`${d.apiUrl}/v1/alerts`, { method: 'HEAD', headers: auth });
    expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'));
  });

  it('a path no route serves stays 404, whatever the method', async () => {
    for (const method of ['GET', 'POST']) {
      const res = await fetch(`${d.apiUrl}/v1/nothing`, { method, headers: auth });
      expect([method, res.status]).toEqual([method, 404]);
    }
  });
});

describe('a plain GET of the websocket path', () => {
  it('-> 426 Upgrade Required with Upgrade: websocket', async () => {
    const res = await fetch(`${d.apiUrl}/v1/alerts/stream`, { headers: auth });
    const body = (await res.json()) as { error: string };
    expect({ status: res.status, upgrade: res.headers.get('upgrade'), error: body.error }).toEqual({ status: 426, upgrade: 'websocket', error: 'VIGIL_ERR_UPGRADE_REQUIRED' });
  });

  it('without the token -> 401, as the upgrade itself', async () => {
    expect((await fetch(`${d.apiUrl}/v1/alerts/stream`)).status).toBe(401);
  });
});

describe('a POST body over the 64 KiB limit', () => {
  /** POSTs `bytes` of JSON-ish text to an allow route over `agent`; `chunked` sends no Content-Length. */
  function post(agent: http.Agent, bytes: number, chunked: boolean): Promise<{ status: number; body: { error: string; message: string }; socket: unknown }> {
    return new Promise((resolve, reject) => {
      const req = http.request(`${d.apiUrl}/v1/identities/too-large/allow`, {
        method: 'POST',
        agent,
        headers: { ...auth, 'Content-Type': 'application/json', ...(chunked ? {} : { 'Content-Length': String(bytes) }) },
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text), socket: req.socket }));
      });
      req.on('error', reject);
      // Sent in 16 KiB writes, as a client streaming its body does: the answer comes while it still sends.
      const chunk = Buffer.alloc(16 * 1024, 'x');
      for (let sent = 0; sent < bytes; sent += chunk.length) req.write(chunk.subarray(0, Math.min(chunk.length, bytes - sent)));
      req.end();
    });
  }

  it.each([['with Content-Length', false], ['chunked', true]] as const)('%s: 413 VIGIL_ERR_TOO_LARGE, never a reset, and the connection serves the next request', async (_name, chunked) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const sockets = new Set<unknown>();
      for (let i = 0; i < 5; i++) {
        const r = await post(agent, 512 * 1024, chunked);
        sockets.add(r.socket);
        expect({ status: r.status, error: r.body.error }).toEqual({ status: 413, error: 'VIGIL_ERR_TOO_LARGE' });
        expect(r.body.message).toContain('larger than 65536 bytes');
      }
      const small = await post(agent, 0, false);
      expect(small.status).toBe(400); // an empty body names no item: the route's own answer
      sockets.add(small.socket);
      expect(sockets.size).toBe(1); // one keep-alive connection throughout: drained, not cut
    } finally {
      agent.destroy();
    }
  });
});

describe('a POST body with a Content-Encoding (read as the receivers read theirs)', () => {
  const items = JSON.stringify({ items: [{ dimension: 'tool', item: 'crm.search' }] });
  const allow = async (body: Buffer | string, encoding: string) => {
    const res = await fetch(`${d.apiUrl}/v1/identities/nobody/allow`, { method: 'POST', body, headers: { ...auth, 'Content-Type': 'application/json', 'Content-Encoding': encoding } });
    return { status: res.status, ...((await res.json()) as { error: string; message: string }) };
  };

  it('gzip is inflated and read: the route answers for the identity, not for the bytes', async () => {
    expect(await allow(zlib.gzipSync(items), 'gzip')).toMatchObject({ status: 404, error: 'VIGIL_ERR_NOT_FOUND', message: 'unknown identity nobody' });
  });

  it('broken gzip and unknown encodings are 400, naming what is wrong', async () => {
    expect(await allow(zlib.gzipSync(items).subarray(0, 12), 'gzip')).toMatchObject({ status: 400, error: 'VIGIL_ERR_BAD_REQUEST', message: expect.stringMatching(/^the body could not be read: gzip: /) });
    expect(await allow(items, 'br')).toMatchObject({ status: 400, error: 'VIGIL_ERR_BAD_REQUEST', message: expect.stringContaining('Content-Encoding') });
  });
});
