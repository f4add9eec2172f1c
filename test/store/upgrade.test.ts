/**
 * Opening a store an earlier version wrote (review26): the migration is found before it runs, in a worker
 * while the daemon's health checks answer (it can take minutes), and a store others can read is named
 * with the fix.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { openDatabase, storeExposure } from '../../src/store/database.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { pendingUpgrade } from '../../src/store/upgrade.js';
import { databaseAt } from '../helpers/old-database.js';

const LATEST = MIGRATIONS[MIGRATIONS.length - 1].version;
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
function dbFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-upgrade-'));
  dirs.push(dir);
  return path.join(dir, 'vigil.db');
}

it('finds the migration an older store needs, and none for a current, new or unreadable one', () => {
  const old = dbFile();
  databaseAt(old, 9).close();
  expect(pendingUpgrade(old)).toEqual({ from: 9, to: LATEST });
  openDatabase(old).close();
  expect(pendingUpgrade(old)).toBeNull(); // migrated
  expect(pendingUpgrade(dbFile())).toBeNull(); // none yet
  const notSqlite = dbFile();
  fs.writeFileSync(notSqlite, 'not a database');
  expect(pendingUpgrade(notSqlite)).toBeNull(); // openDatabase says why
});

it('names a store others can read, with the chmod that fixes it', () => {
  const file = dbFile();
  openDatabase(file).close();
  expect(storeExposure(file)).toBeNull(); // made 0600
  fs.chmodSync(file, 0o644); // as an earlier version made it
  expect(storeExposure(file)).toBe(`${file} can be read or written by other users (mode 0644): chmod 600 ${file} ${file}-wal ${file}-shm`);
});

// Review26 L1: before schema 13 the binding lived in memory, so the first start after the upgrade bound a
// credential to whoever presented it first, an intruder included. The alerts kept tell its owner.
it('binds each credential named by an older store\'s alerts to the identity of the first, not telemetry_integrity\'s', () => {
  const file = dbFile();
  const old = databaseAt(file, 12);
  const insert = old.prepare('INSERT INTO alerts (id, detector, severity, identity, subject, event_time, body) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const alert = (id: string, detector: string, identity: string, credential: string | null, time: number) =>
    insert.run(id, detector, 'high', identity, 's', time, JSON.stringify({ id, detector, identity, peerGroup: `${identity}-group`, evidence: credential ? { credential: { id: credential, type: 'jwt' } } : {} }));
  alert('al_1', 'telemetry_integrity', 'intruder', 'jti-support-1', 1000); // "credential of another identity"
  alert('al_2', 'scope_drift', 'support-1', 'jti-support-1', 2000);
  alert('al_3', 'unexpected_write', 'intruder', 'jti-support-1', 3000); // a later presenter
  alert('al_4', 'retry_storm', 'billing-1', null, 4000);
  old.close();

  const db = openDatabase(file);
  expect(db.prepare('SELECT credential, identity, peer_groups FROM credential_owners').all()).toEqual([
    { credential: 'jti-support-1', identity: 'support-1', peer_groups: '["support-1-group"]' },
  ]);
  db.close();
});
