/**
 * Identity records: only recently active identities stay in memory; the others are read back from the
 * SQLite file on their next action, and every count continues across eviction and restart.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { Action } from '../../src/actions/types.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import { IdentityStore } from '../../src/store/identities.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const action = (identity: string, time: number): Action =>
  ({ identity, peerGroup: 'runs', time, kind: 'tool', failed: false, retry: false }) as Action;

/** A database file in a folder of its own, deleted after the test. */
function dbFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-ids-'));
  dirs.push(dir);
  return path.join(dir, 'vigil.db');
}

/** A group commit of the records alone. */
function commit(db: Db, store: IdentityStore): void {
  db.transaction(() => store.flush())();
  store.afterCommit(true);
}

it('keeps at most about maxHot records in memory and loses no count', () => {
  const file = dbFile();
  let db = openDatabase(file);
  let store = new IdentityStore(db, 10);
  // 200 short-lived instances, committed every 5 actions like the pipeline's group commits.
  for (let i = 0; i < 200; i++) {
    store.record(action(`run-${i}`, 1000 + i));
    if (i % 5 === 4) commit(db, store);
  }
  expect((store as unknown as { records: Map<string, unknown> }).records.size).toBeLessThanOrEqual(15);
  expect(store.size).toBe(200);

  store.record(action('run-3', 5000)); // evicted long ago: read back, then counted
  commit(db, store);
  expect(store.get('run-3')).toMatchObject({ actions: 2, firstSeen: 1003, lastSeen: 5000, byKind: { tool: 2 } });
  db.close();

  db = openDatabase(file);
  store = new IdentityStore(db, 10);
  expect(store.size).toBe(200);
  expect(store.get('run-3')).toMatchObject({ actions: 2 });
  db.close();
});

it('a record whose commit failed is written by the next commit', () => {
  const db = openDatabase(dbFile());
  const store = new IdentityStore(db, 10);
  store.record(action('run-1', 1000));
  // The record is written, then a later write of the same group commit fails (disk full): rolled back.
  expect(() =>
    db.transaction(() => {
      store.flush();
      throw new Error('SQLITE_FULL: database or disk is full');
    })(),
  ).toThrow(/disk is full/);
  store.afterCommit(false);
  expect(db.prepare('SELECT count(*) FROM identities').pluck().get()).toBe(0);
  commit(db, store);
  expect(db.prepare('SELECT actions FROM identities WHERE identity = ?').pluck().get('run-1')).toBe(1);
  db.close();
});

it('a new record is never evicted before it is written, even when every other record waits to be written', () => {
  const db = openDatabase(dbFile());
  const store = new IdentityStore(db, 2);
  // No commit between them (the store refuses writes, or many identities act within one commit).
  for (const id of ['run-1', 'run-2', 'run-3']) {
    store.record(action(id, 1000));
    store.record(action(id, 2000));
  }
  commit(db, store);
  expect(store.size).toBe(3);
  expect(db.prepare('SELECT identity, actions FROM identities ORDER BY identity').all()).toEqual([
    { identity: 'run-1', actions: 2 },
    { identity: 'run-2', actions: 2 },
    { identity: 'run-3', actions: 2 },
  ]);
  db.close();
});

it('is over its bound only when more records wait to be written than it may hold, not after a busy commit', () => {
  const db = openDatabase(dbFile());
  const store = new IdentityStore(db, 10);
  for (let i = 0; i < 15; i++) store.record(action(`run-${i}`, 1000 + i));
  expect(store.overBound).toBe(true); // 15 wait to be written
  commit(db, store);
  expect(store.overBound).toBe(false); // 15 in memory, all written: any can leave
  db.close();
});

it('an action dated further back than time.lateness moves first-seen back by that much only, as for the baseline (review46 F6)', () => {
  const db = openDatabase(dbFile());
  const LATENESS = 5 * 60_000;
  const store = new IdentityStore(db, 10, () => {}, LATENESS);
  store.record(action('new', 1_000_000_000));
  store.record(action('new', 1_000_000_000 - 2 * 86_400_000)); // two days back
  store.record(action('new', 1_000_000_000 - LATENESS - 60_000)); // within the lateness of the first-seen it has now
  expect(store.get('new')!.firstSeen).toBe(1_000_000_000 - LATENESS - 60_000);
  db.close();
});

it('a reset the store refused, of a cold identity while the hot records are dirty, is written by the next commit (review47 F5)', () => {
  const db = openDatabase(dbFile());
  const store = new IdentityStore(db, 2);
  store.record(action('x', 1000));
  commit(db, store);
  store.record(action('a', 2000));
  store.record(action('b', 3000)); // x (written) leaves memory; a and b wait for the commit
  expect(() =>
    db.transaction(() => {
      store.markReset('x', 5000);
      throw new Error('database or disk is full');
    })(),
  ).toThrow(/full/);
  store.record(action('x', 6000));
  commit(db, store);
  expect(new IdentityStore(db, 10).get('x')).toMatchObject({ baselineSince: 5000, actionsBefore: 1 });
  db.close();
});
