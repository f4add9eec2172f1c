/**
 * Zones added (or changed) after the fleet learned: a zone is the config's name for a host, so a known
 * host in a zone the identity never used is a config change, learned quietly; a new host in it is still
 * new (review41 H5: every identity's usual traffic raised "New zone internal" high, and in enforce mode
 * revoked its credential).
 */
import { expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { action, engineHarness } from './harness.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const config = configSchema.parse({});
const ID = 'spiffe://acme/agent-1';
const call = (time: number, host: string, zone: string | null) =>
  action({ identity: ID, time, kind: 'http', target: `${host}/api/{id}`, host, zone, access: 'read' });

it('a known host in a zone added since is learned; a new host in that zone is still raised', () => {
  const h = engineHarness(config, () => T0);
  try {
    let t = T0;
    for (let i = 0; i < 320; i++, t += 6 * MIN) h.feed([call(t, 'crm.internal', null)]); // no zones configured yet
    h.feed([call(t, 'crm.internal', 'internal')]); // the operator added internal: [*.internal]
    expect(h.alerts).toEqual([]);
    expect(h.engine.baselines.known(ID)!.counters.has('zone\u0000internal')).toBe(true);
    h.feed([call(t + MIN, 'hr.internal', 'hr')]);
    h.engine.finish();
    expect(h.alerts.map((a) => [a.detector, a.evidence.subject])).toEqual([['scope_drift', 'zone:hr']]);
  } finally {
    h.close();
  }
});
