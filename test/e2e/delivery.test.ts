/**
 * Delivery survives `kill -9` (CONTRACT §6): the compiled daemon runs as a child process, raises alerts
 * from real OTLP while every receiver is down (503 + Retry-After), and is killed with deliveries pending.
 * Each alert must already have its outbox rows and its revocation in SQLite (they are written in the
 * alert's own transaction). After a restart with the receivers back, every webhook arrives (receivers
 * dedupe on webhook-id), and each credential gets exactly one revocation — one revocationId, shared by
 * every alert naming it — that reaches its broker. Vault is a Vault-API-compatible test server: Vault
 * itself cannot be installed here (no network beyond the package registries).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, expect, it } from 'vitest';
import { waitFor } from '../helpers/daemon.js';
import { encodeJson, makeSpans, type SpanSpec } from '../helpers/otlp-payloads.js';
import { serve, type ServeProcess } from '../helpers/serve-process.js';
import { BROKER_SECRET, WEBHOOK_SECRET } from '../sinks/fixtures.js';
import { Receiver, verifyStandardWebhook, type Reply } from '../sinks/receivers.js';

const HOUR = 3_600_000;
const VAULT_TOKEN = 'hvs.delivery-test-token';
/** Identity -> the credential its destructive calls carry. */
const AGENTS = [
  { name: 'reporter-a', credential: { id: 'database/creds/reports/aaaa', type: 'vault_lease' } },
  { name: 'reporter-b', credential: { id: 'database/creds/reports/bbbb', type: 'vault_lease' } },
  { name: 'reporter-c', credential: { id: 'jti-cccc', type: 'oauth_jti' } },
];
const identity = (name: string) => `spiffe://acme.example/agent/${name}`;

let daemon: ServeProcess | undefined;
const receivers: Receiver[] = [];
afterEach(async () => {
  daemon?.child.kill('SIGKILL');
  for (const r of receivers.splice(0)) await r.close();
});

let traceNo = 0;
/** A tool call with its HTTP call, `hoursAgo` in event time; destructive calls carry the credential. */
function toolCall(hoursAgo: number, tool: string, method: string, credential?: { id: string; type: string }): SpanSpec[] {
  const n = ++traceNo;
  const start = Date.now() - hoursAgo * HOUR;
  const traceId = (0x5000 + n).toString(16).padStart(32, '0');
  const toolSpan = (0x500000 + n * 2).toString(16).padStart(16, '0');
  const cred = credential ? { 'nhi.credential.id': credential.id, 'nhi.credential.type': credential.type } : {};
  return [
    { traceId, spanId: toolSpan, name: `execute_tool ${tool}`, startMs: start, endMs: start + 40, attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool, ...cred } },
    { traceId, spanId: (0x500001 + n * 2).toString(16).padStart(16, '0'), parentSpanId: toolSpan, name: method, kind: 'client', startMs: start + 5, endMs: start + 30, attributes: { 'http.request.method': method, 'server.address': 'reports.internal', 'url.full': `https://reports.internal/reports/${n}`, ...cred } },
  ];
}

