/**
 * Review31 F9: an identity whose peer group is too new to judge it is not judged at all, and what it does
 * is learned: an exfiltration on a new deployment's first day left no alert and stayed "usual" for weeks.
 * The first time the group shows a sensitive flow to an external host, it is now recorded at low (and
 * learned all the same).
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { action as act, engineHarness, sensitiveFlows, type EngineHarness } from './harness.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const config = configSchema.parse({});
const [V2_1, V2_2] = ['spiffe://acme/support-v2-1', 'spiffe://acme/support-v2-2'];

let h: EngineHarness;
beforeEach(() => {
  h = engineHarness(config, () => T0);
});
afterEach(() => h.close());

/** `who` reads a customer record and, in the same trace, posts to `host` a second later. */
function readThenSend(who: string, t: number, host: string, trace: string) {
  const common = { identity: who, peerGroup: 'support-v2', traceId: trace };
  h.feed([
    act({ ...common, time: t, target: 'crm.get_customer', sensitive: true }),
    act({ ...common, time: t + 1000, kind: 'http', target: `${host}/upload`, access: 'write', host, zone: 'external' }),
  ]);
}
const learning = () => h.alerts.filter((a) => a.evidence.learning === true);

it('records a flow the new group never showed at low, once for the group, and learns it', () => {
  readThenSend(V2_1, T0 + 40 * MIN, 'paste.evil.example', 'a'.repeat(32));
  expect(sensitiveFlows(h)).toEqual([{ identity: V2_1, subject: 'crm.get_customer => paste.evil.example', spanIds: expect.any(Array) }]);
  expect(learning().map((a) => [a.detector, a.severity])).toEqual([['lateral_chaining', 'low']]);
  expect(learning()[0].explanation).toMatch(/It is not judged yet: its peer group is still learning/);
  // The same flow again, by it or by the other instance: learned by the group now, nothing more.
  readThenSend(V2_1, T0 + 2 * HOUR, 'paste.evil.example', 'b'.repeat(32));
  readThenSend(V2_2, T0 + 3 * HOUR, 'paste.evil.example', 'c'.repeat(32));
  expect(h.alerts).toHaveLength(1);
  // Another destination is another record.
  readThenSend(V2_2, T0 + 4 * HOUR, 'gist.example.net', 'd'.repeat(32));
  expect(sensitiveFlows(h).map((f) => [f.identity, f.subject])).toEqual([
    [V2_1, 'crm.get_customer => paste.evil.example'],
    [V2_2, 'crm.get_customer => gist.example.net'],
  ]);
});

it('is only for identities not judged yet: a judged one\'s unlearned flow is a high, as before', () => {
  for (let i = 0, t = T0; i < 320; i++, t += 6 * MIN) h.feed([act({ identity: V2_1, peerGroup: 'support-v2', time: t })]);
  readThenSend(V2_1, T0 + 33 * HOUR, 'paste.evil.example', 'e'.repeat(32));
  const flows = h.alerts.filter((a) => a.detector === 'lateral_chaining');
  expect(flows.map((a) => [a.severity, a.evidence.learning])).toEqual([['high', undefined]]);
});
