/**
 * Learned state and alerts when a write fails part-way: what a rolled-back transaction wrote is written
 * again later, and nothing already stored is stored twice. Failures are SQLite's own (a trigger that
 * raises "database or disk is full", or `query_only`).
 */
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import type { AlertManager } from '../../src/alerts/manager.js';
import { configSchema } from '../../src/config/schema.js';
import { action, engineHarness } from './harness.js';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);

it('a subscriber that throws after an alert is stored does not get it stored twice', () => {
  const h = engineHarness(configSchema.parse({}), () => T0);
  try {
    let t = T0;
    for (let i = 0; i < 320; i++, t += 6 * MIN) h.feed([action({ identity: 'agent', time: t })]);
    const alerts = (h.engine as unknown as { alerts: AlertManager }).alerts;
    let thrown = false;
    alerts.subscribe((e) => {
      if (e.type === 'alert' && !thrown) {
        thrown = true;
        throw new Error('a subscriber failed');
      }
    });
    // A new scope is raised at once; the subscriber's error is a bug, and surfaces as one.
    expect(() => h.engine.process([action({ identity: 'agent', time: t, scopes: ['admin:all'] })])).toThrow('a subscriber failed');
    expect(h.db.prepare('SELECT count(*) FROM alerts').pluck().get()).toBe(1);
    // The store is healthy: commits go on.
    for (let i = 0; i < 3; i++) h.engine.beforeCommit();
    h.commit(false);
    expect(h.db.prepare('SELECT count(*) FROM alerts').pluck().get()).toBe(1);
  } finally {
    h.close();
  }
});

it('a reset whose transaction fails loses nothing other baselines had learned', () => {
  const h = engineHarness(configSchema.parse({ baselines: { maxHotIdentities: 3 } }), () => T0);
  try {
    let t = T0;
    h.feed([action({ identity: 'victim', time: t++ })]);
    for (let i = 0; i < 6; i++) h.feed([action({ identity: `x${i}`, time: (t += MIN) })]);
    h.commit(true);
    const hot = (h.engine.baselines as unknown as { hot: Map<string, unknown> }).hot;
    const hotIds = [...hot.keys()];
    expect(hotIds).not.toContain('victim');
    // The hot baselines learn something (dirty), then resetting the cold victim loads it: an eviction.
    h.engine.process(hotIds.map((id) => action({ identity: id, time: (t += MIN), target: `kb.new-${id}` })));
    h.db.exec(`CREATE TRIGGER full BEFORE INSERT ON identity_baselines WHEN NEW.identity = 'victim' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
    expect(() => h.operator.reset('victim')).toThrow(/disk is full/);
    h.db.exec('DROP TRIGGER full');
    h.commit(true);
    expect(hotIds.filter((id) => !h.engine.baselines.peek(id)!.counters.has(`tool\u0000kb.new-${id}`))).toEqual([]);
  } finally {
    h.close();
  }
});

it('an empty group dropped in a commit that fails is dropped by a later one, and stays gone after a restart', () => {
  const config = configSchema.parse({});
  const h = engineHarness(config, () => T0);
  try {
    for (let i = 0; i < 2; i++) h.feed([action({ identity: `pod-${i}`, time: T0 + i * MIN, peerGroup: `svc-pod-${i}` })]);
    h.commit(true);
    const rows = (g: string) => ['peer_baselines', 'peer_members', 'peer_items'].map((tbl) => h.db.prepare(`SELECT count(*) FROM ${tbl} WHERE peer_group = ?`).pluck().get(g));
    // Eight days later: pod-0 has left, and its group with it — in a commit the store refuses.
    h.engine.process([action({ identity: 'pod-1', time: T0 + 8 * DAY, peerGroup: 'svc-pod-1' })]);
    h.db.pragma('query_only = 1');
    expect(() => h.db.transaction(() => h.engine.commit(false))()).toThrow(/readonly/);
    h.engine.afterCommit(false);
    h.db.pragma('query_only = 0');
    h.feed([action({ identity: 'pod-1', time: T0 + 9 * DAY, peerGroup: 'svc-pod-1' })]);
    h.commit(true);
    expect(rows('svc-pod-0')).toEqual([0, 0, 0]);
    const restarted = h.restart();
    expect(restarted.baselines.group('svc-pod-0').members.size).toBe(0);
  } finally {
    h.close();
  }
});

it('while the store refuses writes, hot baselines pass their bound and say so; the first commit that succeeds ends it', () => {
  const h = engineHarness(configSchema.parse({ baselines: { maxHotIdentities: 5 } }), () => T0);
  try {
    let t = T0;
    for (let i = 0; i < 5; i++) h.feed([action({ identity: `pod-${i}`, time: (t += MIN) })]);
    expect(h.engine.overBound()).toBe(false);
    h.db.pragma('query_only = 1');
    // New baselines cannot be written, so none can leave memory to make room.
    for (let i = 5; i < 10; i++) h.engine.process([action({ identity: `pod-${i}`, time: (t += MIN) })]);
    expect(h.engine.baselines.hotCount).toBeGreaterThan(5);
    expect(h.engine.overBound()).toBe(true);
    h.db.pragma('query_only = 0');
    h.commit(true);
    h.engine.process([action({ identity: 'pod-10', time: (t += MIN) })]); // a load that evicts, now written
    expect(h.engine.overBound()).toBe(false);
  } finally {
    h.close();
  }
});

it('a checkpoint whose last slice rolled back is written at the next commit, not an interval later', () => {
  let wall = T0;
  const config = configSchema.parse({});
  const h = engineHarness(config, () => wall);
  try {
    h.feed([action({ identity: 'agent', time: T0 })]);
    h.commit(true);
    h.engine.process([action({ identity: 'agent', time: T0 + MIN, target: 'kb.search' })]);
    wall += config.baselines.checkpointInterval;
    // The slice is written, then the transaction fails after it (at COMMIT: the WAL cannot grow).
    const full = new Database.SqliteError('database or disk is full', 'SQLITE_FULL');
    expect(() => h.db.transaction(() => {
      h.engine.commit(false);
      throw full;
    })()).toThrow(full);
    h.engine.afterCommit(false);

    wall += 1000; // the store takes writes again, well within the interval
    h.commit(false);
    const body = h.db.prepare('SELECT body FROM identity_baselines WHERE identity = ?').pluck().get('agent') as string;
    expect(body).toContain('kb.search');
  } finally {
    h.close();
  }
});
