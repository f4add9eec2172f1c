/**
 * While the store refuses writes (a full disk), findings wait in memory and are raised once it takes them
 * again, folded as stored alerts are: one alert per identity, detector and subject per suppression window,
 * so an outage longer than the window does not fold a later incident into an earlier one (review41 M1).
 */
import { expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { action, engineHarness } from './harness.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const config = configSchema.parse({});
const ID = 'spiffe://acme/agent-W';
const step = (time: number, access: 'read' | 'delete') => action({ identity: ID, time, target: 'crm.search', access });

it('findings an outage kept are raised per suppression window when the store is back', () => {
  const h = engineHarness(config, () => T0);
  try {
    let t = T0;
    for (let i = 0; i < 320; i++, t += 6 * MIN) h.feed([step(t, 'read')]);
    h.db.pragma('query_only = 1'); // every write fails, as on a full disk
    for (const at of [t, t + 20 * MIN, t + 130 * MIN]) h.engine.process([step(at, 'delete')]); // the last, 2 h 10 min on
    expect(h.alerts).toEqual([]);
    h.db.pragma('query_only = 0');
    h.engine.beforeCommit();
    expect(h.alerts.map((a) => [a.detector, a.eventTime, a.count])).toEqual([
      ['unexpected_write', new Date(t).toISOString(), 2],
      ['unexpected_write', new Date(t + 130 * MIN).toISOString(), 1],
    ]);
  } finally {
    h.close();
  }
});
