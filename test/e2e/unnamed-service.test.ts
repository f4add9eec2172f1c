/**
 * Agents that set no service name send the SDK's placeholder (`unknown_service:node`): they are still
 * watched, as one identity with no peer group, and the daemon says once why that is wrong (review41 M6,
 * review42 M2: refusing them left those agents unseen).
 */
import { afterEach, expect, it } from 'vitest';
import { encodeJson, makeSpans } from '../helpers/otlp-payloads.js';
import { startTestDaemon, TEST_TOKEN, waitFor, type TestDaemon } from '../helpers/daemon.js';

let t: TestDaemon | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const toolCall = (n: number, service = 'unknown_service:node') =>
  encodeJson(
    makeSpans(
      [{ name: 'execute_tool hr.read', traceId: n.toString(16).padStart(32, '0'), spanId: n.toString(16).padStart(16, '0'), startMs: Date.now() - 1000, attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'hr.read' } }],
      { resource: { 'service.name': service } },
    ),
  );

it("an agent named only by the SDK's placeholder is watched, with no peer group, and the log says why that is wrong", async () => {
  t = await startTestDaemon();
  const d = t;
  for (const n of [1, 2]) {
    const res = await fetch(`${d.httpUrl}/v1/traces`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: toolCall(n) });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{}'); // nothing rejected
  }
  const identities = await waitFor(async () => {
    const body = (await (await fetch(`${d.apiUrl}/v1/identities`, { headers: { Authorization: `Bearer ${TEST_TOKEN}` } })).json()) as { identities: Array<{ identity: string; peerGroup: string; actions: number }> };
    return body.identities.length > 0 && body.identities[0].actions === 2 ? body.identities : null;
  }, 'the identity recorded');
  expect(identities).toMatchObject([{ identity: 'unknown_service:node', peerGroup: '' }]);
  // Other placeholder names (other runtimes) within the hour: no line each (review43 L1).
  for (const n of [3, 4, 5]) await fetch(`${d.httpUrl}/v1/traces`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: toolCall(n, `unknown_service:proc-${n}`) });
  await waitFor(async () => d.actions.length >= 5 || null, 'the other actions');
  const warnings = d.logs.filter((l) => l.includes("SDK's placeholder service name"));
  expect(warnings).toHaveLength(1); // once, when the first is seen, then at most hourly
  expect(JSON.parse(warnings[0])).toMatchObject({ level: 40, identity: 'unknown_service:node' });
});
