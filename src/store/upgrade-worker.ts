/** Migrates the store named in workerData, then closes it (upgrade.ts explains why in a thread). */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from './database.js';
import type { UpgradeResult } from './upgrade.js';

const { file, setting } = workerData as { file: string; setting: string };
let result: UpgradeResult;
try {
  openDatabase(file, setting).close();
  result = { ok: true };
} catch (err) {
  result = { ok: false, message: (err as Error).message };
}
parentPort!.postMessage(result);
