/**
 * What an operator sees of API requests refused for their token, and of what operators do (review21 L1):
 * refusals are counted in /metrics and said in the log at most once a minute, naming the latest caller;
 * an allow or a reset names the address it came from.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestDaemon, TEST_TOKEN, type TestDaemon } from '../helpers/daemon.js';
import { refusal } from './helpers.js';

let t: TestDaemon;
beforeAll(async () => {
  t = await startTestDaemon();
});
afterAll(() => t?.close());

const logLines = () => t.logs.map((l) => JSON.parse(l) as { level: number; msg: string; [k: string]: unknown });
const metric = async (surface: string) => {
  const text = await t.daemon.metrics.registry.metrics();
  return Number(new RegExp(`^vigil_api_requests_unauthorized_total\\{surface="${surface}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
};

it('counts refused requests and websocket upgrades, and warns once a minute with the latest caller', async () => {
  expect([await metric('rest'), await metric('websocket')]).toEqual([0, 0]);
  for (let i = 0; i < 3; i++) expect((await fetch(`${t.apiUrl}/v1/alerts`, { headers: { Authorization: 'Bearer wrong-token-0123456789abc' } })).status).toBe(401);
  expect((await refusal(t.apiUrl.replace('http', 'ws'), '', { token: null })).status).toBe(401);
  expect([await metric('rest'), await metric('websocket')]).toEqual([3, 1]);
  const warnings = logLines().filter((l) => l.level === 40 && /refused for a missing or wrong token/.test(l.msg));
  expect(warnings).toHaveLength(1); // the first; the others wait for the next minute
  expect(warnings[0].msg).toMatch(/^1 API request\(s\) refused .* the latest from 127\.0\.0\.1:\d+$/);
  expect(JSON.stringify(t.logs)).not.toContain('wrong-token');
});

it("logs the address an operator's allow and reset came from", async () => {
  const time = Date.now();
  t.daemon.engine.process([{
    time, endTime: time + 5, identity: 'spiffe://acme.example/agent/allowed', peerGroup: 'agents', kind: 'tool', target: 'crm.search', access: 'read', host: null, zone: null,
    sensitive: false, failed: false, retry: false, traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), parentSpanId: '', credential: null, scopes: [], agent: null,
  }]);
  const id = encodeURIComponent('spiffe://acme.example/agent/allowed');
  const post = (p: string, body?: unknown) =>
    fetch(`${t.apiUrl}/v1/identities/${id}/${p}`, { method: 'POST', headers: { Authorization: `Bearer ${TEST_TOKEN}`, 'Content-Type': 'application/json' }, body: body && JSON.stringify(body) });
  expect((await post('allow', { dimension: 'tool', item: 'crm.search' })).status).toBe(200);
  expect((await post('reset')).status).toBe(200);
  const acts = logLines().filter((l) => /^operator (allowed|reset)/.test(l.msg));
  expect(acts.map((l) => l.by)).toEqual([expect.stringMatching(/^127\.0\.0\.1:\d+$/), expect.stringMatching(/^127\.0\.0\.1:\d+$/)]);
});
