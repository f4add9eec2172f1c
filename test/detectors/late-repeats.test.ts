/**
 * Late repeats of earlier incidents (a Collector draining a fleet's backlog) fold into those incidents'
 * alerts, and their counts all reach the store, however many alerts one commit folds into (review43 M1:
 * past the 1,000 earlier alerts kept in memory, a stale copy read back lost a count).
 */
import { expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { action, engineHarness } from './harness.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const config = configSchema.parse({});
const N = 1_100;

it(`${N} identities' late repeats, folded in one commit into their earlier alerts, are all counted`, () => {
  const h = engineHarness(config, () => T0);
  try {
    const step = (identity: string, time: number, access: 'read' | 'delete') => action({ identity, peerGroup: 'crm', time, target: 'crm.search', access });
    let t = T0;
    for (let i = 0; i < 320; i++, t += 6 * MIN) h.feed(['m1', 'm2', 'm3'].map((m) => step(m, t, 'read'))); // the group's baseline
    const ids = Array.from({ length: N }, (_, i) => `new-${i}`);
    h.feed(ids.map((id) => step(id, t, 'read')));
    h.feed(ids.map((id) => step(id, t + MIN, 'delete'))); // an alert each
    h.feed(ids.map((id) => step(id, t + 3 * HOUR, 'delete'))); // and another, in a later window
    h.engine.process(ids.map((id) => step(id, t + 5 * MIN, 'delete'))); // late repeats of the first,
    h.engine.process(ids.map((id) => step(id, t + 6 * MIN, 'delete'))); // twice, before one commit
    h.commit(false);
    const counts = h.db.prepare("SELECT count, count(*) AS n FROM alerts WHERE detector = 'unexpected_write' GROUP BY count ORDER BY count").all();
    expect(counts).toEqual([{ count: 1, n: N }, { count: 3, n: N }]);
  } finally {
    h.close();
  }
});
