/**
 * /metrics says which Vigil runs and how large its store is (review41 L5): after an upgrade the version
 * confirms what runs, and a store growing toward a full disk is seen before commits fail.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { startTestDaemon, TEST_TOKEN, type TestDaemon } from '../helpers/daemon.js';

let t: TestDaemon | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

it('has vigil_build_info with the package version, and vigil_store_bytes for the store and its write-ahead log', async () => {
  t = await startTestDaemon();
  const text = await (await fetch(`${t.apiUrl}/metrics`, { headers: { Authorization: `Bearer ${TEST_TOKEN}` } })).text();
  const { version } = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  expect(text).toContain(`vigil_build_info{version="${version}",node="${process.version}"} 1`);
  const db = Number(/^vigil_store_bytes\{file="db"\} (\d+)$/m.exec(text)?.[1]);
  expect(db).toBeGreaterThan(0);
  expect(db).toBeLessThanOrEqual(fs.statSync(path.join(t.dir, 'vigil.db')).size); // the file only grows
  expect(text).toMatch(/^vigil_store_bytes\{file="wal"\} \d+$/m);
});
