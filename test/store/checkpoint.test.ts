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
  const slice = (n: number) => db.transaction(() => store.continueCheckpoint(n))();

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
