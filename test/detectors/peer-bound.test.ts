/**
 * `baselines.maxPeerMembers` and `maxPeerGroups`: peer groups and their members are bounded, whatever
 * makes them many (an identity per run, a `service.name` per pod, forged identities). Over a bound the
 * least recently active members (or groups) leave early, as idle members do, and a group left empty goes
 * whole, so memory and the peer tables stop growing with the number of identities ever seen.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Action } from '../../src/actions/types.js';
import { configSchema } from '../../src/config/schema.js';
import { action, engineHarness, type EngineHarness } from './harness.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const BOUND = 10;
const config = configSchema.parse({ baselines: { maxPeerMembers: BOUND } });

let h: EngineHarness;
let evicted = 0;
beforeEach(() => {
  h = engineHarness(config, () => T0);
  evicted = 0;
  h.engine.onMembersEvicted = (n) => (evicted += n);
});
afterEach(() => h.close());

const run = (i: number) => `support-agent/run-${i}`;
/** Run `i`'s one minute of work (two tool calls) in group `peerGroup`, starting at T0 + i minutes. */
const runActions = (i: number, peerGroup: string, tools = ['crm.search', 'kb.search']): Action[] =>
  tools.map((target, j) => action({ identity: run(i), peerGroup, time: T0 + i * MIN + j * 1000, target }));
const rows = (sql: string) => h.db.prepare(sql).pluck().all();

it('an identity per run: the group keeps its most recently active members, in memory and in SQLite', () => {
  // Runs 0-9 use legacy.export as well; the later runs never do.
  for (let i = 0; i < 40; i++) h.feed(runActions(i, 'support-agent', i < 10 ? ['crm.search', 'legacy.export'] : undefined));
  h.commit(true);

  const group = h.engine.baselines.group('support-agent');
  const members = [...group.members.keys()];
  expect(members.length).toBeLessThanOrEqual(BOUND);
  expect(members.length).toBeGreaterThanOrEqual(BOUND * 0.9); // trimmed to 90% of the bound, then grown again
  expect(h.engine.baselines.members).toBe(members.length);
  // The ones that stayed are the latest runs, and the evictions counted the others.
  expect(members.sort()).toEqual(Array.from({ length: members.length }, (_, k) => run(40 - members.length + k)).sort());
  expect(evicted).toBe(40 - members.length);
  expect((rows('SELECT identity FROM peer_members') as string[]).sort()).toEqual(members);
  // What only the departed runs used no longer counts as used by peers.
  expect(group.users('tool\u0000legacy.export')).toBe(0);
  expect(group.users('tool\u0000crm.search')).toBe(members.length);

  // A restart counts the members it restores against the bound.
  const restarted = h.restart();
  expect(restarted.baselines.members).toBe(members.length);
});

it('a service.name per pod: the least recently active groups go whole, so groups do not pile up', () => {
  const perPod = engineHarness(configSchema.parse({ baselines: { maxPeerGroups: BOUND } }), () => T0);
  try {
    const { engine, db } = perPod;
    engine.baselines.group('svc-without-members'); // a group that holds no member: the first to go
    for (let i = 0; i < 40; i++) perPod.feed(runActions(i, `svc-pod-${i}`));
    perPod.commit(true);

    const groups = (db.prepare('SELECT peer_group FROM peer_baselines').pluck().all() as string[]).sort();
    expect(groups.length).toBeLessThanOrEqual(BOUND);
    expect(groups.length).toBeGreaterThanOrEqual(BOUND * 0.9);
    expect(engine.baselines.groupCount).toBe(groups.length);
    expect(engine.baselines.members).toBe(groups.length); // one pod each
    // The groups kept are the latest pods'.
    expect(groups).toEqual(Array.from({ length: groups.length }, (_, k) => `svc-pod-${40 - groups.length + k}`).sort());
    // Not one row is left of an older pod's group.
    for (const table of ['peer_baselines', 'peer_members', 'peer_items']) {
      expect(db.prepare(`SELECT count(*) FROM ${table} WHERE peer_group = 'svc-pod-0'`).pluck().get()).toBe(0);
    }
  } finally {
    perPod.close();
  }
});

