/**
 * An identity whose actions name another peer group: a renamed service moves its identities (with what
 * they learned, counted in one group only), an identity two services share stays where it is, and
 * whatever it is judged for is judged in the group it is in. Detection engine over a real SQLite file.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { MOVE_AFTER_ACTIONS, MOVE_AFTER_MS } from '../../baselines/peer-move.js';
import type { Action } from '../../src/actions/types.js';
import { configSchema } from '../../src/config/schema.js';
import { action, engineHarness, type EngineHarness } from './harness.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const GROUP = 'support-agent';
const config = configSchema.parse({});

let wall = T0;
let h: EngineHarness;
beforeEach(() => {
  wall = T0;
  h = engineHarness(config, () => wall);
});
afterEach(() => h.close());
const feed: EngineHarness['feed'] = (actions) => h.feed(actions);
const tool = (identity: string, time: number, name: string): Action => action({ identity, time, peerGroup: GROUP, target: name });

const ID = 'support-agent/agent-1';
const K = 'tool\u0000legacy.export';
const inGroup = (peerGroup: string, time: number, target = 'crm.search') => action({ identity: ID, time, peerGroup, target });
/** Two days in `support-agent` using crm.search and legacy.export. */
function history(): number {
  for (let i = 0; i < 100; i++) feed([tool(ID, T0 + i * 30 * MIN, i % 10 === 0 ? 'legacy.export' : 'crm.search')]);
  return T0 + 100 * 30 * MIN;
}
/** ...then every action names `support-v2`: the identity moves with its MOVE_AFTER_ACTIONSth, MOVE_AFTER_MS on. */
function renamed(): number {
  const start = history();
  const times = Array.from({ length: MOVE_AFTER_ACTIONS }, (_, i) => start + Math.round((i * MOVE_AFTER_MS) / (MOVE_AFTER_ACTIONS - 1)));
  for (const t of times.slice(0, -1)) feed([inGroup('support-v2', t)]);
  expect(h.engine.baselines.group(GROUP).members.has(ID)).toBe(true); // not yet
  feed([inGroup('support-v2', times.at(-1)!)]);
  return times.at(-1)!;
}

it('moves to the new group with what it learned, and is counted in one group only', () => {
  renamed();
  const { baselines } = h.engine;
  const [old, now] = [baselines.group(GROUP), baselines.group('support-v2')];
  expect(old.members.has(ID)).toBe(false);
  expect(old.users(K)).toBe(0);
  expect(now.members.has(ID)).toBe(true);
  expect(now.users(K)).toBe(1);
  expect(baselines.members).toBe(1);
  h.commit(true);
  expect(h.db.prepare('SELECT peer_group FROM identity_baselines WHERE identity = ?').pluck().get(ID)).toBe('support-v2');
  expect(h.db.prepare('SELECT peer_group FROM peer_members WHERE identity = ?').pluck().all(ID)).toEqual(['support-v2']);
});

it('what it learns next, and forgetting it, touch the group it is in', () => {
  const later = renamed();
  feed([inGroup('support-v2', later + MIN, 'kb.search')]);
  const now = h.engine.baselines.group('support-v2');
  expect(now.users('tool\u0000kb.search')).toBe(1);
  expect(h.engine.baselines.group(GROUP).users('tool\u0000kb.search')).toBe(0);
  h.engine.forget(ID);
  expect(now.members.has(ID)).toBe(false);
  expect(now.users(K)).toBe(0);
  expect(h.engine.baselines.members).toBe(0);
});

it('an identity two services share, each naming its own group, stays in its first group', () => {
  let t = history();
  // The services take turns for a day: one action each, then runs of a few actions (a trace each).
  for (let i = 0; i < 200; i++) feed([inGroup(i % 2 === 0 ? 'support-v2' : GROUP, (t += MIN))]);
  for (let i = 0; i < 100; i++) feed(Array.from({ length: 5 }, () => inGroup(i % 2 === 0 ? 'support-v2' : GROUP, (t += 2 * MIN))));
  const { baselines } = h.engine;
  expect(baselines.group(GROUP).members.has(ID)).toBe(true);
  expect(baselines.group(GROUP).users(K)).toBe(1);
  expect(baselines.group('support-v2').members.has(ID)).toBe(false);
  expect(baselines.members).toBe(1);
});

it('a streak broken by an action naming its own group starts again', () => {
  let t = history();
  for (let i = 0; i < MOVE_AFTER_ACTIONS - 1; i++) feed([inGroup('support-v2', (t += 5 * MIN))]);
  feed([inGroup(GROUP, (t += MIN))]);
  for (let i = 0; i < MOVE_AFTER_ACTIONS - 1; i++) feed([inGroup('support-v2', (t += 5 * MIN))]);
  expect(h.engine.baselines.group(GROUP).members.has(ID)).toBe(true);
  feed([inGroup('support-v2', (t += 5 * MIN))]);
  expect(h.engine.baselines.group('support-v2').members.has(ID)).toBe(true);
});