async function post(d: ServeProcess, name: string, specs: SpanSpec[]): Promise<void> {
  const body = encodeJson(makeSpans(specs, { resource: { 'service.name': name, 'nhi.identity': identity(name) } }));
  const res = await fetch(`http://${d.http}/v1/traces`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
  expect(res.status).toBe(200);
}

/** A receiver that is down (503, Retry-After: 1) until `up` is set, then answers `upReply`. */
async function flaky(upReply: (body: string, path: string) => Reply): Promise<Receiver & { up: boolean }> {
  const r = Object.assign(await Receiver.start(), { up: false });
  r.respond = (req) => (r.up ? upReply(req.body, req.path) : { status: 503, headers: { 'retry-after': '1' } });
  receivers.push(r);
  return r;
}

it('delivers every webhook and revokes each credential exactly once across kill -9', async () => {
  const allAlerts = await flaky(() => ({ status: 200 }));
  const highAlerts = await flaky(() => ({ status: 204 }));
  const hookBroker = await flaky(() => ({ status: 200 }));
  const revokedLeases: string[] = [];
  const vault = await flaky((body, p) => {
    if (p !== '/v1/sys/leases/revoke') return { status: 404 };
    revokedLeases.push(JSON.parse(body).lease_id);
    return { status: 204 };
  });
  const yaml = [
    'baselines: { checkpointInterval: "100ms" }',
    'delivery: { retryInitial: "100ms", retryMax: "500ms" }',
    'webhooks:',
    `  - { url: "${allAlerts.url()}", secret: "${WEBHOOK_SECRET}" }`,
    `  - { url: "${highAlerts.url()}", secret: "${WEBHOOK_SECRET}", minSeverity: high }`,
    'revocation:',
    '  mode: enforce',
    '  rules:',
    '    - { detectors: ["unexpected_write"], minSeverity: high, credentialTypes: ["vault_lease"], broker: vault }',
    '    - { detectors: ["*"], minSeverity: high, broker: hook }',
    '  brokers:',
    `    - { name: vault, type: vault, address: "${vault.url('')}", token: "${VAULT_TOKEN}" }`,
    `    - { name: hook, type: webhook, url: "${hookBroker.url('/revoke')}", secret: "${BROKER_SECRET}" }`,
  ].join('\n');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-delivery-'));
  daemon = await serve(dir, yaml);

  // Two days of reading reports per agent, then two kinds of destructive call with its credential.
  for (const { name, credential } of AGENTS) {
    const normal: SpanSpec[] = [];
    for (let i = 0; i < 320; i++) normal.push(...toolCall(48 - (i * 47) / 320, 'reports.read', 'GET'));
    for (let i = 0; i < normal.length; i += 128) await post(daemon, name, normal.slice(i, i + 128));
    await post(daemon, name, toolCall(0.5, 'reports.delete', 'DELETE', credential));
    await post(daemon, name, toolCall(0.4, 'reports.purge', 'DELETE', credential));
  }
  // Wait for every credential's revocation to be attempted (all receivers are down), then kill.
  await waitFor(() => vault.received.length >= 2 && hookBroker.received.length >= 1 && allAlerts.ids().length >= 6, 'attempts while down', 20_000);
  await new Promise((r) => setTimeout(r, 300));
  daemon.child.kill('SIGKILL');
  await daemon.exited;

  const db = new Database(path.join(dir, 'state/vigil.db'), { readonly: true });
  const alerts = (db.prepare('SELECT body FROM alerts ORDER BY seq').pluck().all() as string[]).map((b) => JSON.parse(b));
  const outbox = db.prepare('SELECT endpoint, msg_id FROM webhook_outbox').all() as Array<{ endpoint: string; msg_id: string }>;
  const revocations = db.prepare('SELECT id, credential_id, status FROM revocations').all() as Array<{ id: string; credential_id: string; status: string }>;
  db.close();
  const high = alerts.filter((a) => a.severity === 'high' || a.severity === 'critical');
  expect(high.filter((a) => a.detector === 'unexpected_write').length).toBeGreaterThanOrEqual(AGENTS.length);
  // Nothing was delivered, and no alert exists without its deliveries and its revocation.
  expect(outbox.filter((o) => o.endpoint === allAlerts.url()).map((o) => o.msg_id).sort()).toEqual(alerts.map((a) => a.id).sort());
  expect(outbox.filter((o) => o.endpoint === highAlerts.url()).map((o) => o.msg_id).sort()).toEqual(high.map((a) => a.id).sort());
  expect(revocations.map((r) => r.credential_id).sort()).toEqual(AGENTS.map((a) => a.credential.id).sort());
  expect(revocations.every((r) => r.status === 'pending')).toBe(true);

  for (const r of [allAlerts, highAlerts, hookBroker, vault]) r.up = true;
  daemon = await serve(dir, yaml);
  await waitFor(() => allAlerts.ids().length === alerts.length && highAlerts.ids().length === high.length, 'every webhook after the restart', 20_000);
  await waitFor(() => revocationsSucceeded(dir) === AGENTS.length, 'every revocation succeeded', 20_000);

  // Every webhook arrived, signed, and receivers saw each alert under one webhook-id.
  expect(allAlerts.ids().sort()).toEqual(alerts.map((a) => a.id).sort());
  expect(highAlerts.ids().sort()).toEqual(high.map((a) => a.id).sort());
  for (const r of [...allAlerts.received, ...highAlerts.received]) expect(verifyStandardWebhook(WEBHOOK_SECRET, r).type).toBe('alert.created');

  // One revocation per credential: every alert naming it carries the same revocationId, and that id is what
  // reached the broker.
  const byCredential = new Map<string, Set<string>>();
  for (const a of high.filter((x) => x.response)) {
    const id = a.evidence.credential.id as string;
    byCredential.set(id, (byCredential.get(id) ?? new Set()).add(a.response.revocationId));
  }
  expect([...byCredential.keys()].sort()).toEqual(AGENTS.map((a) => a.credential.id).sort());
  for (const ids of byCredential.values()) expect(ids.size).toBe(1);
  for (const { credential } of AGENTS) expect(high.filter((a) => a.evidence.credential?.id === credential.id).length).toBeGreaterThanOrEqual(2);
  expect(new Set(revokedLeases)).toEqual(new Set(AGENTS.filter((a) => a.credential.type === 'vault_lease').map((a) => a.credential.id)));
  const hookIds = new Set(hookBroker.received.map((r) => verifyStandardWebhook(BROKER_SECRET, r).data.revocationId));
  expect([...hookIds]).toEqual([...byCredential.get('jti-cccc')!]);
  expect(hookBroker.ids()).toEqual([...hookIds]);
  for (const r of vault.received) expect(r.headers['x-vault-token']).toBe(VAULT_TOKEN);
});

function revocationsSucceeded(dir: string): number {
  const db = new Database(path.join(dir, 'state/vigil.db'), { readonly: true });
  try {
    return (db.prepare("SELECT count(*) FROM revocations WHERE status = 'succeeded'").pluck().get() as number) ?? 0;
  } finally {
    db.close();
  }
}

// Regression: an attempt was recorded only once it settled, so one in flight at kill -9 reached the broker
// and was in no record: the audit trail a SOC reconciles with its identity provider came up short.
it('records a revocation attempt cut short by kill -9: every request the broker saw is in the audit trail', async () => {
  const broker = await Receiver.start(() => ({ status: 200, delayMs: 60_000 })); // takes the request, answers late
  receivers.push(broker);
  const yaml = [
    'revocation:',
    '  mode: enforce',
    '  rules: [{ minSeverity: high, broker: hook }]',
    `  brokers: [{ name: hook, type: webhook, url: "${broker.url('/revoke')}", secret: "${BROKER_SECRET}" }]`,
  ].join('\n');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-inflight-'));
  daemon = await serve(dir, yaml);
  const { name, credential } = AGENTS[2];
  const normal: SpanSpec[] = [];
  for (let i = 0; i < 320; i++) normal.push(...toolCall(48 - (i * 47) / 320, 'reports.read', 'GET'));
  for (let i = 0; i < normal.length; i += 128) await post(daemon, name, normal.slice(i, i + 128));
  await post(daemon, name, toolCall(0.5, 'reports.delete', 'DELETE', credential));
  await waitFor(() => broker.received.length === 1, 'the attempt at the broker', 20_000);
  daemon.child.kill('SIGKILL');
  await daemon.exited;

  broker.respond = () => ({ status: 204 });
  daemon = await serve(dir, yaml);
  await waitFor(() => revocationsSucceeded(dir) === 1, 'the revocation after the restart', 20_000);
  const db = new Database(path.join(dir, 'state/vigil.db'), { readonly: true });
  const attempts = db.prepare('SELECT attempt, outcome FROM revocation_attempts ORDER BY attempt').all();
  const counted = db.prepare('SELECT attempts FROM revocations').pluck().get();
  db.close();
  expect(attempts).toEqual([
    { attempt: 1, outcome: 'interrupted' },
    { attempt: 2, outcome: 'succeeded' },
  ]);
  expect(counted).toBe(2);
  expect(broker.received).toHaveLength(2);
  expect(broker.ids()).toHaveLength(1); // one revocation id: the broker revokes once
  expect(daemon.stderr()).toMatch(/1 revocation attempt\(s\) were cut short/);
}, 60_000);
