/**
 * `vigil replay --db` on an older store while another program holds its write lock (a sqlite3 shell, a
 * backup's checkpoint): the migrations wait for it, as the daemon's do, rather than fail after 100 ms
 * (review47 F7). The replay is a process of its own, so this one's event loop ends the lock meanwhile.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { databaseAt } from '../helpers/old-database.js';
import { CLI, ROOT } from '../helpers/serve-process.js';

const GOLDEN = path.join(ROOT, 'test/fixtures/golden/agent-traces.otlp.jsonl');
const HELD_MS = 1500;

it("waits out another program's write lock on an older store, then migrates it and replays", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-replay-wait-'));
  try {
    const file = path.join(dir, 'vigil.db');
    const old = databaseAt(file, 9);
    old.pragma('journal_mode = WAL');
    old.close();
    const holder = new Database(file);
    holder.exec('BEGIN IMMEDIATE');
    const child = spawn(process.execPath, [CLI, 'replay', '--db', file, GOLDEN], { cwd: ROOT });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const early = await Promise.race([exited, new Promise((r) => setTimeout(() => r('waiting'), HELD_MS))]);
    holder.exec('ROLLBACK');
    holder.close();
    expect(early, stderr).toBe('waiting'); // still waiting for the lock, not failed
    expect(await exited, stderr).toBe(0);
    expect(stderr).toMatch(/spans/); // the summary of a replay that ran
    const migrated = new Database(file, { readonly: true });
    expect(migrated.pragma('user_version', { simple: true })).toBe(MIGRATIONS.at(-1)!.version);
    migrated.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
