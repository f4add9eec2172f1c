/**
 * A held finding released by the wall clock becomes an alert in a transaction of its own, before the
 * group commit: a commit that fails and rolls back must not take back an alert already announced (its
 * row, its seq, its webhook outbox entry). A release the store refuses leaves the finding held.
 */
import { expect, it } from 'vitest';
import { alertScore } from '../../detectors/severity.js';
import { configSchema } from '../../src/config/schema.js';
import type { DetectionEngine } from '../../src/detect/engine.js';
import { action, engineHarness } from './harness.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const config = configSchema.parse({});
const tool = (time: number, target: string) => action({ identity: 'agent', time, target });

/** 32 hours of crm.search, then kb.export, new: held for a rollout (rolloutGrace, 1 hour). Returns its time. */
function learnThenUseNewTool(engine: DetectionEngine): number {
  let t = T0;
  for (let i = 0; i < 320; i++, t += 6 * MIN) engine.process([tool(t, 'crm.search')]);
  engine.process([tool(t, 'kb.export')]);
  return t;
}

it('is stored and announced outside the group commit, so a failed commit does not roll it back', () => {
  let wall = T0;
  const { db, engine, alerts: announced, close } = engineHarness(config, () => wall, true);
  try {
    const t = learnThenUseNewTool(engine);
    expect(announced).toEqual([]);

    wall = t + 2 * HOUR; // the hold has ended by the wall clock; the identity has gone quiet
    engine.beforeCommit();
    expect(() =>
      db.transaction(() => {
        engine.commit(false);
        throw new Error('disk I/O error'); // the group commit fails and rolls back
      })(),
    ).toThrow('disk I/O error');

    expect(announced.map((a) => a.evidence.subject)).toEqual(['tool:kb.export']);
    const stored = db.prepare('SELECT seq FROM alerts').pluck().all();
    expect(stored).toEqual([announced[0].seq]);
    expect(db.prepare('SELECT count(*) FROM held_findings').pluck().get()).toBe(0);
  } finally {
    close();
  }
});

it('stays held while the store refuses the release, and is raised once when it takes writes again', () => {
  let wall = T0;
  const { db, engine, alerts: announced, close } = engineHarness(config, () => wall, true);
  try {
    const t = learnThenUseNewTool(engine);
    wall = t + 2 * HOUR;

    db.pragma('query_only = 1'); // every write fails with SQLITE_READONLY, as on a full or read-only disk
    expect(() => engine.beforeCommit()).toThrow(/readonly/);
    engine.process([tool(t + 1, 'crm.search')]); // a release tried while judging fails quietly too
    expect(announced).toEqual([]);
    expect(db.prepare('SELECT count(*) FROM held_findings').pluck().get()).toBe(1);

    db.pragma('query_only = 0');
    engine.beforeCommit();
    engine.beforeCommit();
    expect(announced.map((a) => a.evidence.subject)).toEqual(['tool:kb.export']);
    expect(db.prepare('SELECT seq FROM alerts').pluck().all()).toEqual([announced[0].seq]);
    expect(db.prepare('SELECT count(*) FROM held_findings').pluck().get()).toBe(0);
  } finally {
    close();
  }
});

it('in one batch spanning hours (a replay), a hold that ended before a later finding is decided first', () => {
  const { engine, alerts: announced, close } = engineHarness(config, () => T0);
  try {
    let t = T0;
    const batch = [];
    for (let i = 0; i < 320; i++, t += 6 * MIN) batch.push(tool(t, 'crm.search'));
    batch.push(tool(t, 'kb.export')); // new: held for an hour
    batch.push(action({ identity: 'agent', time: t + 90 * MIN, target: 'crm.search', scopes: ['admin:all'] })); // new scope: raised at once
    batch.push(tool(t + 2 * HOUR, 'kb.export')); // after the hold and the suppression window: an alert of its own
    engine.process(batch);
    engine.finish();
    expect(announced.map((a) => [a.evidence.subject, a.count])).toEqual([['tool:kb.export', 1], ['scope:admin:all', 1], ['tool:kb.export', 1]]);
  } finally {
    close();
  }
});

