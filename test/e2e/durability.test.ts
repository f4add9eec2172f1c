/**
 * Baselines and alerts survive `kill -9` and restart, within the durability rule (README): alerts are
 * committed before the export that raised them is acknowledged; learning is checkpointed every
 * `baselines.checkpointInterval`. Also the operator's allow, through the API and the CLI.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, expect, it } from 'vitest';
import { encodeJson, makeSpans, reportsToolCall as toolCall, type SpanSpec } from '../helpers/otlp-payloads.js';
import { waitFor } from '../helpers/daemon.js';
import { CLI, serve, type ServeProcess } from '../helpers/serve-process.js';

const ID = 'spiffe://acme.example/agent/reporter';
const TOKEN = 'durability-token-0123456789';
const EXTRA = 'baselines: { checkpointInterval: "100ms" }';

let daemon: ServeProcess | undefined;
afterEach(() => daemon?.child.kill('SIGKILL'));

async function post(d: ServeProcess, specs: SpanSpec[]): Promise<void> {
  const body = encodeJson(makeSpans(specs, { resource: { 'service.name': 'reporter', 'nhi.identity': ID } }));
  const res = await fetch(`http://${d.http}/v1/traces`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
  expect(res.status).toBe(200);
}

const api = (d: ServeProcess, p: string, init: RequestInit = {}) =>
  fetch(`http://${d.api}${p}`, { ...init, headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' } });

/** Rows of `sql` in the daemon's database, opened read-only (the daemon may be writing it). */
function query<T>(dir: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(path.join(dir, 'state/vigil.db'), { readonly: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

it('keeps alerts, baselines and folding across kill -9; an allowed item stops alerting', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-durable-'));
  daemon = await serve(dir, EXTRA, { VIGIL_API_TOKEN: TOKEN });
  // Two days of reading reports: 320 tool calls, each with its GET.
  const normal: SpanSpec[] = [];
  for (let i = 0; i < 320; i++) normal.push(...toolCall(48 - (i * 47) / 320, 'reports.read', 'GET', i));
  for (let i = 0; i < normal.length; i += 100) await post(daemon, normal.slice(i, i + 100));
  // The first write ever: unexpected_write (and scope_drift for the new tool).
  await post(daemon, toolCall(0.5, 'reports.delete', 'DELETE', 1000));
  // Killed once a checkpoint has written the baseline with every action posted (a tool call and its GET each).
  const learned = () => query<{ body: string }>(dir, 'SELECT body FROM identity_baselines WHERE identity = ?', ID).map((r) => JSON.parse(r.body).actions as number);
  await waitFor(() => (learned()[0] ?? 0) >= normal.length + 2, 'a checkpoint of every action posted');
  daemon.child.kill('SIGKILL');
  await daemon.exited;

  const stored = query<{ detector: string; count: number }>(dir, 'SELECT detector, count FROM alerts ORDER BY seq');
  expect(stored.map((a) => a.detector)).toContain('unexpected_write');

  daemon = await serve(dir, EXTRA, { VIGIL_API_TOKEN: TOKEN });
  const shown = await (await api(daemon, `/v1/identities/${encodeURIComponent(ID)}`)).json();
  expect(shown).toMatchObject({ identity: ID, phase: 'own' });
  expect(shown.actions).toBeGreaterThanOrEqual(640);

  // The same write again, within the suppression window: folded into the stored alert, not a new one.
  await post(daemon, toolCall(0.4, 'reports.delete', 'DELETE', 1001));
  const writes = () => query<{ count: number }>(dir, "SELECT count FROM alerts WHERE detector = 'unexpected_write'");
  const total = (rows: Array<{ count: number }>) => rows.reduce((n, r) => n + r.count, 0);
  const storedWrites = stored.filter((a) => a.detector === 'unexpected_write');
  // Folded counts are written at the next group commit.
  await waitFor(() => total(writes()) > total(storedWrites), 'the repeat folded into the stored alert');
  expect(writes()).toHaveLength(storedWrites.length);

  // The operator allows the new tool and its delete, with the CLI (through the API).
  const cfg = path.join(dir, 'config.yaml');
  fs.writeFileSync(path.join(dir, 'cli.yaml'), fs.readFileSync(cfg, 'utf8').replace('api: { endpoint: "127.0.0.1:0" }', `api: { endpoint: "${daemon.api}" }`));
  const answered = `vigil: answered by the daemon at http://${daemon.api}\n`;
  for (const [dim, item] of [['tool', 'reports.delete'], ['access', 'reports.delete|delete'], ['access', 'reports.internal/reports/{id}|delete']]) {
    const r = spawnSync(process.execPath, [CLI, 'baseline', 'allow', '--config', path.join(dir, 'cli.yaml'), ID, dim, item], { encoding: 'utf8', env: { ...process.env, VIGIL_API_TOKEN: TOKEN } });
    expect(r.stderr).toBe(answered);
    expect(r.status).toBe(0);
  }
  // A typo is allowed too, but said (review21 L2).
  const typo = spawnSync(process.execPath, [CLI, 'baseline', 'allow', '--config', path.join(dir, 'cli.yaml'), ID, 'tool', 'reports.delet'], { encoding: 'utf8', env: { ...process.env, VIGIL_API_TOKEN: TOKEN } });
  expect([typo.status, typo.stderr]).toEqual([0, `${answered}vigil: warning: tool reports.delet: never used by ${ID} or its peer group, nor named by its alerts; check the spelling\n`]);
  // A bulk read is allowed at the size that raised it: with none raised there is nothing to allow (review33 M3).
  const noBulk = spawnSync(process.execPath, [CLI, 'baseline', 'allow', '--config', path.join(dir, 'cli.yaml'), ID, 'bulk', 'reports.delete'], { encoding: 'utf8', env: { ...process.env, VIGIL_API_TOKEN: TOKEN } });
  expect([noBulk.status, noBulk.stderr]).toEqual([0, expect.stringContaining(`vigil: warning: bulk reports.delete: no hour of ${ID}'s reads of it that raised a bulk read is known`)]);
  // A whole peer group at once (review34 F3), through POST /v1/peer-groups/{group}/allow.
  const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, 'baseline', 'allow', '--config', path.join(dir, 'cli.yaml'), ...args], { encoding: 'utf8', env: { ...process.env, VIGIL_API_TOKEN: TOKEN } });
  const group = cli('--peer-group', shown.peerGroup, 'tool', 'reports.delete');
  expect([group.status, group.stderr, JSON.parse(group.stdout)]).toEqual([0, answered, { peerGroup: shown.peerGroup, members: 1, allowed: [{ dimension: 'tool', item: 'reports.delete' }] }]);
  const noGroup = cli('--peer-group', 'no-such-group', 'tool', 'reports.delete');
  expect([noGroup.status, noGroup.stderr]).toEqual([1, expect.stringContaining('unknown peer group no-such-group')]);
  const alerts = () => query<{ n: number }>(dir, 'SELECT sum(count) AS n FROM alerts')[0].n;
  const before = alerts();
  await post(daemon, toolCall(0.1, 'reports.delete', 'DELETE', 1002));
  // That nothing is raised or folded can only be seen by waiting: a fold is written at the next group
  // commit (storage.flushInterval, 25 ms); a second is forty of them.
  await new Promise((r) => setTimeout(r, 1000));
  expect(alerts()).toBe(before);
});