it('an evicted member that acts again rejoins with what its baseline learned', () => {
  for (let i = 0; i < 40; i++) h.feed(runActions(i, 'support-agent', i === 0 ? ['crm.search', 'legacy.export'] : undefined));
  const group = h.engine.baselines.group('support-agent');
  expect(group.members.has(run(0))).toBe(false);
  expect(group.users('tool\u0000legacy.export')).toBe(0);

  h.feed([action({ identity: run(0), peerGroup: 'support-agent', time: T0 + 41 * MIN, target: 'crm.search' })]);
  expect(group.members.has(run(0))).toBe(true);
  expect(group.users('tool\u0000legacy.export')).toBe(1);
  expect(h.engine.baselines.members).toBe(group.members.size);
});

it('under the bound nobody leaves early', () => {
  for (let i = 0; i < BOUND; i++) h.feed(runActions(i, 'support-agent'));
  h.commit(true);
  expect(h.engine.baselines.members).toBe(BOUND);
  expect(evicted).toBe(0);
});

// Regressions found by review.

it('a bound of 1 keeps the group, or the member, that acted last (90% of 1 is not 0)', () => {
  for (const bound of [{ maxPeerGroups: 1 }, { maxPeerMembers: 1 }]) {
    const small = engineHarness(configSchema.parse({ baselines: bound }), () => T0);
    try {
      small.feed([action({ identity: 'old-pod', peerGroup: 'maxPeerGroups' in bound ? 'svc-old' : 'G', time: T0 })]);
      small.feed([action({ identity: 'new-pod', peerGroup: 'maxPeerGroups' in bound ? 'svc-new' : 'G', time: T0 + MIN })]);
      expect(small.engine.baselines.members).toBe(1);
      expect(small.engine.baselines.groupCount).toBe(1);
      expect(small.engine.baselines.group('maxPeerGroups' in bound ? 'svc-new' : 'G').members.has('new-pod')).toBe(true);
    } finally {
      small.close();
    }
  }
});

it('a member that left before its baseline is written does not take its pruned items from those who stay', () => {
  const HOUR = 60 * MIN;
  const K = 'tool\u0000legacy.export';
  const decaying = engineHarness(configSchema.parse({ baselines: { maxPeerMembers: 10, halfLife: '1h' } }), () => T0);
  try {
    const feed = (identity: string, time: number, target = 'crm.search') => decaying.feed([action({ identity, peerGroup: 'G', time, target })]);
    // x learns legacy.export, then (5 half-lives later, the count decayed below forgetBelow) acts again.
    feed('x', T0, 'legacy.export');
    feed('x', T0 + 5 * HOUR);
    let t = T0 + 5 * HOUR;
    for (let i = 0; i < 2; i++) feed(`f${i}`, (t += MIN));
    feed('y', (t += MIN), 'legacy.export'); // y uses legacy.export now, and keeps it
    const group = decaying.engine.baselines.group('G');
    expect(group.users(K)).toBe(2);
    for (let i = 2; i < 10; i++) feed(`f${i}`, (t += MIN));
    // Over the bound x, the least recently active, has left; y stays.
    expect(group.members.has('x')).toBe(false);
    expect(group.users(K)).toBe(1);
    decaying.commit(true); // the checkpoint writes x, pruning legacy.export from its baseline
    expect(group.users(K)).toBe(1);
    expect(decaying.db.prepare("SELECT users FROM peer_items WHERE peer_group = 'G' AND item = ?").pluck().get(K)).toBe(1);
  } finally {
    decaying.close();
  }
});

it('a flood of identities in one group is trimmed there, not by emptying a quiet group', () => {
  // A quiet group of three, active an hour before a per-run flood of 40 in another group.
  for (let i = 0; i < 3; i++) h.feed([action({ identity: `billing-${i}`, peerGroup: 'billing-agent', time: T0 - 60 * MIN + i })]);
  for (let i = 0; i < 40; i++) h.feed(runActions(i, 'support-agent'));
  expect(h.engine.baselines.members).toBeLessThanOrEqual(BOUND);
  expect([...h.engine.baselines.group('billing-agent').members.keys()].sort()).toEqual(['billing-0', 'billing-1', 'billing-2']);
});
