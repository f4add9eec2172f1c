/**
 * Sensitive reads survive a restart (review40 M1): a read before the daemon restarts (an upgrade, a crash
 * its supervisor restarted) and the send after it are still the flow they are without one, in one trace
 * however long after, across traces within the window. Saved with the group commit, in the same file.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { action as act, engineHarness, type EngineHarness } from './harness.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const config = configSchema.parse({});
const AGENT = 'spiffe://acme/support-1';

let h: EngineHarness;
beforeEach(() => {
  h = engineHarness(config, () => T0);
});
afterEach(() => h.close());

const read = (time: number, trace: string) => act({ identity: AGENT, time, traceId: trace, target: 'crm.get_customer', sensitive: true });
const send = (time: number, trace: string) =>
  act({ identity: AGENT, time, traceId: trace, kind: 'http', target: 'paste.evil.example/upload', access: 'write', host: 'paste.evil.example', zone: 'external' });

/** 32 hours of the usual tool calls, then a read in trace a and one in trace b; the daemon restarts. Returns the engine after it. */
function readThenRestart() {
  let t = T0;
  for (let i = 0; i < 320; i++, t += 6 * MIN) h.feed([act({ identity: AGENT, time: t })]);
  h.feed([read(t, 'a'.repeat(32)), read(t + MIN, 'b'.repeat(32))]);
  h.commit(true); // a clean shutdown's last commit (a crash loses only the commits not yet made)
  return { engine: h.restart(), t };
}

const flows = () => h.alerts.filter((a) => a.detector === 'lateral_chaining').map((a) => [a.evidence.subject, a.severity, a.evidence.traceIds]);

it('a send after a restart is judged against the reads before it: in their trace, and in another within the window', () => {
  const { engine, t } = readThenRestart();
  engine.process([send(t + 2 * MIN, 'a'.repeat(32))]); // the read's own task
  engine.process([send(t + 3 * MIN, 'c'.repeat(32))]); // another task, 2 minutes after the read in b
  engine.finish();
  // One alert, with both reads' traces as evidence; the second send folds into it.
  expect(flows()).toEqual([['crm.get_customer => paste.evil.example', 'high', ['b'.repeat(32), 'a'.repeat(32)]]]);
  expect(h.alerts.find((a) => a.detector === 'lateral_chaining')!.count).toBe(2);
});

it('a forgotten identity takes its saved reads with it', () => {
  const { engine } = readThenRestart();
  expect(h.db.prepare('SELECT count(*) FROM sensitive_reads').pluck().get()).toBe(1);
  h.db.transaction(() => engine.forget(AGENT))();
  expect(h.db.prepare('SELECT count(*) FROM sensitive_reads').pluck().get()).toBe(0);
});
