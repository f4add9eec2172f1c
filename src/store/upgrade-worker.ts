/** Migrates the store named in workerData, then closes it (upgrade.ts explains why in a thread). */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from './database.js';
import type { UpgradeResult } from './upgrade.js';

/**
 * A migration waits this long for another program's write lock (a sqlite3 shell, a backup's checkpoint)
 * before it fails the start: it runs in this thread while the API answers, so waiting freezes nothing.
 */
const MIGRATION_WAIT_MS = 30_000;

const { file, setting } = workerData as { file: string; setting: string };
let result: UpgradeResult;
try {
  openDatabase(file, setting, MIGRATION_WAIT_MS).close();
  result = { ok: true };
} catch (err) {
  result = { ok: false, message: (err as Error).message };
}
parentPort!.postMessage(result);
