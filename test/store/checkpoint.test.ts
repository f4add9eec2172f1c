/**
 * A checkpoint spread over several commits writes each baseline dirty at its start once, and ends even
 * when busy identities dirty their baselines again meanwhile (they wait for the next round).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { BaselineStore } from '../../baselines/store.js';
import { openDatabase } from '../../src/store/database.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

it('writes the round in slices, each baseline once, and ends although baselines are dirtied again', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-ckpt-'));
  dirs.push(dir);
  const db = openDatabase(path.join(dir, 'vigil.db'));
  const store = new BaselineStore(db, 100);
  const baselines = Array.from({ length: 10 }, (_, i) => store.identity(`agent-${i}`, 'group', 1000));
  const stored = () => db.prepare('SELECT count(*) FROM identity_baselines').pluck().get();
  const slice = (n: number) => {
    const left = db.transaction(() => store.continueCheckpoint(n))();
    store.afterCommit(true);
    return left;
  };

  expect(store.beginCheckpoint()).toBe(10);
  expect(slice(4)).toBe(6);
  expect(stored()).toBe(4);
  baselines[0].observe(2000); // written in this round already: dirty again
  expect(slice(4)).toBe(2);
  expect(slice(4)).toBe(0);
  expect(stored()).toBe(10);
  expect(baselines[0].dirty).toBe(true);
  expect(baselines.slice(1).every((b) => !b.dirty)).toBe(true);

  expect(store.beginCheckpoint()).toBe(1); // the next round takes it
  expect(slice(25)).toBe(0);
  expect(baselines[0].dirty).toBe(false);
  db.close();
});

it('a slice whose commit failed is written again by the next one; its baselines stay dirty meanwhile', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-ckpt-'));
  dirs.push(dir);
  const db = openDatabase(path.join(dir, 'vigil.db'));
  const store = new BaselineStore(db, 100);
  const baselines = Array.from({ length: 6 }, (_, i) => store.identity(`agent-${i}`, 'group', 1000));
  for (const b of baselines) store.group('group').join(b.identity, 1000);
  const stored = () => db.prepare('SELECT count(*) FROM identity_baselines').pluck().get();
  expect(store.beginCheckpoint()).toBe(6);

  // The slice's writes succeed, then a later write of the same group commit fails (disk full): the
  // transaction rolls back.
  expect(() =>
    db.transaction(() => {
      store.continueCheckpoint(4);
      throw new Error('SQLITE_FULL: database or disk is full');
    })(),
  ).toThrow(/disk is full/);
  store.afterCommit(false);
  expect(stored()).toBe(0);
  expect(baselines.every((b) => b.dirty)).toBe(true);
  expect(store.group('group').dirty).toBe(true);

  expect(db.transaction(() => store.continueCheckpoint(4))()).toBe(2);
  store.afterCommit(true);
  expect(stored()).toBe(4);
  expect(db.prepare('SELECT count(*) FROM peer_members').pluck().get()).toBe(6);
  expect(db.transaction(() => store.continueCheckpoint(4))()).toBe(0);
  store.afterCommit(true);
  expect(stored()).toBe(6);
  expect(baselines.some((b) => b.dirty)).toBe(false);
  db.close();
});
