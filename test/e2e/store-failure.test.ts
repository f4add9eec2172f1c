/**
 * A store that refuses writes (disk full, a read-only volume, an I/O error) must not crash the daemon or
 * lose anything: exports are refused as retryable, an alert raised meanwhile is stored and announced
 * once the store is back, and records the failed commits were writing are written by a later commit.
 * A long outage cannot exhaust memory: once what waits to be written reaches its bound, exports are
 * refused before they are judged.
 *
 * The failure is SQLite's own: the daemon's connection is switched to `query_only`, so every write
 * fails with SQLITE_READONLY, as it does on a volume remounted read-only.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { afterEach, expect, it } from 'vitest';
import type { AlertEvent } from '../../src/alerts/manager.js';
import { buildBatches, TraceIdStamper } from '../bench/bench-batches.js';
import { encodeJson, makeSpans, reportsToolCall as toolCall, type SpanSpec } from '../helpers/otlp-payloads.js';
import { startTestDaemon, TEST_TOKEN, waitFor, type TestDaemon } from '../helpers/daemon.js';

const ID = 'spiffe://acme.example/agent/reporter';

let t: TestDaemon | undefined;
afterEach(async () => {
  t?.daemon.db.pragma('query_only = 0');
  await t?.close();
  t = undefined;
});

const body = (specs: SpanSpec[]) => encodeJson(makeSpans(specs, { resource: { 'service.name': 'reporter', 'nhi.identity': ID } }));
const post = (d: TestDaemon, json: string) => fetch(`${d.httpUrl}/v1/traces`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: json });
const api = (d: TestDaemon, p: string) => fetch(`${d.apiUrl}${p}`, { headers: { Authorization: `Bearer ${TEST_TOKEN}` } });

it('refuses exports while the store cannot write, then stores and announces what it found meanwhile', async () => {
  t = await startTestDaemon({ baselines: { minActions: 100, minAge: '1h' } });
  const d = t;
  const normal: SpanSpec[] = [];
  for (let i = 0; i < 120; i++) normal.push(...toolCall(3 - (i * 2.5) / 120, 'reports.read', 'GET', i));
  for (let i = 0; i < normal.length; i += 80) expect((await post(d, body(normal.slice(i, i + 80)))).status).toBe(200);
  await waitFor(async () => ((await (await api(d, `/v1/identities/${encodeURIComponent(ID)}`)).json()) as { phase: string }).phase === 'own', 'a baseline of its own');

  const events: AlertEvent[] = [];
  d.daemon.alerts.subscribe((e) => events.push(e));
  d.daemon.db.pragma('query_only = 1');
  // The first write ever: unexpected_write, found while nothing can be stored.
  const write = body(toolCall(0.1, 'reports.delete', 'DELETE', 1000));
  const refused = await post(d, write);
  expect(refused.status).toBe(503);
  expect(refused.headers.get('retry-after')).not.toBeNull();
  // Still serving, not ready, and announcing nothing it has not stored.
  expect((await fetch(`${d.apiUrl}/healthz`)).status).toBe(200);
  const notReady = await fetch(`${d.apiUrl}/readyz`);
  expect([notReady.status, await notReady.json()]).toEqual([503, { status: 'store_unavailable' }]);
  const metrics = await (await api(d, '/metrics')).text();
  expect(metrics).toMatch(/^vigil_store_commit_failures_total [1-9]/m);
  // The refused export is counted as refused, for the outage (review28 M1: it was counted under no reason).
  expect(metrics).toMatch(/^vigil_requests_rejected_total\{receiver="http",reason="store_unavailable"\} 1$/m);
  expect(events.filter((e) => e.type === 'alert')).toEqual([]);

  d.daemon.db.pragma('query_only = 0');
  // The exporter retries the refused export: its spans were already judged, so they count once.
  const retried = await waitFor(async () => {
    const r = await post(d, write);
    return r.status === 200 ? r : null;
  }, 'the retried export accepted');
  expect(retried.status).toBe(200);
  const raised = await waitFor(() => events.find((e) => e.type === 'alert' && e.alert.detector === 'unexpected_write'), 'the write alert announced');
  if (raised.type !== 'alert') throw new Error('not an alert');
  expect(raised.alert.seq).toBeGreaterThan(0);
  const stored = d.daemon.db.prepare("SELECT seq, count FROM alerts WHERE detector = 'unexpected_write'").all();
  expect(stored).toEqual([{ seq: raised.alert.seq, count: 1 }]);
  // The new tool's finding, held for a possible rollout, is stored too; and the daemon is ready again.
  expect(d.daemon.db.prepare('SELECT fold_key FROM held_findings').pluck().all()).toEqual([expect.stringContaining('reports.delete')]);
  expect((await fetch(`${d.apiUrl}/readyz`)).status).toBe(200);
  // The identity record the refused commit was writing is written by a later one.
  await waitFor(() => {
    const row = d.daemon.db.prepare('SELECT actions FROM identities WHERE identity = ?').get(ID) as { actions: number } | undefined;
    return row !== undefined && row.actions === 242 ? row : null;
  }, 'every action counted in the identity record');
});

it('an outage is logged once, not once per refused export: a full disk must not also fill with log lines', async () => {
  t = await startTestDaemon({ log: { level: 'info' } });
  const d = t;
  d.daemon.db.pragma('query_only = 1');
  const exporter = new OTLPTraceExporter({ url: d.grpcUrl });
  const before = d.logs.length;
  for (let i = 0; i < 20; i++) {
    const spans = makeSpans([{ name: 'GET', kind: 'client', attributes: { 'http.request.method': 'GET', 'url.full': `https://api.example.com/items/${i}` } }],
      { resource: { 'service.name': 'reporter', 'nhi.identity': ID } });
    const result = await new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));
    expect(result.code).toBe(ExportResultCode.FAILED); // UNAVAILABLE: retryable, refused whole
  }
  await exporter.shutdown();
  const during = d.logs.slice(before).map((l) => JSON.parse(l).msg as string);
  expect(during).toContain('store commit failed; exports are refused (retryable) until it succeeds');
  expect(during.length).toBeLessThanOrEqual(2);
});

it('a webhook delivery counts as pending only once its alert is stored', async () => {
  t = await startTestDaemon({ baselines: { minActions: 100, minAge: '1h' }, webhooks: [{ url: 'http://127.0.0.1:9/hook', secret: 'whsec_dmlnaWwtdGVzdC1zZWNyZXQtMDEyMzQ1Njc4OQ==' }] });
  const d = t;
  const normal: SpanSpec[] = [];
  for (let i = 0; i < 120; i++) normal.push(...toolCall(3 - (i * 2.5) / 120, 'reports.read', 'GET', i));
  for (let i = 0; i < normal.length; i += 80) expect((await post(d, body(normal.slice(i, i + 80)))).status).toBe(200);
  await waitFor(async () => ((await (await api(d, `/v1/identities/${encodeURIComponent(ID)}`)).json()) as { phase: string }).phase === 'own', 'a baseline of its own');
  // The alert's row goes in, its outbox row too, then the disk fills: the transaction rolls back.
  d.daemon.db.exec(`CREATE TRIGGER full BEFORE UPDATE ON alerts BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
  expect((await post(d, body(toolCall(0.1, 'reports.delete', 'DELETE', 1000)))).status).toBe(503);
  await new Promise((r) => setTimeout(r, 300)); // commits go on failing meanwhile, each retrying the alert
  expect(d.daemon.db.prepare('SELECT count(*) FROM webhook_outbox').pluck().get()).toBe(0);
  expect(d.daemon.webhooks.pendingCount).toBe(0);
  d.daemon.db.exec('DROP TRIGGER full');
  await waitFor(() => d.daemon.db.prepare('SELECT count(*) FROM alerts').pluck().get() === 1, 'the alert stored');
  // Its delivery is pending (the endpoint is down), counted once.
  expect(d.daemon.webhooks.pendingCount).toBe(1);
  expect(d.daemon.db.prepare('SELECT count(*) FROM webhook_outbox').pluck().get()).toBe(1);
});

it('under load, an outage of the store loses nothing acknowledged and counts nothing twice', async () => {
  t = await startTestDaemon({ log: { level: 'warn' }, baselines: { checkpointInterval: '100ms' } });
  const d = t;
  const batches = buildBatches({ batches: 4, spansPerBatch: 256, spansPerTrace: 16, identities: 100 }, Date.now() - 60_000);
  const stamper = new TraceIdStamper();
  let acked = 0;
  let refusedSpans = 0;
  let stop = false;
  // Four exporters that retry a refused export, as the SDK's and the Collector's do.
  const exporter = async (i: number) => {
    while (!stop) {
      const batch = batches[i];
      stamper.stamp(batch);
      const bytes = Buffer.from(batch.buf);
      for (;;) {
        const res = await fetch(`${d.httpUrl}/v1/traces`, { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf' }, body: bytes });
        await res.arrayBuffer();
        if (res.status === 200) break;
        expect(res.status).toBe(503);
        refusedSpans += batch.spans;
        await new Promise((r) => setTimeout(r, 100));
      }
      acked += batch.spans;
    }
  };
  const running = [0, 1, 2, 3].map(exporter);
  await new Promise((r) => setTimeout(r, 1000));
  // First no write at all succeeds; then only the baseline writes of checkpoints fail (a full disk can
  // surface at any statement), so commits fail after the identity records were written in them.
  d.daemon.db.pragma('query_only = 1');
  await new Promise((r) => setTimeout(r, 1000));
  d.daemon.db.pragma('query_only = 0');
  d.daemon.db.exec(`CREATE TRIGGER full_insert BEFORE INSERT ON identity_baselines BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;
    CREATE TRIGGER full_update BEFORE UPDATE ON identity_baselines BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;`);
  await new Promise((r) => setTimeout(r, 1000));
  d.daemon.db.exec('DROP TRIGGER full_insert; DROP TRIGGER full_update;');
  await new Promise((r) => setTimeout(r, 1000));
  stop = true;
  await Promise.all(running);
  await d.close();
  t = undefined;

  expect(refusedSpans).toBeGreaterThan(0);
  const metric = async (name: string, labels = '') => {
    const text = await d.daemon.metrics.registry.metrics();
    return text.split('\n').filter((l) => l.startsWith(name + labels)).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  };
  // Every refused export was sent again and recognised: its spans were judged once, at the first try.
  expect(await metric('vigil_spans_received_total', '{receiver="http"}')).toBe(acked + refusedSpans);
  expect(await metric('vigil_spans_ignored_total', '{reason="duplicate_span"}')).toBe(refusedSpans);
  // And what was judged is what the store holds.
  const stored = new Database(path.join(d.dir, 'vigil.db'), { readonly: true });
  expect(stored.prepare('SELECT sum(actions) FROM identities').pluck().get()).toBe(await metric('vigil_actions_total'));
  stored.close();
}, 30_000);

it('a long outage with many identities: over maxHotIdentities, exports are refused before they are judged', async () => {
  t = await startTestDaemon({ log: { level: 'warn' }, baselines: { maxHotIdentities: 20 } });
  const d = t;
  const pod = (i: number) => encodeJson(makeSpans(toolCall(0.5, 'reports.read', 'GET', i), { resource: { 'service.name': 'reporter', 'nhi.identity': `${ID}/pod-${i}` } }));
  const metric = async (name: string, labels: string) => {
    const text = await d.daemon.metrics.registry.metrics();
    return Number(text.split('\n').find((l) => l.startsWith(name + labels))?.split(' ').pop() ?? NaN);
  };
  expect((await post(d, pod(0))).status).toBe(200);

  d.daemon.db.pragma('query_only = 1');
  // A fleet of pods exports while nothing can be written: each export is judged, then refused...
  const refused: number[] = [];
  for (let i = 1; i <= 60; i++) {
    const res = await post(d, pod(i));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).not.toBeNull();
    refused.push(i);
  }
  const judged = new Set(d.actions.map((a) => a.identity));
  // ...until the records waiting to be written reach the bound: the rest were refused unjudged.
  expect(judged.size).toBeGreaterThan(20);
  expect(judged.size).toBeLessThan(30);
  expect(await metric('vigil_requests_rejected_total', '{receiver="http",reason="store_unavailable"}')).toBeGreaterThanOrEqual(60 - judged.size);

  // The store takes writes again: the next commit (with the clock) succeeds, and the exporters' retries
  // are accepted; those judged before are recognised, the others judged now. Every pod counted once.
  d.daemon.db.pragma('query_only = 0');
  for (const i of refused) {
    const res = await waitFor(async () => {
      const r = await post(d, pod(i));
      return r.status === 200 ? r : null;
    }, `pod ${i} accepted`);
    expect(res.status).toBe(200);
  }
  await waitFor(() => d.daemon.db.prepare('SELECT count(*) FROM identities').pluck().get() === 61, 'every pod stored');
  const perPod = d.daemon.db.prepare('SELECT DISTINCT actions FROM identities').pluck().all();
  expect(perPod).toEqual([d.actions.filter((a) => a.identity === `${ID}/pod-0`).length]);
}, 30_000);

it('after a busy commit, an outage of seconds is still judged: what is written does not count against the bound', async () => {
  t = await startTestDaemon({ log: { level: 'warn' }, baselines: { maxHotIdentities: 20, checkpointInterval: '100ms' } });
  const d = t;
  const pod = (i: number, n: number) => makeSpans(toolCall(0.5, 'reports.read', 'GET', n), { resource: { 'service.name': 'reporter', 'nhi.identity': `${ID}/pod-${i}` } });
  // 30 pods' first spans in one export: one commit, all written, more records in memory than the bound.
  expect((await post(d, encodeJson(Array.from({ length: 30 }, (_, i) => pod(i, i)).flat()))).status).toBe(200);
  // The export is acknowledged once its spans are safe; a trace still buffered becomes actions a moment
  // later. All 30 records must be written before the outage, or they are waiting, and count.
  // (Generous waits: under a loaded CI host a commit of 30 records can take seconds.)
  await waitFor(() => d.daemon.db.prepare('SELECT count(*) FROM identities').pluck().get() === 30, 'the 30 pods written', 20_000);
  // Their baselines too, with both actions learned (a checkpoint after the trace left the buffer): a
  // baseline not yet written cannot leave memory in the outage, and 30 of them are over the bound.
  const learned = "SELECT count(*) FROM identity_baselines WHERE json_extract(body, '$.actions') >= 2";
  await waitFor(() => d.daemon.db.prepare(learned).pluck().get() === 30, "the 30 pods' baselines written", 20_000);
  d.daemon.db.pragma('query_only = 1');
  for (const i of [0, 1]) {
    const judged = d.actions.length;
    expect((await post(d, encodeJson(pod(i, 100 + i)))).status).toBe(503);
    // The refusal may come before its trace leaves the buffer (a tool span waits for its calls): wait for it.
    await waitFor(() => d.actions.length > judged, `pod ${i}'s export judged during the outage`, 20_000);
  }
}, 60_000);

it('another program holding a write transaction on the store: exports are refused as retryable, not waited on, and accepted once it ends (review35 M1)', async () => {
  t = await startTestDaemon();
  const d = t;
  const first = body(toolCall(0.2, 'reports.read', 'GET', 1));
  expect((await post(d, first)).status).toBe(200);
  // A write waits for another program's lock at most briefly: the daemon has one thread to serve with.
  expect(d.daemon.db.pragma('busy_timeout', { simple: true })).toBeLessThanOrEqual(100);
  const shell = new Database(d.daemon.config.storage.path);
  shell.exec('BEGIN EXCLUSIVE'); // an operator's sqlite3 shell in the middle of an UPDATE
  try {
    const refused = await post(d, body(toolCall(0.1, 'reports.read', 'GET', 2)));
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).not.toBeNull();
    expect((await fetch(`${d.apiUrl}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${d.apiUrl}/readyz`);
    expect([notReady.status, await notReady.json()]).toEqual([503, { status: 'store_unavailable' }]);
  } finally {
    shell.exec('COMMIT');
    shell.close();
  }
  const retried = await waitFor(async () => {
    const r = await post(d, body(toolCall(0.1, 'reports.read', 'GET', 2)));
    return r.status === 200 ? r : null;
  }, 'the export accepted once the lock is gone');
  expect(retried.status).toBe(200);
  expect((await fetch(`${d.apiUrl}/readyz`)).status).toBe(200);
});

it('a store deleted while serving, its folder too, is written back at its path and refuses writes until a restart, which loses nothing acknowledged (review35 M2)', async () => {
  t = await startTestDaemon();
  const d = t;
  const file = d.daemon.config.storage.path;
  for (let i = 0; i < 3; i++) expect((await post(d, body(toolCall(0.3 - i * 0.05, 'reports.read', 'GET', i)))).status).toBe(200);
  fs.rmSync(path.dirname(file), { recursive: true, force: true }); // a tmp reaper, a cleanup job: the folder too (review36 M5)
  const notReady = await waitFor(async () => {
    const r = await fetch(`${d.apiUrl}/readyz`);
    return r.status === 503 ? r : null;
  }, 'not ready once the deleted store is noticed');
  expect(await notReady.json()).toEqual({ status: 'store_unavailable' });
  await waitFor(() => d.logs.some((l) => l.includes('the deleted store was written back at storage.path')), 'the store written back');
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  const refused = await post(d, body(toolCall(0.1, 'reports.read', 'GET', 9)));
  expect(refused.status).toBe(503);
  expect(d.logs.join('')).toContain(`storage.path (${file}) was deleted while Vigil ran`);
  await d.close();
  t = undefined;
  // What a restart finds there: every action of the three acknowledged exports.
  const stored = new Database(file, { readonly: true });
  try {
    expect(stored.prepare('SELECT actions FROM identities WHERE identity = ?').pluck().get(ID)).toBe(6);
  } finally {
    stored.close();
  }
});
