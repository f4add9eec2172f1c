/**
 * A daemon migrating an older store answers its health checks meanwhile (review26 L5): a liveness probe
 * that got no answer would kill it mid-migration on every start. The migration is held for the test by a
 * write transaction of another connection, which the migration waits for (busy_timeout), so the checks
 * see it in progress; releasing it lets the daemon finish starting.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, expect, it } from 'vitest';
import pino from 'pino';
import { startDaemon, type Daemon } from '../../src/main.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { databaseAt } from '../helpers/old-database.js';
import { testConfig, TEST_TOKEN, waitFor } from '../helpers/daemon.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A port nothing listens on now: the API's address must be known before startDaemon returns. */
async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

it('answers /healthz, says migrating on /readyz and holds off the other routes while it migrates an older store', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-migrating-'));
  dirs.push(dir);
  const file = path.join(dir, 'vigil.db');
  const old = databaseAt(file, 9);
  old.pragma('journal_mode = WAL'); // as every Vigil store is
  old.close();
  const holder = new Database(file);
  holder.exec('BEGIN IMMEDIATE'); // the migration waits for this write lock

  const port = await freePort();
  const api = `http://127.0.0.1:${port}`;
  const logs: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });
  const config = testConfig(dir, { api: { endpoint: `127.0.0.1:${port}` } });
  let daemon: Daemon | undefined;
  const starting = startDaemon({ config, logger }).then((d) => (daemon = d));
  try {
    await waitFor(() => logs.some((l) => l.includes(`migrating the store from schema 9 to ${MIGRATIONS.at(-1)!.version}`)), 'the migration to start');
    const health = await fetch(`${api}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${api}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'migrating' });
    const alerts = await fetch(`${api}/v1/alerts`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    expect(alerts.status).toBe(503);
    expect(alerts.headers.get('retry-after')).toBe('5');
    expect((await alerts.json()).error).toBe('VIGIL_ERR_STARTING');
    expect(daemon).toBeUndefined(); // still migrating: the checks above ran meanwhile

    holder.exec('ROLLBACK');
    await starting;
    expect(logs.some((l) => l.includes('"store migrated"'))).toBe(true);
    expect((await fetch(`${api}/readyz`)).status).toBe(200);
    expect((await fetch(`${api}/v1/alerts`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })).status).toBe(200);
    expect(daemon!.db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.at(-1)!.version);
  } finally {
    if (holder.inTransaction) holder.exec('ROLLBACK');
    holder.close();
    await starting.catch(() => undefined);
    await daemon?.close();
  }
});

it('fails to start with the store\'s own message when the migration cannot run, and frees the API port', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-migrating-'));
  dirs.push(dir);
  const file = path.join(dir, 'vigil.db');
  const old = databaseAt(file, 12);
  old.exec('CREATE TABLE credential_owners (credential TEXT)'); // damaged: migration 13 makes it
  old.close();
  const port = await freePort();
  const logger = pino({ level: 'silent' });
  const config = testConfig(dir, { api: { endpoint: `127.0.0.1:${port}` } });
  await expect(startDaemon({ config, logger })).rejects.toThrow(`cannot use storage.path (${file}): table credential_owners already exists`);
  // The API listened during the attempt; a failed start closes it.
  await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
});
