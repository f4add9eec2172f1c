/**
 * Two hops into one callee in a trace (concurrent: the late one ends first, so its export comes first).
 * The callee's history, exported before both, was trimmed: the transitions it dropped within the other
 * hop's time stay for that hop (review50 F3: the first hop to come deleted them all, so the other hop's
 * trimmed transitions, review48 H1, were never judged).
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Access, Action } from '../../src/actions/types.js';
import { configSchema } from '../../src/config/schema.js';
import { action, engineHarness, type EngineHarness } from './harness.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const ID = 'spiffe://acme/agent/support-1';
const SUB = 'spiffe://acme/agent/billing-1';
const config = configSchema.parse({});
let h: EngineHarness;
beforeEach(() => { h = engineHarness(config, () => T0); });
afterEach(() => h.close());
let n = 0;
const trace = () => (++n).toString(16).padStart(32, '0');
const ROOT = 'a'.repeat(16);

function session(t: number, early: Array<[string, Access]>, withCaller: boolean) {
  const traceId = trace();
  const mine = { identity: ID, peerGroup: 'support', traceId, parentSpanId: ROOT };
  const hopEarly = action({ ...mine, time: t + 200, endTime: t + 8000, kind: 'delegation', target: SUB });
  const hopLate = action({ ...mine, time: t + 7000, endTime: t + 7500, kind: 'delegation', target: SUB });
  const b = (hop: Action, time: number, target: string, access: Access = 'read') =>
    action({ identity: SUB, caller: withCaller ? ID : undefined, peerGroup: 'billing', traceId, time, target, access, parentSpanId: hop.spanId });
  const pad: Array<[string, Access]> = Array.from({ length: 17 }, () => ['invoice.summarize', 'read']);
  const callee = [
    ...[...early, ...pad].map(([target, access], k) => b(hopEarly, t + 300 + 100 * k, target, access)),
    b(hopLate, t + 7100, 'invoice.lookup'), b(hopLate, t + 7200, 'invoice.summarize'),
  ];
  return { first: action({ ...mine, time: t, target: 'kb.search' }), hopEarly, hopLate, callee, last: action({ ...mine, time: t + 9000, target: 'crm.search' }) };
}
function learn(): number {
  let t = T0;
  for (let i = 0; i < 320; i++, t += 10 * MIN) {
    const s = session(t, [['invoice.lookup', 'read'], ['invoice.summarize', 'read']], true);
    h.feed([s.first, s.hopEarly, ...s.callee, s.hopLate, s.last].sort((x, y) => x.time - y.time));
    const own = trace();
    const who = { identity: SUB, peerGroup: 'billing', traceId: own };
    h.feed([action({ ...who, time: t + 9500, target: 'invoice.lookup' }), action({ ...who, time: t + 9600, target: 'payments.refund', access: 'write' })]);
  }
  expect(h.alerts).toEqual([]);
  return t;
}
const REFUND: Array<[string, Access]> = [['invoice.lookup', 'read'], ['payments.refund', 'write']];
const subjects = () => h.alerts.map((a) => [a.identity, a.evidence.subject]);

it("the early hop comes first and judges its trimmed lookup -> refund as the caller's", () => {
  const s = session(learn(), REFUND, false);
  h.feed(s.callee);
  h.feed([s.first, s.hopEarly, s.last]);
  h.feed([s.hopLate]);
  h.engine.finish();
  expect(subjects()).toContainEqual([ID, 'tool:invoice.lookup -> tool:payments.refund']);
});
it('the late (shorter, concurrent) hop exported first: the early hop\'s trimmed lookup -> refund is still judged', () => {
  const s = session(learn(), REFUND, false);
  h.feed(s.callee);
  h.feed([s.hopLate]);
  h.feed([s.first, s.hopEarly, s.last]);
  h.engine.finish();
  expect(subjects()).toContainEqual([ID, 'tool:invoice.lookup -> tool:payments.refund']);
});
