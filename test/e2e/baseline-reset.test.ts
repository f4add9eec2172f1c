/**
 * An operator's reset (`vigil baseline reset`, `POST /v1/identities/{identity}/reset`): the identity
 * forgets what it learned and learns again, judged by its peer group meanwhile — or, alone in its
 * group, only learning (never alerting on everything it does as if it were all new).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { encodeJson, makeSpans, type SpanSpec } from '../helpers/otlp-payloads.js';
import { startTestDaemon, TEST_TOKEN, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { CLI } from '../helpers/serve-process.js';

const HOUR = 3_600_000;
let t: TestDaemon | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

let n = 0;
/** `count` calls of `tool` by `identity` (peer group `group`), spread over the last `hours` hours. */
function calls(identity: string, group: string, tool: string, count: number, hours: number): string {
  const specs: SpanSpec[] = Array.from({ length: count }, (_, i) => ({
    name: `execute_tool ${tool}`,
    traceId: (++n).toString(16).padStart(32, '0'),
    spanId: n.toString(16).padStart(16, '0'),
    startMs: Date.now() - hours * HOUR + (i * hours * HOUR) / count,
    attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool },
  }));
  return encodeJson(makeSpans(specs, { resource: { 'service.name': group, 'nhi.identity': identity } }));
}

async function post(d: TestDaemon, body: string): Promise<void> {
  const res = await fetch(`${d.httpUrl}/v1/traces`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
  expect(res.status).toBe(200);
}

async function phase(d: TestDaemon, identity: string): Promise<{ phase: string; actions: number }> {
  const res = await fetch(`${d.apiUrl}/v1/identities/${encodeURIComponent(identity)}`, { headers: { Authorization: `Bearer ${TEST_TOKEN}` } });
  return (await res.json()) as { phase: string; actions: number };
}

/** `vigil baseline reset` against the test daemon's API (asynchronously: the daemon runs in this process). */
function resetWithCli(d: TestDaemon, identity: string): Promise<{ status: number; stdout: string; stderr: string }> {
  const cfg = path.join(d.dir, 'cli.yaml');
  fs.writeFileSync(cfg, `api: { endpoint: "127.0.0.1:${d.daemon.ports.api}" }\nstorage: { path: "${path.join(d.dir, 'vigil.db')}" }\n`);
  return new Promise((resolve) =>
    execFile(process.execPath, [CLI, 'baseline', 'reset', '--config', cfg, identity], { env: { ...process.env, VIGIL_API_TOKEN: TEST_TOKEN } }, (err, stdout, stderr) =>
      resolve({ status: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

it('alone in its group, a reset identity learns again without alerting', async () => {
  t = await startTestDaemon({ baselines: { minActions: 100, minAge: '1h' } });
  const d = t;
  const ID = 'spiffe://acme.example/agent/solo';
  await post(d, calls(ID, 'solo-agent', 'crm.search', 150, 3));
  await waitFor(async () => (await phase(d, ID)).phase === 'own', 'a baseline of its own');

  const r = await resetWithCli(d, ID);
  expect([r.status, r.stderr]).toEqual([0, `vigil: answered by the daemon at http://127.0.0.1:${d.daemon.ports.api}\n`]);
  expect(JSON.parse(r.stdout)).toEqual({ identity: ID, reset: true });
  expect(await phase(d, ID)).toMatchObject({ phase: 'learning', actions: 0 });

  // What it did before is new to it again: learned, not raised.
  await post(d, calls(ID, 'solo-agent', 'crm.search', 5, 0.1));
  await waitFor(async () => (await phase(d, ID)).actions === 5, 'the new actions learned');
  expect(d.daemon.db.prepare('SELECT count(*) FROM alerts').pluck().get()).toBe(0);
});

it('with peers, a reset identity is judged against them', async () => {
  // A new tool is held for a rollout (rolloutGrace) first, released once the clock less lateness passes it.
  t = await startTestDaemon({ baselines: { minActions: 100, minAge: '1h' }, detectors: { scope_drift: { rolloutGrace: '100ms' } }, time: { lateness: '1s' } });
  const d = t;
  const [A, B] = ['spiffe://acme.example/agent/a', 'spiffe://acme.example/agent/b'];
  await post(d, calls(A, 'fleet', 'crm.search', 150, 3));
  await post(d, calls(B, 'fleet', 'crm.search', 150, 3));
  await waitFor(async () => (await phase(d, A)).phase === 'own', 'a baseline of its own');

  const res = await fetch(`${d.apiUrl}/v1/identities/${encodeURIComponent(A)}/reset`, { method: 'POST', headers: { Authorization: `Bearer ${TEST_TOKEN}` } });
  expect(res.status).toBe(200);
  expect(await phase(d, A)).toMatchObject({ phase: 'peer', actions: 0 });
  // What its peer does is normal for it; what no one in the group does is not.
  await post(d, calls(A, 'fleet', 'crm.search', 3, 0.1));
  await post(d, calls(A, 'fleet', 'vault.read', 1, 0.05));
  const alerts = await waitFor(() => {
    const rows = d.daemon.db.prepare('SELECT detector, subject FROM alerts').all();
    return rows.length > 0 ? rows : null;
  }, 'an alert');
  expect(alerts).toEqual([{ detector: 'scope_drift', subject: 'tool:vault.read' }]);
  const unknown = await fetch(`${d.apiUrl}/v1/identities/nobody/reset`, { method: 'POST', headers: { Authorization: `Bearer ${TEST_TOKEN}` } });
  expect(unknown.status).toBe(404);
});

it('after a restart, the identity list still shows a reset identity learning (review44 L1)', async () => {
  const settings = { baselines: { minActions: 100, minAge: '1h' } };
  t = await startTestDaemon(settings);
  const { dir } = t;
  const ID = 'spiffe://acme.example/agent/solo';
  await post(t, calls(ID, 'solo-agent', 'crm.search', 150, 3));
  await waitFor(async () => (await phase(t!, ID)).phase === 'own', 'a baseline of its own');
  expect((await resetWithCli(t, ID)).status).toBe(0);
  await t.close();

  // Its baseline is not in memory after the start: the list reads its record.
  t = await startTestDaemon(settings, dir);
  const res = await fetch(`${t.apiUrl}/v1/identities`, { headers: { Authorization: `Bearer ${TEST_TOKEN}` } });
  const { identities } = (await res.json()) as { identities: { identity: string; phase: string; actions: number; baselineSince: string | null }[] };
  expect(identities).toMatchObject([{ identity: ID, phase: 'learning', actions: 150 }]);
  expect(Date.parse(identities[0].baselineSince!)).toBeGreaterThan(Date.now() - 3_600_000);
  expect(await phase(t, ID)).toMatchObject({ phase: 'learning', actions: 0 });
});
