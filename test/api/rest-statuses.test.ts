/**
 * A client's mistake gets the status that names it, not a 404 that says the endpoint is missing or a 500
 * logged as a daemon bug; and the token is still checked first, as on every route that needs it.
 */
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