it('an action naming no group leaves it where it is', () => {
  const later = renamed();
  feed([inGroup('', later + MIN)]);
  expect(h.engine.baselines.group('support-v2').members.has(ID)).toBe(true);
  expect(h.engine.baselines.members).toBe(1);
});

it('an identity two services share stays put when the other service\'s 12-minute trace arrives whole', () => {
  let t = history();
  const start = t;
  // Service A acts every minute as it happens; service B's run (9 spans over 12 minutes) arrives once done.
  for (let i = 1; i <= 12; i++) feed([inGroup(GROUP, (t = start + i * MIN))]);
  feed(Array.from({ length: 9 }, (_, i) => inGroup('support-v2', start + i * 90_000)));
  // In event time the identity never named only support-v2, not for a minute.
  expect(h.engine.baselines.peek(ID)!.peerGroup).toBe(GROUP);
  expect(h.engine.baselines.group(GROUP).members.has(ID)).toBe(true);
});

it('a backdated action does not lengthen a streak past the latest action naming its own group', () => {
  const t = history();
  feed([inGroup(GROUP, t)]);
  feed([inGroup('support-v2', t + 1000), inGroup('support-v2', t - 20 * MIN)]); // a backlog's span of 20 minutes ago
  for (let i = 0; i < MOVE_AFTER_ACTIONS; i++) feed([inGroup('support-v2', t + 2000 + i * 1000)]);
  expect(h.engine.baselines.peek(ID)!.peerGroup).toBe(GROUP);
});

it('a held finding is decided in the group the identity is in, not the one its action named', () => {
  let t = T0;
  const member = (n: number) => `${GROUP}/agent-${n}`;
  for (let i = 0; i < 320; i++, t += 6 * MIN) feed(Array.from({ length: 5 }, (_, n) => tool(member(n), t + n, 'crm.search')));
  // agent-0 starts using kb.export with an action naming another group: it is still in GROUP, judged
  // there, and its finding held for a possible rollout...
  feed([action({ identity: member(0), time: t, peerGroup: 'support-v2', target: 'kb.export' })]);
  // ...which happens in GROUP: the other members adopt kb.export within the hold.
  for (let n = 1; n < 5; n++) feed([tool(member(n), t + n * MIN, 'kb.export')]);
  h.engine.finish();
  h.commit(true);
  expect(h.alerts.filter((a) => a.identity === member(0))).toEqual([]);
  expect(h.engine.baselines.groupCount).toBe(1); // no empty support-v2 conjured up by the decision
});

it('a move is written with the groups it changes, so a kill -9 right after leaves the identity in one group', () => {
  const start = history();
  h.commit(true);
  for (let i = 0; i < 60; i++) feed([tool(`${GROUP}/other-${i}`, start + i * 1000, 'crm.search')]); // a checkpoint round of many
  for (let i = 0; i < MOVE_AFTER_ACTIONS - 1; i++) feed([inGroup('support-v2', start + i * MIN)]);
  wall += config.baselines.checkpointInterval;
  h.commit(false); // a round begins: its first slice writes ID, still in GROUP
  feed([inGroup('support-v2', start + MOVE_AFTER_MS)]); // ID moves; a later slice of the round writes the groups
  expect(h.engine.baselines.peek(ID)!.peerGroup).toBe('support-v2');

  // kill -9: a new engine over what was committed.
  const restored = h.restart();
  expect(restored.baselines.peek(ID)!.peerGroup).toBe('support-v2');
  expect([GROUP, 'support-v2'].filter((g) => restored.baselines.group(g).members.has(ID))).toEqual(['support-v2']);
});

it('a streak survives a restart: the move happens on the action that completes it, not a new streak later', () => {
  const start = history();
  const times = Array.from({ length: MOVE_AFTER_ACTIONS }, (_, i) => start + Math.round((i * MOVE_AFTER_MS) / (MOVE_AFTER_ACTIONS - 1)));
  for (const t of times.slice(0, -1)) feed([inGroup('support-v2', t)]);
  h.commit(true);

  const restored = h.restart();
  restored.process([inGroup('support-v2', times.at(-1)!)]);
  expect(restored.baselines.peek(ID)!.peerGroup).toBe('support-v2');
  expect(restored.baselines.group('support-v2').members.has(ID)).toBe(true);
});

it('evidence that its own group was named later survives a restart too', () => {
  const t = history();
  feed([inGroup(GROUP, t)]);
  h.commit(true);
  const restored = h.restart();
  restored.process([inGroup('support-v2', t - 20 * MIN)]); // a backlog's span from before that
  for (let i = 0; i < MOVE_AFTER_ACTIONS; i++) restored.process([inGroup('support-v2', t - 19 * MIN + i * 2 * MIN)]); // 15 minutes, all before t
  expect(restored.baselines.peek(ID)!.peerGroup).toBe(GROUP);
});
