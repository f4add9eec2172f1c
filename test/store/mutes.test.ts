/**
 * The mutes' own rules on a real SQLite file (alerts/mutes.ts): what a mute swallows is written at the
 * group commit and survives a restart with the mute; a mute ends by the wall clock, and never lasts
 * longer than MAX_MUTE_MS; at most MAX_ACTIVE_MUTES are in force at once; a held finding muted when
 * released is counted once, however often the store refuses the release first (review45 M3).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Finding } from '../../detectors/types.js';
import { AlertManager } from '../../src/alerts/manager.js';
import { MAX_ACTIVE_MUTES, MAX_MUTE_MS, Mutes } from '../../src/alerts/mutes.js';
import { configSchema } from '../../src/config/schema.js';
import { createMetrics } from '../../src/metrics.js';
import { openDatabase } from '../../src/store/database.js';
import type { Db } from '../../src/store/database.js';
import { action } from '../detectors/harness.js';

const HOUR = 3_600_000;
let dir: string;
let db: Db;
let clock = Date.UTC(2026, 10, 23, 9, 0, 0);
const open = () => new Mutes(db, () => clock, createMetrics());
const finding = (subject: string, detector: Finding['detector'] = 'retry_storm', severity: Finding['severity'] = 'medium') => ({ detector, subject, severity }) as Finding;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-mutes-'));
  db = openDatabase(path.join(dir, 'vigil.db'));
});
afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('counts what it swallowed, kept across a restart once committed; ends by the wall clock', () => {
  const mutes = open();
  const m = mutes.add({ identity: 'a', detector: 'retry_storm', subject: null, maxSeverity: 'high', reason: 'flaky CRM today', by: 'test', forMs: 4 * HOUR })!;
  expect(mutes.swallows('a', finding('crm.internal/x'), 1000, 2)).toBe(true); // any subject of that detector
  expect(mutes.swallows('a', finding('crm.internal/x', 'scope_drift'), 1000)).toBe(false);
  expect(mutes.swallows('b', finding('crm.internal/x'), 1000)).toBe(false);
  db.transaction(() => mutes.flush())();
  mutes.afterCommit(true);

  clock += HOUR;
  const restarted = open();
  expect(restarted.list(0, 10, null, false)).toEqual([expect.objectContaining({ id: m.id, muted: 2, lastMutedAt: new Date(1000).toISOString(), endedAt: null })]);
  expect(restarted.swallows('a', finding('crm.internal/y'), 2000)).toBe(true);

  clock += 3 * HOUR; // past `until`
  expect(restarted.swallows('a', finding('crm.internal/y'), 3000)).toBe(false);
  expect(restarted.list(0, 10, null, false)).toEqual([]);
  expect(restarted.list(0, 10, 'a', true)).toEqual([expect.objectContaining({ id: m.id, muted: 3, endedAt: null })]);
  expect(restarted.end(m.id)).toMatchObject({ endedAt: null }); // already over: left as it ended
});

it('swallows findings up to its maxSeverity only; a more severe one is raised (review45 M5)', () => {
  const mutes = open();
  mutes.add({ identity: 'a', detector: 'retry_storm', subject: null, maxSeverity: 'high', reason: 'flaky CRM today', by: 'test', forMs: HOUR });
  expect(mutes.swallows('a', finding('crm.internal/x', 'retry_storm', 'high'), 1000)).toBe(true);
  expect(mutes.swallows('a', finding('crm.internal/x', 'retry_storm', 'critical'), 1000)).toBe(false);
  mutes.add({ identity: 'b', detector: 'retry_storm', subject: null, maxSeverity: 'critical', reason: 'load test', by: 'test', forMs: HOUR });
  expect(mutes.swallows('b', finding('crm.internal/x', 'retry_storm', 'critical'), 1000)).toBe(true);
  // The ceiling is kept with the mute across a restart.
  expect(open().list(0, 10, null, false).map((m) => [m.identity, m.maxSeverity, m.muted])).toEqual([['a', 'high', 0], ['b', 'critical', 0]]);
});

it('lasts at most MAX_MUTE_MS, and at most MAX_ACTIVE_MUTES are in force at once', () => {
  const mutes = open();
  const long = mutes.add({ identity: 'a', detector: 'scope_drift', subject: 'tool:x', maxSeverity: 'high', reason: 'r', by: 'test', forMs: 30 * 24 * HOUR })!;
  expect(Date.parse(long.until) - Date.parse(long.createdAt)).toBe(MAX_MUTE_MS);
  for (let i = 1; i < MAX_ACTIVE_MUTES; i++) expect(mutes.add({ identity: `id-${i}`, detector: 'scope_drift', subject: null, maxSeverity: 'high', reason: 'r', by: 'test', forMs: HOUR })).not.toBeNull();
  expect(mutes.add({ identity: 'one-too-many', detector: 'scope_drift', subject: null, maxSeverity: 'high', reason: 'r', by: 'test', forMs: HOUR })).toBeNull();
  expect(mutes.end(long.id)).toMatchObject({ endedAt: new Date(clock).toISOString() });
  expect(mutes.add({ identity: 'one-too-many', detector: 'scope_drift', subject: null, maxSeverity: 'high', reason: 'r', by: 'test', forMs: HOUR })).not.toBeNull();
  clock += 2 * HOUR; // the hour-long ones are over: room again
  expect(mutes.add({ identity: 'later', detector: 'scope_drift', subject: null, maxSeverity: 'high', reason: 'r', by: 'test', forMs: HOUR })).not.toBeNull();
});

it('a held finding muted at its release is counted once, however often the store refused the release first', () => {
  const metrics = createMetrics();
  const mutes = new Mutes(db, () => clock, metrics);
  const manager = new AlertManager(db, configSchema.parse({}), metrics, () => clock, () => Number.NEGATIVE_INFINITY);
  manager.setMutes(mutes);
  const f = { detector: 'scope_drift', severity: 'medium', surprise: 0.5, subject: 'tool:x', title: 't', explanation: 'e', traceIds: [], spanIds: [], details: {}, tags: [], holdUntil: clock } as Finding;
  manager.report(f, action({ identity: 'a', time: clock - HOUR }), 'a'); // held: a new item waits for a rollout
  const m = mutes.add({ identity: 'a', detector: 'scope_drift', subject: null, maxSeverity: 'high', reason: 'r', by: 'test', forMs: HOUR })!;
  const [held] = manager.allHeld();
  db.pragma('query_only = ON'); // the store refuses writes
  for (let i = 0; i < 3; i++) expect(() => manager.release(held, { ...held })).toThrow(Database.SqliteError);
  db.pragma('query_only = OFF');
  manager.release(held, { ...held });
  expect(manager.allHeld()).toEqual([]);
  expect(mutes.list(0, 10, null, false)).toEqual([expect.objectContaining({ id: m.id, muted: 1 })]);
  expect(db.prepare('SELECT count(*) FROM alerts').pluck().get()).toBe(0);
});
