/**
 * The repository's copy of the alert schema is the contract's (review30 L9: tests read the contract's file
 * from outside the checkout, and failed to load in a checkout elsewhere). Skipped where the contract is
 * not beside the checkout; in the workspace and CI it is.
 */
import fs from 'node:fs';
import { expect, it } from 'vitest';
import { ALERT_SCHEMA_CONTRACT, ALERT_SCHEMA_COPY } from '../helpers/alert-schema.js';

it.skipIf(!fs.existsSync(ALERT_SCHEMA_CONTRACT))('the copy of the alert schema is the contract\'s', () => {
  expect(JSON.parse(fs.readFileSync(ALERT_SCHEMA_COPY, 'utf8'))).toEqual(JSON.parse(fs.readFileSync(ALERT_SCHEMA_CONTRACT, 'utf8')));
});
