/**
 * A sensitive read that arrives after the send it preceded (review37 F2). CONTRACT §3 Time: spans up to
 * `time.lateness` out of order are handled as if in order; the read's export can come after the send's
 * (parallel exporters, a Collector retrying one batch), or be held back on purpose. The send is judged
 * again when the read comes, as the flow it would have been in order. And reads survive a restart (saved
 * with the group commit): a send after one is judged against the reads before it.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { action as act, engineHarness, sensitiveFlows, type EngineHarness } from './harness.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const config = configSchema.parse({});
const AGENT = 'spiffe://acme/support-1';

let h: EngineHarness;
beforeEach(() => {
  h = engineHarness(config, () => T0);
});
afterEach(() => h.close());

/** 32 hours of the usual tool calls: judged against itself afterwards. Returns the next time. */
function learn(): number {
  let t = T0;
  for (let i = 0; i < 320; i++, t += 6 * MIN) h.feed([act({ identity: AGENT, time: t })]);
  return t;
}

const read = (time: number, trace: string) => act({ identity: AGENT, time, traceId: trace, target: 'crm.get_customer', sensitive: true });
const send = (time: number, trace: string, host = 'paste.evil.example') =>
  act({ identity: AGENT, time, traceId: trace, kind: 'http', target: `${host}/upload`, access: 'write', host, zone: 'external' });

it('a read arriving after the send it came before, in another trace 2 minutes earlier: the same flow as in order', () => {
  const t = learn();
  h.feed([send(t + 2 * MIN, 'b'.repeat(32))]);
  expect(sensitiveFlows(h)).toEqual([]);
  h.feed([read(t, 'a'.repeat(32))]);
  expect(sensitiveFlows(h).map((f) => [f.identity, f.subject])).toEqual([[AGENT, 'crm.get_customer => paste.evil.example']]);
  expect(h.alerts.find((a) => a.detector === 'lateral_chaining')!.severity).toBe('high');
});

it('in its own trace however long before; across traces only within the window, and never after the send', () => {
  const t = learn();
  h.feed([send(t + 30 * MIN, 'c'.repeat(32)), send(t + 30 * MIN, 'd'.repeat(32), 'gist.example.net')]);
  h.feed([read(t, 'c'.repeat(32))]); // the send's own task: a flow, 30 minutes on
  h.feed([read(t + 31 * MIN, 'e'.repeat(32))]); // after both sends: no flow
  expect(sensitiveFlows(h).map((f) => f.subject)).toEqual(['crm.get_customer => paste.evil.example']);
});

/** 32 hours of the usual tool calls, then a read in trace a and one in trace b; the daemon restarts. Returns the engine after it. */
function readThenRestart() {
  const t = learn();
  h.feed([read(t, 'a'.repeat(32)), read(t + MIN, 'b'.repeat(32))]);
  h.commit(true); // a clean shutdown's last commit (a crash loses only the commits not yet made)
  return { engine: h.restart(), t };
}

const flows = () => h.alerts.filter((a) => a.detector === 'lateral_chaining').map((a) => [a.evidence.subject, a.severity, a.evidence.traceIds]);

// Review40 M1: the reads were in memory only, so a restart between a read and its send raised nothing.
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
