/**
 * An operator's reset the store refuses (review46 F5). Its baseline half stays in memory, dirty, and is
 * written by the next checkpoint; its record half (when the baseline began again, the actions before)
 * must be written by the next group commit too. Else, after a restart, the identity list reads the record
 * and shows `own` for an identity whose stored baseline is empty (review44 L1 again).
 */
import { expect, it } from 'vitest';
import type { Action } from '../../src/actions/types.js';
import { configSchema } from '../../src/config/schema.js';
import { BaselineOperator } from '../../src/detect/operator.js';
import { IdentityStore } from '../../src/store/identities.js';
import { action, engineHarness } from './harness.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const noHolds = { narrowHeld: () => {}, namedItems: () => new Set<string>() };

it('a reset the store refused is written with the next commit: after a restart, the list and the engine agree it is learning', () => {
  const h = engineHarness(configSchema.parse({}), () => T0);
  try {
    const ids = new IdentityStore(h.db, 1000);
    const commit = () => {
      h.db.transaction(() => {
        ids.flush();
        h.engine.commit(true);
      })();
      ids.afterCommit(true);
      h.engine.afterCommit(true);
    };
    const feed = (a: Action[]) => {
      for (const x of a) ids.record(x);
      h.engine.process(a);
      commit();
    };
    for (let i = 0, t = T0; i < 400; i++, t += 6 * MIN) feed([action({ identity: 'victim', peerGroup: 'solo', time: t })]); // 40 hours: its own baseline
    const operator = new BaselineOperator(h.engine, noHolds, ids);
    expect(operator.phase(ids.get('victim')!)).toBe('own');

    h.db.exec(`CREATE TRIGGER full BEFORE INSERT ON identity_baselines WHEN NEW.identity = 'victim' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
    expect(() => operator.reset('victim')).toThrow(/disk is full/);
    h.db.exec('DROP TRIGGER full');
    commit(); // the disk has room again

    const restarted = h.restart();
    const records = new IdentityStore(h.db, 1000);
    const record = records.get('victim')!;
    expect(record).toMatchObject({ actions: 400, actionsBefore: 400, baselineSince: expect.any(Number) });
    expect(restarted.baselines.known('victim')!.isMature(restarted.settings)).toBe(false);
    expect(new BaselineOperator(restarted, noHolds, records).phase(record)).toBe('learning');
  } finally {
    h.close();
  }
});
