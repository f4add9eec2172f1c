/**
 * An identity's (and its peer group's) history starts at its first action in event time, but a late
 * action moves it back by at most `time.lateness`: one span dated days back (a buffered exporter, a clock
 * stepped back) must not make a new identity mature at once (review40 M2).
 */
import { expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { action, engineHarness } from './harness.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 2, 2, 8, 0, 0);
const config = configSchema.parse({});
const ID = 'spiffe://acme/newsvc-1';
const step = (time: number, access: 'read' | 'delete' = 'read') => action({ identity: ID, peerGroup: 'newsvc', time, target: 'crm.search', access });

it('a late action dated days back does not give a new identity days of history', () => {
  const h = engineHarness(config, () => T0);
  try {
    for (let i = 0; i < 320; i++) h.feed([step(T0 + i * 10_000)]); // 53 minutes, past minActions, far from minAge (24 h)
    h.feed([step(T0 - 2 * 24 * 60 * MIN)]); // exported after them, dated two days back
    const b = h.engine.baselines.known(ID)!;
    expect(b.firstSeen).toBe(T0 - config.time.lateness);
    expect(b.isMature(h.engine.settings)).toBe(false);
    expect(h.engine.baselines.knownGroup('newsvc')!.history.firstSeen).toBe(T0 - config.time.lateness);
    // Still learning: its first delete is learned, not judged against 53 minutes of its own history.
    h.feed([step(T0 + 54 * MIN, 'delete')]);
    h.engine.finish();
    expect(h.alerts).toEqual([]);
  } finally {
    h.close();
  }
});

it('the operator reads each identity\'s phase: judged against itself, its peer group, or still learning (review41 M4)', () => {
  const h = engineHarness(config, () => T0);
  try {
    for (let i = 0; i < 320; i++) h.feed([action({ identity: 'old', peerGroup: 'g', time: T0 + i * 6 * MIN })]); // 32 hours
    h.feed([action({ identity: 'new', peerGroup: 'g', time: T0 + 33 * 60 * MIN })]);
    h.feed([action({ identity: 'alone', peerGroup: 'fresh', time: T0 + 33 * 60 * MIN })]);
    const rec = (identity: string, peerGroup: string, actions = 1, days = 0) => ({ identity, peerGroup, actions, firstSeen: T0, lastSeen: T0 + days * 24 * 60 * MIN, baselineSince: null, actionsBefore: 0 });
    // From the baselines in memory.
    expect([h.operator.phase(rec('old', 'g')), h.operator.phase(rec('new', 'g')), h.operator.phase(rec('alone', 'fresh'))]).toEqual(['own', 'peer', 'learning']);
    // From the record alone, for identities not in memory (a page of the list reads no baseline).
    expect([h.operator.phase(rec('cold', 'g', 400, 2)), h.operator.phase(rec('cold-new', 'g')), h.operator.phase(rec('cold-alone', 'none'))]).toEqual(['own', 'peer', 'learning']);
    // A reset counts from its own time and actions (review44 L1): 400 actions over 2 days, reset an hour ago after 390.
    const reset = { ...rec('cold-reset', 'none', 400, 2), baselineSince: T0 + 47 * 60 * MIN, actionsBefore: 390 };
    expect(h.operator.phase(reset)).toBe('learning');
    expect(h.operator.phase({ ...reset, actions: 390 + config.baselines.minActions, baselineSince: T0 })).toBe('own');
  } finally {
    h.close();
  }
});
