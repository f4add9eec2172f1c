/**
 * Migrating an older store off the main thread. A large store takes a while to migrate (15 s for 1.35 GB
 * in review 26), and better-sqlite3 runs a migration synchronously: on the main thread, /healthz would
 * not answer meanwhile, and a supervisor's liveness probe (Kubernetes kills after ~30 s by default) would
 * kill the daemon mid-migration on every start, rolling the migration back each time. A worker thread
 * migrates instead, while the API answers /healthz and says `migrating` on /readyz.
 */
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { UserError } from '../errors.js';
import { MIGRATIONS } from './migrations.js';

/** The compiled worker (under vitest this module runs from source, which a worker cannot load). */
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('../../dist/src/store/upgrade-worker.js', import.meta.url)
  : new URL('./upgrade-worker.js', import.meta.url);

export interface Upgrade {
  from: number;
  to: number;
}

/** What the worker answers: done, or the message of the UserError openDatabase threw. */
export type UpgradeResult = { ok: true } | { ok: false; message: string };

/**
 * The migration an existing store needs, or null: none needed, no store yet, or one that cannot be read
 * now (openDatabase, on the main thread, then says why in its own words).
 */
export function pendingUpgrade(file: string): Upgrade | null {
  if (file === ':memory:' || !fs.existsSync(file)) return null;
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const from = db.pragma('user_version', { simple: true }) as number;
    const to = MIGRATIONS[MIGRATIONS.length - 1].version;
    return from > 0 && from < to ? { from, to } : null;
  } catch {
    return null;
  } finally {
    db?.close();
  }
}

/** Opens, migrates and closes the store in a worker thread. @throws UserError as openDatabase would. */
export function migrateInWorker(file: string, setting: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_URL, { workerData: { file, setting } });
    let answered = false;
    worker.once('message', (result: UpgradeResult) => {
      answered = true;
      if (result.ok) resolve();
      else reject(new UserError(result.message));
    });
    worker.once('error', (err) => reject(new UserError(`cannot use ${setting} (${file}): migrating it failed (${err.message})`)));
    worker.once('exit', (code) => {
      if (!answered) reject(new UserError(`cannot use ${setting} (${file}): the migration stopped without an answer (exit code ${code})`));
    });
  });
}
