/**
 * Peer-group persistence: members and items are rows written only when they change (migration 5), members
 * carry when they last acted and the group its own history (migration 6), and databases written before
 * either migration are carried forward intact.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { BaselineStore } from '../../baselines/store.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import { databaseAt } from '../helpers/old-database.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
function dbFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-peer-'));
  dirs.push(dir);
  return path.join(dir, 'vigil.db');
}
const HALF_LIFE = 7 * 86_400_000;
/** Group outcome rates as an older Vigil stored them. */
const outcome = { actions: { c: 10, t: 5000, f: 0 }, bad: { c: 2, t: 5000, f: 0 } };

function checkpoint(db: Db, store: BaselineStore): void {
  store.checkpointNow();
}

it('restores members, maturity, items and outcome rates after a restart', () => {
  const file = dbFile();
  let db = openDatabase(file);
  let store = new BaselineStore(db, 100);
  const g = store.group('billing');
  g.join('agent-a', 1000);
  g.join('agent-b', 2000);
  g.markMature('agent-a');
  g.learned('agent-a', 'tool\u0000crm.search', 1000);
  g.learned('agent-b', 'tool\u0000crm.search', 2000);
  g.attempted('agent-b', 'tool\u0000vault.read', 3000);
  g.learnOutcome(3000, true, HALF_LIFE);
  g.learnOutcome(3000, false, HALF_LIFE);
  checkpoint(db, store);
  store.markCleanShutdown();
  expect(g.dirty).toBe(false);
  db.close();

  db = openDatabase(file);
  store = new BaselineStore(db, 100);
  const back = store.group('billing');
  expect([...back.members].sort()).toEqual([['agent-a', 1000], ['agent-b', 2000]]);
  expect(back.history).toEqual({ firstSeen: 1000, lastSeen: 2000, actions: 2 });
  expect([...back.mature]).toEqual(['agent-a']);
  expect(back.users('tool\u0000crm.search')).toBe(2);
  expect(back.users('tool\u0000vault.read')).toBe(0);
  expect(back.adoptersBetween('tool\u0000vault.read', 0, 5000, 'agent-a')).toBe(1);
  expect(back.adoptersBetween('tool\u0000crm.search', 1500, 2500, 'nobody')).toBe(1);
  expect(back.outcome.actions.c).toBeCloseTo(2, 6);
  expect(back.outcome.bad.c).toBeCloseTo(1, 6);
  expect(back.dirty).toBe(false);
  db.close();
});

it('a checkpoint writes only the members and items that changed', () => {
  const db = openDatabase(dbFile());
  const store = new BaselineStore(db, 100);
  const g = store.group('billing');
  g.join('agent-a', 1000);
  g.learned('agent-a', 'tool\u0000crm.search', 1000);
  checkpoint(db, store);
  // Rows written by the first checkpoint are overwritten here: a later checkpoint that rewrote them
  // would put the real values back.
  db.prepare("UPDATE peer_items SET users = 99").run();
  db.prepare("UPDATE peer_members SET mature = 1").run();

  g.learnOutcome(2000, false, HALF_LIFE); // outcome only
  g.learned('agent-a', 'tool\u0000kb.read', 2000); // one new item
  checkpoint(db, store);
  const items = db.prepare('SELECT item, users FROM peer_items ORDER BY item').all();
  expect(items).toEqual([
    { item: 'tool\u0000crm.search', users: 99 },
    { item: 'tool\u0000kb.read', users: 1 },
  ]);
  expect(db.prepare('SELECT mature FROM peer_members').pluck().all()).toEqual([1]);
  const body = JSON.parse(db.prepare("SELECT body FROM peer_baselines WHERE peer_group = 'billing'").pluck().get() as string);
  expect(body.outcome.actions.c).toBeCloseTo(1, 6);
  db.close();
});

it('migration 5 turns a group document into rows', () => {
  const file = dbFile();
  const old = databaseAt(file, 4);
  const v1 = {
    v: 1,
    outcome,
    members: ['agent-a', 'agent-b'],
    mature: ['agent-b'],
    items: [['tool\u0000crm.search', 2, [['agent-a', 1000], ['agent-b', 4000]]]],
  };
  old.prepare('INSERT INTO peer_baselines (peer_group, body) VALUES (?, ?)').run('billing', JSON.stringify(v1));
  old.close();

  const db = openDatabase(file);
  expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS[MIGRATIONS.length - 1].version);
  expect(db.prepare('SELECT users FROM peer_items').pluck().all()).toEqual([2]);
  const g = new BaselineStore(db, 100).group('billing');
  expect([...g.members.keys()].sort()).toEqual(['agent-a', 'agent-b']);
  expect([...g.mature]).toEqual(['agent-b']);
  // The first start after an upgrade recounts users from the members' baselines: here there are none.
  expect(g.users('tool\u0000crm.search')).toBe(0);
  expect(g.itemRow('tool\u0000crm.search').adopters).toEqual([['agent-a', 1000], ['agent-b', 4000]]);
  expect(g.outcome).toEqual(outcome);
  db.close();
});

