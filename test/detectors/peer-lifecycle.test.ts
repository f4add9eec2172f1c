/**
 * Peer groups of a fleet whose instances come and go: a group of short-lived instances judges a new
 * one by the group's own history; members idle for `baselines.peerIdleAfter` leave, so a rollout is
 * measured against the members that still run, and an item only departed members used is no longer
 * "used by peers"; a member that comes back counts again.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Action } from '../../src/actions/types.js';
import { configSchema } from '../../src/config/schema.js';
import { action, engineHarness, type EngineHarness } from './harness.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const GROUP = 'support-agent';

const config = configSchema.parse({ zones: { secrets: ['vault.*'], crm: ['crm.internal'] }, sensitive: { zones: ['secrets'] } });

/** One tool call (its own trace) of `identity` at `time`. */
const tool = (identity: string, time: number, name: string): Action => action({ identity, time, peerGroup: GROUP, target: name });

let h: EngineHarness;
beforeEach(() => {
  h = engineHarness(config, () => T0);
});
afterEach(() => h.close());
const feed: EngineHarness['feed'] = (actions) => h.feed(actions);

const drift = () => h.alerts.filter((a) => a.detector === 'scope_drift');

describe('a fleet of short-lived instances', () => {
  /** 60 instances, one an hour, each running 20 minutes: 10 crm.search calls, never old enough to mature. */
  function shortLivedFleet(): number {
    for (let i = 0; i < 60; i++) {
      const start = T0 + i * HOUR;
      feed(Array.from({ length: 10 }, (_, j) => tool(`${GROUP}/run-${i}`, start + j * 2 * MIN, 'crm.search')));
    }
    return T0 + 60 * HOUR;
  }

  it('judges a new instance by the group history once the group has shown minAge and minActions', () => {
    const now = shortLivedFleet();
    const group = h.engine.baselines.group(GROUP);
    expect(group.mature.size).toBe(0); // no instance ever had 300 actions of its own
    expect(drift()).toEqual([]); // nor were the later instances, doing what the earlier ones did, alerted

    feed([tool(`${GROUP}/run-new`, now, 'crm.search'), tool(`${GROUP}/run-new`, now + MIN, 'vault.read')]);
    h.engine.finish();
    expect(drift()).toHaveLength(1);
    expect(drift()[0].identity).toBe(`${GROUP}/run-new`);
    expect(drift()[0].evidence.subject).toBe('tool:vault.read');
    expect(drift()[0].explanation).toMatch(/none of the 60 other identities of its peer group/);
  });

  it('a fleet paused longer than peerIdleAfter comes back to what it knew: the next instance is judged by it (review40 H1)', () => {
    const now = shortLivedFleet() + 8 * DAY; // a holiday: no instance ran for 8 days
    feed([tool(`${GROUP}/run-late`, now, 'crm.search')]);
    const group = h.engine.baselines.group(GROUP);
    // The pause does not count as idleness: the instances before it are still the group's members.
    expect(group.members.size).toBe(61);
    expect(group.users('tool\u0000crm.search')).toBe(61);
    feed([tool(`${GROUP}/run-late`, now + MIN, 'vault.read')]);
    h.engine.finish();
    expect(drift().map((a) => [a.identity, a.evidence.subject])).toEqual([[`${GROUP}/run-late`, 'tool:vault.read']]);
    // They leave once the group has been active peerIdleAfter without them.
    for (let t = now + HOUR; t <= now + 8 * DAY; t += 6 * HOUR) feed([tool(`${GROUP}/run-late`, t, 'crm.search')]);
    expect([...group.members.keys()]).toEqual([`${GROUP}/run-late`]);
  });

  it('remembers its pauses across a restart', () => {
    const now = shortLivedFleet() + 8 * DAY;
    feed([tool(`${GROUP}/run-late`, now, 'crm.search')]);
    h.commit(true);
    const group = h.restart().baselines.group(GROUP);
    expect(group.pauses).toEqual([[T0 + 59 * HOUR + 18 * MIN, now]]); // from the last instance's last call
    expect(group.idleMembers(now - 7 * DAY, 100)).toEqual([]);
  });

  it('does not judge before the group has that much history', () => {
    for (let i = 0; i < 10; i++) feed([tool(`${GROUP}/run-${i}`, T0 + i * HOUR, 'crm.search')]);
    feed([tool(`${GROUP}/run-new`, T0 + 11 * HOUR, 'vault.read')]);
    h.engine.finish();
    expect(drift()).toEqual([]);
  });
});

