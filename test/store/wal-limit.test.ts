/**
 * Review24 L1: a reader holding a snapshot (a backup, an open sqlite3 shell) lets the WAL grow; SQLite
 * reuses it without shrinking, so it kept that size until shutdown. journal_size_limit cuts it back.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.js';

it('the WAL a long reader let grow is cut back to 64 MiB once the reader leaves', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-wal-')), 'vigil.db');
  const db = openDatabase(file);
  db.exec('CREATE TABLE filler (k INTEGER PRIMARY KEY, v BLOB)');
  const reader = new Database(file, { readonly: true });
  reader.exec('BEGIN');
  reader.prepare('SELECT count(*) FROM filler').get(); // its snapshot pins the WAL
  const put = db.prepare('INSERT INTO filler (k, v) VALUES (?, ?)');
  for (let b = 0; b < 20; b++) db.transaction(() => { for (let i = 0; i < 1000; i++) put.run(b * 1000 + i, Buffer.alloc(4096)); })();
  const walBytes = () => fs.statSync(`${file}-wal`).size;
  expect(walBytes()).toBeGreaterThan(80 * 1024 * 1024);
  reader.exec('COMMIT');
  reader.close();
  // Checkpoints run as the daemon commits: the first after the reader copies the WAL back, the next resets it.
  for (const k of [1, 2]) {
    db.pragma('wal_checkpoint(PASSIVE)');
    db.prepare('UPDATE filler SET v = ? WHERE k = ?').run(Buffer.alloc(8), k);
  }
  expect(walBytes()).toBeLessThanOrEqual(64 * 1024 * 1024);
  db.close();
  fs.rmSync(path.dirname(file), { recursive: true });
});