it('raises a finding held before the score had severity bands (its surprise stored as `score`) with a score in its band', () => {
  let wall = T0;
  const h = engineHarness(config, () => wall, true);
  try {
    const t = learnThenUseNewTool(h.engine);
    h.commit(false);
    // The row as the previous version wrote it: the finding's surprise under `score`.
    const { fold_key: key, body } = h.db.prepare('SELECT fold_key, body FROM held_findings').get() as { fold_key: string; body: string };
    const old = JSON.parse(body);
    old.finding.score = old.finding.surprise;
    delete old.finding.surprise;
    h.db.prepare('UPDATE held_findings SET body = ? WHERE fold_key = ?').run(JSON.stringify(old), key);

    const restarted = h.restart();
    wall = t + 2 * HOUR;
    restarted.beforeCommit();
    expect(h.alerts).toHaveLength(1);
    expect(h.alerts[0]).toMatchObject({ severity: 'medium', score: Math.round(alertScore('medium', old.finding.score) * 1000) / 1000 });
    expect(h.alerts[0].score).toBeGreaterThan(0.25);
  } finally {
    h.close();
  }
});

it('traffic hours behind the wall clock (a backfill) keeps its hold while it flows; the wall clock ends it once the stream is quiet, or after as long again (review37 F1)', () => {
  const wall = { now: T0 + 10 * 24 * HOUR }; // event times 10 days behind
  const { engine, alerts: announced, close } = engineHarness(config, () => wall.now, true);
  try {
    let t = learnThenUseNewTool(engine);
    // The backfill goes on, a second of wall time per export, for half an hour of its event time: the hold
    // is decided by event time (the peers' adoptions would come in it), not by the clock 10 days ahead.
    for (let i = 0; i < 300; i++) {
      wall.now += 1000;
      engine.process([tool((t += 6000), 'crm.search')]);
      engine.beforeCommit();
    }
    expect(announced).toEqual([]); // before: decided at the first commit
    wall.now += 4000;
    engine.beforeCommit();
    expect(announced).toEqual([]); // 4 s without actions: not yet quiet
    wall.now += 1000; // 5 s: the stream has stopped (the end of a backfill, or of a test's fixture)
    engine.beforeCommit();
    expect(announced.map((a) => a.evidence.subject)).toEqual(['tool:kb.export']);
  } finally {
    close();
  }
});

it("a steady stream that never reaches the hold's end in event time has it decided after as long in wall time", () => {
  const wall = { now: T0 + 10 * 24 * HOUR };
  const { engine, alerts: announced, close } = engineHarness(config, () => wall.now, true);
  try {
    const t = learnThenUseNewTool(engine);
    // Another identity's actions keep coming, every 2 s, but stamped at the same old moment.
    const other = (n: number) => action({ identity: 'other', time: t, target: 'crm.search', traceId: n.toString(16).padStart(32, '0') });
    for (let s = 0; s < 3600 + 300; s += 2) {
      wall.now += 2000;
      engine.process([other(s)]);
      engine.beforeCommit();
      if (s === 3600) expect(announced).toEqual([]);
    }
    expect(announced.map((a) => a.evidence.subject)).toEqual(['tool:kb.export']); // rolloutGrace + lateness of wall time
  } finally {
    close();
  }
});

it("a peer group's hold ends by that group's event time, not by another group's live traffic (review39 M4)", () => {
  // The group's traffic is 4 hours behind the clock: a Collector's queue drained after an outage.
  const wall = { now: T0 + 36 * HOUR };
  const { engine, alerts: announced, close } = engineHarness(config, () => wall.now, true);
  try {
    let t = learnThenUseNewTool(engine); // group 'agents'; its kb.export, at T0 + 32 h, is held for an hour
    const live = (time: number) => action({ identity: 'live-1', peerGroup: 'live-cluster', time, target: 'crm.search' });
    // Ten minutes of both: the live cluster is hours past the hold's end, the lagging group is not.
    for (let i = 0; i < 600; i++) {
      wall.now += 1000;
      engine.process([live(wall.now)]);
      if (i % 10 === 0) engine.process([tool((t += 6000), 'crm.search')]);
      engine.beforeCommit();
    }
    expect(announced).toEqual([]); // before: raised at the first live export, before the group's peers could adopt it
    // The lagging group's own time passes the hold's end: decided (no peer took kb.export up: raised).
    engine.process([tool(t + HOUR, 'crm.search')]);
    expect(announced.map((a) => a.evidence.subject)).toEqual(['tool:kb.export']);
  } finally {
    close();
  }
});
