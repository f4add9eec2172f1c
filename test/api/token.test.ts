/** The generated API token's file (src/api/token.ts): made 0600, and refused when others can read it (review25 F5). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { resolveApiToken } from '../../src/api/token.js';
import { UserError } from '../../src/errors.js';

it('is made 0600 on first start and read back after; an existing one others can read is refused, naming the fix', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-token-'));
  const db = path.join(dir, 'vigil.db');
  const file = path.join(dir, 'api-token');
  const made = resolveApiToken(undefined, db);
  expect([made.file, fs.statSync(file).mode & 0o777]).toEqual([file, 0o600]);
  expect(resolveApiToken(undefined, db)).toEqual(made);
  fs.chmodSync(file, 0o644);
  expect(() => resolveApiToken(undefined, db)).toThrow(UserError);
  expect(() => resolveApiToken(undefined, db)).toThrow(`the API token in ${file} can be read by other users (mode 0644): chmod 600 ${file}`);
  // A configured token does not read the file at all.
  expect(resolveApiToken('configured-token-0123456789', db)).toEqual({ value: 'configured-token-0123456789', file: null });
  fs.rmSync(dir, { recursive: true });
});
