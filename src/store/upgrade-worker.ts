/** Migrates the store named in workerData, then closes it (upgrade.ts explains why in a thread). */
import { parentPort, workerData } from 'node:worker_threads';
import { MIGRATION_WAIT_MS, openDatabase } from './database.js';
import type { UpgradeResult } from './upgrade.js';

const { file, setting } = workerData as { file: string; setting: string };
let result: UpgradeResult;
try {
  openDatabase(file, setting, MIGRATION_WAIT_MS).close();
  result = { ok: true };
} catch (err) {
  result = { ok: false, message: (err as Error).message };
}
parentPort!.postMessage(result);
