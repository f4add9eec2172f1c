/**
 * A daemon fed one identity per run (an id unique per run, a common instrumentation mistake) keeps its
 * peer groups within `baselines.maxPeerMembers`, shows it in /metrics, and says once in its log what
 * usually causes it.
 */
import { afterEach, expect, it } from 'vitest';
import { encodeJson, makeSpans } from '../helpers/otlp-payloads.js';
import { startTestDaemon, TEST_TOKEN, waitFor, type TestDaemon } from '../helpers/daemon.js';

const BOUND = 5;
const RUNS = 12;
let t: TestDaemon | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** One tool call by run `i`, an identity of its own in the `report-agent` group. */
function runExport(i: number): string {
  const id = (i + 1).toString(16);
  return encodeJson(
    makeSpans(
      [{ name: 'execute_tool crm.search', traceId: id.padStart(32, '0'), spanId: id.padStart(16, '0'), startMs: Date.now() - (RUNS - i) * 1000, attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'crm.search' } }],
      { resource: { 'service.name': 'report-agent', 'nhi.identity': `spiffe://acme.example/report-agent/run-${i}` } },
    ),
  );
}

const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);

it('an identity per run: members stay within the bound, /metrics counts the early leaves, the log says why once', async () => {
  t = await startTestDaemon({ baselines: { maxPeerMembers: BOUND } });
  const d = t;
  for (let i = 0; i < RUNS; i++) {
    const res = await fetch(`${d.httpUrl}/v1/traces`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: runExport(i) });
    expect(res.status).toBe(200);
  }
  const text = await waitFor(async () => {
    const body = await (await fetch(`${d.apiUrl}/metrics`, { headers: { Authorization: `Bearer ${TEST_TOKEN}` } })).text();
    // Members over the bound leave at the group commit after their actions are counted: wait for it.
    const done = metric(body, 'vigil_actions_total\\{kind="tool"\\}') === RUNS && metric(body, 'vigil_peer_group_members') <= BOUND;
    return done ? body : null;
  }, `${RUNS} tool actions, and the members within the bound`);

  const members = metric(text, 'vigil_peer_group_members');
  expect(members).toBeGreaterThan(0);
  expect(members).toBeLessThanOrEqual(BOUND);
  expect(metric(text, 'vigil_peer_groups')).toBe(1);
  expect(metric(text, 'vigil_peer_members_evicted_total')).toBe(RUNS - members);
  const warnings = d.logs.filter((l) => l.includes('baselines.maxPeerMembers'));
  expect(warnings).toHaveLength(1);
  expect(JSON.parse(warnings[0])).toMatchObject({ level: 40, maxPeerMembers: BOUND });
});
