/**
 * The README lists every value each metric label takes (review28 L10): a reason, kind or status added in
 * the code and not to the README fails here, so an operator writing alert rules from it misses none.
 */
import fs from 'node:fs';
import { expect, it } from 'vitest';
import { IGNORE_REASONS } from '../../src/actions/facts.js';
import { REJECT_REASONS } from '../../src/actions/identity.js';
import { ACTION_KINDS } from '../../src/actions/types.js';
import { RECEIVERS, REQUEST_REJECT_REASONS } from '../../src/metrics.js';
import { REVOCATION_STATUSES } from '../../src/revocation/types.js';

const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const start = readme.indexOf("The metrics' labels");
const labels = readme.slice(start, readme.indexOf('\n\n', readme.indexOf('\n- ', start)));

it.each([
  ['vigil_requests_rejected_total', REQUEST_REJECT_REASONS],
  ['vigil_spans_rejected_total', REJECT_REASONS],
  ['vigil_spans_ignored_total', IGNORE_REASONS],
  ['vigil_actions_total', ACTION_KINDS],
  ['vigil_revocations_total', REVOCATION_STATUSES],
  ['receiver', RECEIVERS],
] as const)('the README lists every label value of %s', (metric, values) => {
  expect(start).toBeGreaterThan(0);
  const line = labels.split('\n- ').find((item) => item.includes(`\`${metric}`));
  expect(line, `no README item for ${metric}`).toBeDefined();
  const text = line!.replace(/\s+/g, ' ');
  for (const v of values) expect(text, `${metric}: ${v}`).toContain(`\`${v}\``);
});
