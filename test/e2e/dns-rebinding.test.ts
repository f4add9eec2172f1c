/**
 * Review25 F7: the receivers and the API listen on loopback by default, the receivers without a token.
 * A web page that points its own name at 127.0.0.1 (DNS rebinding) is same-origin with them and needs no
 * CORS preflight; it could send spans as any identity. Requests reaching loopback under any name but
 * localhost or an IP literal are refused, 421 Misdirected Request.
 */
import http from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { encodeJson, makeSpans } from '../helpers/otlp-payloads.js';
import { metricValue, startTestDaemon, TEST_TOKEN, waitFor, type TestDaemon } from '../helpers/daemon.js';

let t: TestDaemon;
beforeAll(async () => {
  t = await startTestDaemon();
});
afterAll(() => t?.close());

const IDENTITY = 'spiffe://acme.example/agent/rebound';
const spans = () => encodeJson(makeSpans([{ name: 'execute_tool crm.search', attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'crm.search' } }], { resource: { 'service.name': 'crm-agent', 'nhi.identity': IDENTITY } }));

/** One request to 127.0.0.1:`port` with the given Host header; its status and body. */
function request(port: number, host: string, method: string, path: string, headers: Record<string, string> = {}, body = ''): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: { ...headers, Host: host } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c)).on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

it('OTLP/HTTP: a page’s own name is refused (421, counted, nothing kept); localhost and IP literals are served', async () => {
  const port = t.daemon.ports.http;
  const post = (host: string) => request(port, host, 'POST', '/v1/traces', { 'Content-Type': 'application/json' }, spans());
  const refused = await post(`rebind.attacker.example:${port}`);
  expect(refused.status).toBe(421);
  expect(JSON.parse(refused.body)).toMatchObject({ code: 7, message: expect.stringContaining('loopback') });
  expect(await metricValue(t, 'vigil_requests_rejected_total{receiver="http",reason="misdirected"}')).toBe(1);
  for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'LOCALHOST']) expect([host, (await post(host)).status]).toEqual([host, 200]);
  await waitFor(() => t.actions.filter((a) => a.identity === IDENTITY).length === 4, 'the four served exports');
  expect(await metricValue(t, 'vigil_spans_received_total{receiver="http"}')).toBe(4); // not the refused one
});

it('the API and its websocket: refused under a foreign name, even with the token', async () => {
  const port = t.daemon.ports.api;
  const auth = { Authorization: `Bearer ${TEST_TOKEN}` };
  const rest = await request(port, 'rebind.attacker.example', 'GET', '/v1/alerts', auth);
  expect([rest.status, JSON.parse(rest.body).error]).toEqual([421, 'VIGIL_ERR_MISDIRECTED']);
  expect((await request(port, `localhost:${port}`, 'GET', '/v1/alerts', auth)).status).toBe(200);
  const upgrade = await request(port, 'rebind.attacker.example', 'GET', '/v1/alerts/stream', { ...auth, Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' });
  expect([upgrade.status, JSON.parse(upgrade.body).error]).toEqual([421, 'VIGIL_ERR_MISDIRECTED']);
  // The probes answer any name (CONTRACT §2; review37 F7): they hold nothing, and a proxy keeps its own Host.
  for (const path of ['/healthz', '/readyz']) expect([path, (await request(port, 'vigil.example', 'GET', path, {})).status]).toEqual([path, 200]);
});