describe('idle members leave their peer group', () => {
  const members = Array.from({ length: 20 }, (_, i) => `${GROUP}/agent-${i}`);
  const active = members.slice(0, 5);
  const departed = members.slice(5);

  /**
   * 20 members learn for 2.5 days (300 actions each, so every one is judged against itself); the last 15
   * also use legacy.export. Then only the first 5 keep working, every 6 hours, for 8 more days.
   */
  function fleetThatShrank(): number {
    for (let i = 0; i < 300; i++) {
      const t = T0 + i * 12 * MIN;
      feed(members.map((m) => tool(m, t, 'crm.search')));
      if (i % 50 === 0) feed(departed.map((m) => tool(m, t + MIN, 'legacy.export')));
    }
    const quiet = T0 + 300 * 12 * MIN;
    for (let t = quiet; t < quiet + 8 * DAY; t += 6 * HOUR) feed(active.map((m) => tool(m, t, 'crm.search')));
    return quiet + 8 * DAY;
  }

  it('counts only the members that still act, so the active ones adopting a tool is a rollout', () => {
    const now = fleetThatShrank();
    const group = h.engine.baselines.group(GROUP);
    expect([...group.members.keys()].sort()).toEqual([...active].sort());
    expect(group.users('tool\u0000legacy.export')).toBe(0);
    expect(group.users('tool\u0000crm.search')).toBe(5);

    // Had the 15 idle members still counted, 4 adopters would fall short of 30% of 19 peers.
    feed(active.map((m, i) => tool(m, now + i * MIN, 'kb.search')));
    h.engine.finish();
    expect(drift()).toEqual([]);
  });

  it('an item only departed members used is no longer the peers\' item; a returning member counts again', () => {
    const now = fleetThatShrank();
    feed([tool(`${GROUP}/agent-new`, now, 'legacy.export')]); // held for a rollout, raised when no peer adopts it

    // A departed member comes back: its baseline knows legacy.export, and its group counts it again.
    feed([tool(departed[0], now + HOUR, 'legacy.export')]);
    const group = h.engine.baselines.group(GROUP);
    expect(group.members.has(departed[0])).toBe(true);
    expect(group.users('tool\u0000legacy.export')).toBe(1);
    feed([tool(`${GROUP}/agent-newer`, now + 2 * HOUR, 'legacy.export')]);
    h.engine.finish();
    // Only the new instance is alerted: neither the returning member nor the next new one.
    expect(drift().map((a) => [a.identity, a.evidence.subject])).toEqual([[`${GROUP}/agent-new`, 'tool:legacy.export']]);
  });

  it('departures survive a restart', () => {
    fleetThatShrank();
    h.commit(true);
    const restarted = h.restart();
    const group = restarted.baselines.group(GROUP);
    expect([...group.members.keys()].sort()).toEqual([...active].sort());
    expect(group.users('tool\u0000legacy.export')).toBe(0);
    expect(group.hasBaseline({ minActions: 300, minAgeMs: DAY }, `${GROUP}/agent-new`)).toBe(true);
  });
});

it('a group left with no member and no item is deleted (a service.name per pod must not pile up groups)', () => {
  for (let i = 0; i < 3; i++) feed([action({ identity: `pod-${i}`, time: T0 + i * MIN, peerGroup: `svc-pod-${i}` })]);
  h.commit(true);
  const groups = () => h.db.prepare('SELECT peer_group FROM peer_baselines ORDER BY peer_group').pluck().all();
  expect(groups()).toEqual(['svc-pod-0', 'svc-pod-1', 'svc-pod-2']);
  // Eight days later only pod-2 acts again: the other two pods left, and their groups with them.
  feed([action({ identity: 'pod-2', time: T0 + 8 * DAY, peerGroup: 'svc-pod-2' })]);
  h.commit(true);
  expect(groups()).toEqual(['svc-pod-2']);
  expect(h.db.prepare('SELECT DISTINCT peer_group FROM peer_members').pluck().all()).toEqual(['svc-pod-2']);
  expect(h.db.prepare("SELECT count(*) FROM peer_items WHERE peer_group != 'svc-pod-2'").pluck().get()).toBe(0);
});

describe('forgotten items', () => {
  it('are dropped from the baseline as it is written, and from the group once no one uses them', () => {
    // Two days of 500 distinct tools (an agent browsing), then 100 days of silence.
    for (let i = 0; i < 500; i++) feed([tool(`${GROUP}/browser`, T0 + i * 6 * MIN, `site-${i}.fetch`)]);
    const later = T0 + 100 * DAY;
    feed([tool(`${GROUP}/browser`, later, 'crm.search')]);
    h.commit(true); // written: counters decayed below forgetBelow are pruned

    const b = h.engine.baselines.peek(`${GROUP}/browser`)!;
    // crm.search, new to it, raised a finding (held for a rollout) and is not learned either.
    expect([...b.counters.keys()].filter((k) => k.startsWith('tool'))).toEqual([]);
    const group = h.engine.baselines.group(GROUP);
    expect(group.users('tool\u0000site-7.fetch')).toBe(0);

    // The next scan for idle members (a 24th of peerIdleAfter later) drops the items no one uses.
    feed([tool(`${GROUP}/browser`, later + 8 * HOUR, 'crm.search')]);
    h.commit(true);
    expect(group.items.has('tool\u0000site-7.fetch')).toBe(false);
    const rows = h.db.prepare('SELECT item FROM peer_items ORDER BY item').pluck().all() as string[];
    // crm.search was tried just now (rollout evidence); its usual read class is still well remembered.
    expect(rows).toEqual(['access\u0000*|read', 'tool\u0000crm.search']);
    const body = h.db.prepare('SELECT body FROM identity_baselines WHERE identity = ?').pluck().get(`${GROUP}/browser`) as string;
    expect(body).not.toContain('site-7.fetch');
  });
});