it('a finding held for a rollout keeps the repeats of acknowledged exports across kill -9', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-durable-held-'));
  // Held findings are released once the wall clock, less `time.lateness`, passes their hold.
  const held = `${EXTRA}\ntime: { lateness: "1s" }\ndetectors: { scope_drift: { rolloutGrace: "4s" } }`;
  daemon = await serve(dir, held, { VIGIL_API_TOKEN: TOKEN });
  const normal: SpanSpec[] = [];
  for (let i = 0; i < 320; i++) normal.push(...toolCall(48 - (i * 47) / 320, 'reports.read', 'GET', i));
  for (let i = 0; i < normal.length; i += 100) await post(daemon, normal.slice(i, i + 100));
  // A new, non-sensitive tool in four acknowledged exports: one finding, held for the rollout grace.
  for (let i = 0; i < 4; i++) await post(daemon, toolCall(0, 'reports.summarize', 'GET', 2000 + i));
  daemon.child.kill('SIGKILL');
  await daemon.exited;

  const db = new Database(path.join(dir, 'state/vigil.db'), { readonly: true });
  const rows = (db.prepare('SELECT body FROM held_findings').pluck().all() as string[]).map((b) => JSON.parse(b) as { count: number });
  db.close();
  expect(rows.map((h) => h.count)).toEqual([4]);

  // After the restart the hold ends (no peer adopted the tool) and the alert carries all four.
  daemon = await serve(dir, held, { VIGIL_API_TOKEN: TOKEN });
  let alert: { count: number } | undefined;
  for (let t = 0; t < 100 && !alert; t++) {
    await new Promise((r) => setTimeout(r, 100));
    const { alerts } = (await (await api(daemon, '/v1/alerts?since=0')).json()) as { alerts: Array<{ title: string; count: number }> };
    alert = alerts.find((a) => a.title === 'New tool reports.summarize');
  }
  expect(alert?.count).toBe(4);
});
