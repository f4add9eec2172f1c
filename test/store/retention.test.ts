/**
 * Identities idle for `baselines.forgetIdleAfter` of event time are forgotten (record, baseline, peer
 * group membership), so short-lived instances do not grow the store without end; one that comes back
 * starts again as new. Alerts older than `alerts.retention` are deleted. Through `vigil replay` over a
 * real SQLite file, in event time.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { afterEach, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { runReplay } from '../../src/replay.js';
import { openDatabase } from '../../src/store/database.js';
import { databaseAt } from '../helpers/old-database.js';
import { encodeJson, makeSpans } from '../helpers/otlp-payloads.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
// A Monday far enough back that the latest day these tests replay (T0 + 768 days) is not in the future:
// replay, like serve, rejects spans from after the wall clock.
const T0 = Date.UTC(2023, 0, 2, 9, 0, 0);
const GROUP = 'reporting-agent';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

let n = 0;
/** An OTLP/JSON line of `count` calls of `tool` by `instance`, one every `everyMs` (a minute) from `start`. */
function line(instance: string, start: number, count: number, tool = 'reports.read', everyMs = 60_000): string {
  const specs = Array.from({ length: count }, (_, i) => ({
    name: `execute_tool ${tool}`,
    traceId: (++n).toString(16).padStart(32, '0'),
    spanId: n.toString(16).padStart(16, '0'),
    startMs: start + i * everyMs,
    attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool },
  }));
  return encodeJson(makeSpans(specs, { resource: { 'service.name': GROUP, 'nhi.identity': instance } }));
}

/** A database path in a folder of its own (deleted after the test), where replay inputs are written too. */
function newDb(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-retention-'));
  dirs.push(dir);
  return path.join(dir, 'vigil.db');
}