it('a member that left is deleted from the store; one that acts again within the hour is not rewritten', () => {
  const file = dbFile();
  let db = openDatabase(file);
  let store = new BaselineStore(db, 100);
  const g = store.group('billing');
  g.join('agent-a', 1000);
  g.join('agent-b', 2000);
  checkpoint(db, store);
  g.join('agent-a', 1000 + 60_000); // same hour: the stored time is still good enough
  expect(g.changedMembers.size).toBe(0);
  g.join('agent-a', 1000 + 3_600_000);
  g.leave('agent-b', []);
  checkpoint(db, store);
  expect(db.prepare('SELECT identity, last_seen FROM peer_members').all()).toEqual([{ identity: 'agent-a', last_seen: 3_601_000 }]);
  db.close();

  db = openDatabase(file);
  store = new BaselineStore(db, 100);
  expect([...store.group('billing').members]).toEqual([['agent-a', 3_601_000]]);
  db.close();
});

it('migration 6 takes when members last acted and the group history from their baselines', () => {
  const file = dbFile();
  const old = databaseAt(file, 5);
  old.prepare('INSERT INTO peer_baselines (peer_group, body) VALUES (?, ?)').run('billing', JSON.stringify({ v: 2, outcome }));
  const baseline = (firstSeen: number, lastSeen: number, actions: number) => JSON.stringify({ v: 1, peerGroup: 'billing', firstSeen, lastSeen, actions });
  const addBaseline = old.prepare('INSERT INTO identity_baselines (identity, peer_group, body) VALUES (?, ?, ?)');
  addBaseline.run('agent-a', 'billing', baseline(1000, 9000, 40));
  addBaseline.run('agent-b', 'billing', baseline(3000, 7000, 2));
  addBaseline.run('other', 'sales', baseline(10, 20, 1));
  const addMember = old.prepare('INSERT INTO peer_members (peer_group, identity, mature) VALUES (?, ?, ?)');
  addMember.run('billing', 'agent-a', 1);
  addMember.run('billing', 'agent-b', 0);
  old.close();

  const db = openDatabase(file);
  const g = new BaselineStore(db, 100).group('billing');
  expect([...g.members].sort()).toEqual([['agent-a', 9000], ['agent-b', 7000]]);
  expect([...g.mature]).toEqual(['agent-a']);
  expect(g.history).toEqual({ firstSeen: 1000, lastSeen: 9000, actions: 42 });
  expect(g.outcome).toEqual(outcome);
  db.close();
});

it('after a crash, item users are recounted from the members\' stored baselines; after a clean stop they are kept', () => {
  const file = dbFile();
  let db = openDatabase(file);
  let store = new BaselineStore(db, 100);
  const baseline = (counters: string[]) => JSON.stringify({ v: 1, peerGroup: 'billing', firstSeen: 0, lastSeen: 0, actions: 1, counters: counters.map((k) => [k, 1, 0, 0]) });
  db.prepare('INSERT INTO identity_baselines (identity, peer_group, body) VALUES (?, ?, ?)').run('agent-a', 'billing', baseline(['tool\u0000crm.search']));
  const g = store.group('billing');
  g.join('agent-a', 1000);
  g.learned('agent-a', 'tool\u0000crm.search', 1000);
  g.learned('agent-a', 'tool\u0000kb.read', 1000); // its baseline never got to store this one
  checkpoint(db, store);
  db.close(); // no final checkpoint: a kill -9

  db = openDatabase(file);
  store = new BaselineStore(db, 100);
  expect(store.group('billing').users('tool\u0000crm.search')).toBe(1);
  expect(store.group('billing').users('tool\u0000kb.read')).toBe(0);
  checkpoint(db, store);
  store.markCleanShutdown();
  db.prepare("UPDATE peer_items SET users = 7 WHERE item = 'tool' || char(0) || 'crm.search'").run();
  db.close();

  db = openDatabase(file);
  store = new BaselineStore(db, 100);
  expect(store.group('billing').users('tool\u0000crm.search')).toBe(7); // a clean stop is trusted: no recount
  db.close();
});
