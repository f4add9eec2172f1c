/**
 * The alert schema (CONTRACT §5) compiled with ajv, for the tests that check what Vigil sends. The
 * normative file is the contract's, `../shared/spec/alert.schema.json` beside the checkout; the repository
 * keeps a copy (`test/fixtures/alert.schema.json`) so its tests run in a checkout anywhere, and
 * test/docs/alert-schema.test.ts holds the copy to the contract's wherever the contract is beside it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

export const ALERT_SCHEMA_COPY = path.resolve(import.meta.dirname, '../fixtures/alert.schema.json');
/** Where the contract's schema is when the contract sits beside the checkout (the workspace, CI). */
export const ALERT_SCHEMA_CONTRACT = path.resolve(import.meta.dirname, '../../../shared/spec/alert.schema.json');

const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats.default(ajv);

/** True when `alert` is valid; `validateAlert.errors` says why not. */
export const validateAlert = ajv.compile(JSON.parse(fs.readFileSync(ALERT_SCHEMA_COPY, 'utf8')));
