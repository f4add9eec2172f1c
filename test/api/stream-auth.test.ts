/**
 * Alert websocket auth and handshake (CONTRACT §2): the bearer header or the `bearer.<base64url>`
 * subprotocol (the server selects `vigil.v1`), plain HTTP refusals before any upgrade, never a token in
 * the URL, and bad parameters refused with 400.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { bearerProtocol, connect, raise, refusal, startApiDaemon, TEST_TOKEN, waitFor, type ApiDaemon } from './helpers.js';

let d: ApiDaemon;
beforeAll(async () => {
  d = await startApiDaemon();
});
afterAll(() => d?.close());

it('accepts the bearer header and streams live alerts', async () => {
  const c = await connect(d.wsUrl);
  expect(c.ws.protocol).toBe('');
  raise(d.daemon, { identity: 'spiffe://acme.example/agent/header' });
  await waitFor(() => c.of('alert').length > 0, 'an alert frame');
  const [frame] = c.of('alert');
  expect(frame.alert.identity).toBe('spiffe://acme.example/agent/header');
  await c.close();
});

it('accepts the token as a subprotocol and selects vigil.v1', async () => {
  const c = await connect(d.wsUrl, '', { protocols: ['vigil.v1', bearerProtocol(TEST_TOKEN)] });
  expect(c.ws.protocol).toBe('vigil.v1');
  raise(d.daemon, { identity: 'spiffe://acme.example/agent/protocol' });
  await waitFor(() => c.of('alert').some((f) => f.alert.identity === 'spiffe://acme.example/agent/protocol'), 'an alert frame');
  await c.close();
  // The bearer protocol may come first: the server still selects vigil.v1, never echoes the token.
  const c2 = await connect(d.wsUrl, '', { protocols: [bearerProtocol(TEST_TOKEN), 'vigil.v1'] });
  expect(c2.ws.protocol).toBe('vigil.v1');
  await c2.close();
});

it('refuses a missing or wrong token with 401 before upgrading', async () => {
  for (const o of [
    { token: null },
    { token: 'wrong-token-0123456789abc' },
    { protocols: ['vigil.v1'] },
    { protocols: ['vigil.v1', bearerProtocol('wrong-token-0123456789abc')] },
    { protocols: ['vigil.v1', 'bearer.!!!not-base64'] },
  ]) {
    const r = await refusal(d.wsUrl, '', o);
    expect(r.status, JSON.stringify(o)).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Bearer realm="vigil"');
    expect(JSON.parse(r.body).error).toBe('VIGIL_ERR_UNAUTHORIZED');
  }
});

it('never takes the token from the URL', async () => {
  for (const q of [`token=${TEST_TOKEN}`, `access_token=${TEST_TOKEN}`, `bearer=${TEST_TOKEN}`]) {
    expect((await refusal(d.wsUrl, q, { token: null })).status).toBe(401);
  }
});

it('refuses bad parameters, a foreign path and a subprotocol list without vigil.v1', async () => {
  for (const q of ['since=abc', 'since=-3', 'minSeverity=urgent', 'limit=10', 'identity=', 'detector=scope-drift']) {
    const r = await refusal(d.wsUrl, q);
    expect(r.status, q).toBe(400);
    expect(JSON.parse(r.body).error).toBe('VIGIL_ERR_BAD_REQUEST');
  }
  const wrongProtocols = await refusal(d.wsUrl, '', { protocols: [bearerProtocol(TEST_TOKEN)] });
  expect(wrongProtocols.status).toBe(400);
  expect(JSON.parse(wrongProtocols.body).message).toContain('vigil.v1');
  const status = await new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(`${d.wsUrl}/v1/alerts/other`, { headers: { Authorization: `Bearer ${TEST_TOKEN}` } });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('open', () => reject(new Error('upgraded on a foreign path')));
  });
  expect(status).toBe(404);
});

it('counts connected clients in vigil_websocket_clients', async () => {
  const gauge = async () => (await d.daemon.metrics.websocketClients.get()).values[0]?.value ?? 0;
  const before = await gauge();
  const a = await connect(d.wsUrl);
  const b = await connect(d.wsUrl, 'since=0');
  expect(await gauge()).toBe(before + 2);
  await a.close();
  await b.close();
  await waitFor(async () => (await gauge()) === before, 'the gauge to drop back');
});

// Review25 F8: each client may hold 8 MiB of frames; with no cap, a token holder could open any number.
it('serves at most maxClients at once: the next is refused 503 until one leaves', async () => {
  const small = await startApiDaemon({ maxClients: 2 });
  try {
    const [a, b] = [await connect(small.wsUrl), await connect(small.wsUrl)];
    const refused = await refusal(small.wsUrl);
    expect([refused.status, JSON.parse(refused.body).error]).toEqual([503, 'VIGIL_ERR_UNAVAILABLE']);
    expect(JSON.parse(refused.body).message).toContain('2 alert stream clients are connected');
    await a.close();
    const c = await retryConnect(small.wsUrl);
    await Promise.all([b.close(), c.close()]);
  } finally {
    await small.close();
  }
});

/** Connects once the server has seen a client leave (its close is handled a moment after ours resolves). */
async function retryConnect(wsUrl: string) {
  for (let i = 0; ; i++) {
    try {
      return await connect(wsUrl);
    } catch (err) {
      if (i > 50 || (err as { status?: number }).status !== 503) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
