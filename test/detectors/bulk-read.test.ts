/**
 * scope_drift's bulk-read rule through the engine (review31 F6): an identity that reads a sensitive source
 * through its usual tool far more in an hour than it ever did. What must stay quiet: bursts of a few times
 * its busiest hour (CONTRACT §4), and an identity whose load grows hour by hour.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Action } from '../../src/actions/types.js';
import { configSchema } from '../../src/config/schema.js';
import { ReadVolume } from '../../src/detect/read-volume.js';
import { action as act, engineHarness, type EngineHarness } from './harness.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const config = configSchema.parse({});
const AGENT = 'spiffe://acme/support-1';

let h: EngineHarness;
beforeEach(() => {
  h = engineHarness(config, () => T0);
});
afterEach(() => h.close());

const lookup = (time: number) => act({ identity: AGENT, time, target: 'crm.lookup', sensitive: true });
const search = (time: number) => act({ identity: AGENT, time, target: 'kb.search' });
const bulk = () => h.alerts.filter((a) => a.detector === 'scope_drift' && a.evidence.rule === 'bulk_read');

/** `n` customer-record lookups spread over the hour from `start` (with a search before each). */
function hourOf(start: number, n: number): void {
  const batch: Action[] = [];
  for (let i = 0; i < n; i++) {
    const t = start + Math.floor((i * HOUR) / n);
    batch.push(search(t), lookup(t + 1000));
  }
  h.feed(batch);
}

/** Three days of a support agent: 4 lookups an hour at night, 12 by day (busiest hours 12). Returns the next hour. */
function learn(): number {
  let t = T0;
  for (; t < T0 + 72 * HOUR; t += HOUR) hourOf(t, new Date(t).getUTCHours() >= 8 && new Date(t).getUTCHours() < 18 ? 12 : 4);
  expect(h.alerts).toEqual([]);
  // What `vigil baseline show` says of it.
  expect((h.operator.describe(AGENT) as { sensitiveReadPeaks: Record<string, number> }).sensitiveReadPeaks['crm.lookup']).toBeCloseTo(12, 0);
  return t;
}

it('raises 3,000 customer-record lookups in an hour through the usual tool, once, folding the rest', () => {
  const t = learn();
  hourOf(t, 3000);
  const raised = bulk();
  expect(raised).toHaveLength(1);
  expect(raised[0]).toMatchObject({ severity: 'medium', evidence: { subject: 'bulk:crm.lookup', source: 'crm.lookup' } });
  // Raised at about the 120th lookup (10 times its busiest hour of 12, decayed a little), every later one folded into it.
  const at = raised[0].evidence.count as number;
  expect(at).toBeGreaterThanOrEqual(110);
  expect(at).toBeLessThanOrEqual(120);
  expect(raised[0].count).toBe(3000 - at + 1);
  expect(raised[0].explanation).toMatch(new RegExp(`read sensitive \`crm.lookup\` ${at} times since \\d\\d:00 UTC .* Its busiest hour of such reads was 1[12](\\.\\d)? \\(decayed\\)`));
});

it('stays quiet on a burst of five times its busiest hour, and on load that grows over a day', () => {
  let t = learn();
  hourOf(t, 60);
  t += HOUR;
  // Then twice the hour before, for ten hours: 24, 48 ... its peak follows.
  for (let n = 24, i = 0; i < 6; i++, n *= 2, t += HOUR) hourOf(t, n);
  expect(bulk()).toEqual([]);
});

it('does not learn an hour that raised an alert: the next bulk hour is raised too', () => {
  const t = learn();
  hourOf(t, 400);
  // Learned, the 400 would have doubled its peak (to 24), and 200 would be under 10 times it.
  hourOf(t + HOUR, 200);
  expect(bulk()).toHaveLength(2);
});

it('counts a tool call and the calls made in it as one read, and late reads not at all', () => {
  const v = new ReadVolume();
  expect(v.count('crm.lookup', 'step-1', T0 + 10)?.now.count).toBe(1);
  expect(v.count('crm.lookup', 'step-1', T0 + 20)?.now.count).toBe(1); // its HTTP call
  expect(v.count('crm.lookup', 'step-2', T0 + 30)?.now.count).toBe(2);
  // The next hour settles this one, to be learned; a read from before it is late and not counted.
  expect(v.count('crm.lookup', 'step-3', T0 + HOUR)).toEqual({ now: { source: 'crm.lookup', count: 1, since: T0 + HOUR }, settled: 2 });
  expect(v.count('crm.lookup', 'step-4', T0 + 40)).toBeNull();
  v.alerted('crm.lookup');
  expect(v.count('crm.lookup', 'step-5', T0 + 2 * HOUR)?.settled).toBe(0);
});