async function replay(db: string, lines: string[], config = configSchema.parse({})): Promise<void> {
  const file = path.join(path.dirname(db), `in-${++n}.jsonl`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
  await runReplay({ config, files: [file], db, printActions: false, out: sink(), err: sink() });
}

/** What `read` finds in the database file, opened read-only for it. */
function inDb<T>(db: string, read: (d: Database.Database) => T): T {
  const d = new Database(db, { readonly: true });
  try {
    return read(d);
  } finally {
    d.close();
  }
}

const stored = (db: string) =>
  inDb(db, (d) => ({
    identities: d.prepare('SELECT identity, first_seen AS firstSeen, actions FROM identities ORDER BY identity').all(),
    baselines: d.prepare('SELECT identity FROM identity_baselines ORDER BY identity').pluck().all(),
    members: d.prepare('SELECT identity FROM peer_members ORDER BY identity').pluck().all(),
  }));

it('forgets an identity idle for forgetIdleAfter (90 days); if it comes back it starts again', async () => {
  const db = newDb();

  await replay(db, [line('pod-a', T0, 20), line('pod-b', T0, 20)]);
  expect(stored(db).baselines).toEqual(['pod-a', 'pod-b']);

  // Day 100: only pod-b is active. pod-a's last action is 100 days old.
  await replay(db, [line('pod-b', T0 + 100 * DAY, 5)]);
  const after = stored(db);
  expect(after.identities).toEqual([{ identity: 'pod-b', firstSeen: T0, actions: 25 }]);
  expect(after.baselines).toEqual(['pod-b']);
  expect(after.members).toEqual(['pod-b']);

  // pod-a acts again on day 101: a new identity, first seen now.
  await replay(db, [line('pod-a', T0 + 101 * DAY, 3)]);
  expect(stored(db).identities).toEqual([
    { identity: 'pod-a', firstSeen: T0 + 101 * DAY, actions: 3 },
    { identity: 'pod-b', firstSeen: T0, actions: 25 },
  ]);
});

it('keeps an identity idle for less than forgetIdleAfter', async () => {
  const db = newDb();
  await replay(db, [line('pod-a', T0, 20), line('pod-b', T0, 20)]);
  await replay(db, [line('pod-b', T0 + 80 * DAY, 5)]);
  expect(stored(db).baselines).toEqual(['pod-a', 'pod-b']);
  expect(stored(db).identities).toHaveLength(2);
});

/** Config with a tool that writes, and a replay of `instance` reading for two days then purging. */
const purgeConfig = configSchema.parse({ catalog: [{ tool: 'reports.purge', access: 'delete' }] });
/** Two days of reads (300 of them, 50 h: a baseline of its own), then a purge it never did: alerts. */
const learnThenPurge = (instance: string, start: number) => [
  line(instance, start, 300, 'reports.read', 10 * 60_000),
  line(instance, start + 50 * HOUR + HOUR, 1, 'reports.purge'),
];
const alertsIn = (db: string) => inDb(db, (d) => d.prepare('SELECT seq, identity FROM alerts ORDER BY seq').all() as Array<{ seq: number; identity: string }>);

it('deletes alerts older than alerts.retention (365 days), keeps younger ones, and never reuses a seq', async () => {
  const db = newDb();

  await replay(db, learnThenPurge('pod-a', T0), purgeConfig);
  await replay(db, learnThenPurge('pod-b', T0 + 200 * DAY), purgeConfig);
  const before = alertsIn(db);
  expect(new Set(before.map((a) => a.identity))).toEqual(new Set(['pod-a', 'pod-b']));

  // A year and a day after pod-a's alerts, something happens: they go, pod-b's (165 days old) stay.
  await replay(db, [line('pod-c', T0 + 2 * DAY + 366 * DAY, 1)], purgeConfig);
  expect(alertsIn(db)).toEqual(before.filter((a) => a.identity === 'pod-b'));

  // A year after pod-b's, they go too, the newest seq among them.
  await replay(db, [line('pod-c', T0 + 202 * DAY + 366 * DAY, 1)], purgeConfig);
  expect(alertsIn(db)).toEqual([]);

  // The next alert takes a seq after every one ever given, deleted ones included.
  await replay(db, learnThenPurge('pod-d', T0 + 600 * DAY), purgeConfig);
  const newest = alertsIn(db);
  expect(newest.length).toBeGreaterThan(0);
  expect(Math.min(...newest.map((a) => a.seq))).toBeGreaterThan(Math.max(...before.map((a) => a.seq)));
});

it('keeps an alert about a backdated span for alerts.retention from when it was raised', async () => {
  const db = newDb();

  // Vigil has reached day 402 when pod-a's spans of day 0 to 2 arrive (a backlog, a skewed clock):
  // their events are already past the retention, yet the SOC has just been shown the alerts.
  await replay(db, learnThenPurge('pod-b', T0 + 400 * DAY), purgeConfig);
  await replay(db, learnThenPurge('pod-a', T0), purgeConfig);
  const backdated = alertsIn(db).filter((a) => a.identity === 'pod-a');
  expect(backdated.length).toBeGreaterThan(0);

  // The sweeps of the next day keep them...
  await replay(db, [line('pod-c', T0 + 403 * DAY, 1)], purgeConfig);
  expect(alertsIn(db).filter((a) => a.identity === 'pod-a')).toEqual(backdated);
  // ...until a year after they were raised.
  await replay(db, [line('pod-c', T0 + 402 * DAY + 366 * DAY, 1)], purgeConfig);
  expect(alertsIn(db)).toEqual([]);
});

it('migration 10 keeps an upgraded database\'s alerts from their event, or the latest event raised before them', () => {
  const file = newDb();
  const old = databaseAt(file, 9);
  const insert = old.prepare("INSERT INTO alerts (id, detector, severity, identity, subject, event_time, body) VALUES (?, 'scope_drift', 'high', 'pod-a', 's', ?, '{}')");
  // In seq order: an alert of day 10, a backdated one (day 0), one of day 12.
  for (const [id, day] of [['a1', 10], ['a2', 0], ['a3', 12]] as const) insert.run(id, T0 + day * DAY);
  old.close();
  const db = openDatabase(file);
  try {
    expect(db.prepare('SELECT retain_from FROM alerts ORDER BY seq').pluck().all()).toEqual([T0 + 10 * DAY, T0 + 10 * DAY, T0 + 12 * DAY]);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'alerts' ORDER BY name").pluck().all()).toEqual(['alerts_fold', 'alerts_retain_from', 'sqlite_autoindex_alerts_1']);
  } finally {
    db.close();
  }
});

it('keeps at most baselines.maxIdentities identities: the least recently active are forgotten first', async () => {
  const db = newDb();
  const config = configSchema.parse({ baselines: { maxIdentities: 10 } });
  // An identity per run: 30 runs an hour apart, each a few calls.
  const runs = Array.from({ length: 30 }, (_, i) => `run-${String(i).padStart(2, '0')}`);
  await replay(db, runs.map((run, i) => line(run, T0 + i * HOUR, 3)), config);

  const kept = stored(db);
  expect(kept.identities.length).toBeGreaterThanOrEqual(9); // trimmed to 90% of the bound, then grown
  expect(kept.identities.length).toBeLessThanOrEqual(10);
  const latest = runs.slice(-kept.identities.length);
  expect(kept.identities.map((r) => (r as { identity: string }).identity)).toEqual(latest);
  expect(kept.baselines).toEqual(latest);
  expect(kept.members).toEqual(latest);
});
