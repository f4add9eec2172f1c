/**
 * A step exported after a later step of its trace (review45 M1). It is placed by its start, so the step
 * after it, judged when it came against the step before, now follows it: that transition is judged with
 * the late step. Else a sender who spreads a chain's start times over batches hides its middle: send
 * `crm.search` then `tickets.update` (a learned chain), then `kb.search` dated between them, and the chain
 * `kb.search -> tickets.update`, into a write, was never judged.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Access } from '../../src/actions/types.js';
import { configSchema } from '../../src/config/schema.js';
import { action, engineHarness, type EngineHarness } from './harness.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const ID = 'spiffe://acme/agent/support-1';
const config = configSchema.parse({});

let h: EngineHarness;
beforeEach(() => {
  h = engineHarness(config, () => T0);
});
afterEach(() => h.close());

let n = 0;
const trace = () => (++n).toString(16).padStart(32, '0');
const step = (traceId: string, time: number, target: string, access: Access = 'read') => action({ identity: ID, peerGroup: 'support', traceId, time, target, access });

/** Two days of two chains, each in traces of its own: crm.search -> tickets.update (a write), kb.search -> kb.summarize. */
function learn(): number {
  let t = T0;
  for (let i = 0; i < 320; i++, t += 10 * MIN) {
    const [a, b] = [trace(), trace()];
    h.feed([step(a, t, 'crm.search'), step(a, t + 300, 'tickets.update', 'write')]);
    h.feed([step(b, t + 1000, 'kb.search'), step(b, t + 1300, 'kb.summarize')]);
  }
  expect(h.alerts).toEqual([]);
  return t;
}

it('the transition out of a late step into the step after it is judged: kb.search -> tickets.update, into a write, is raised', () => {
  const t = learn();
  const traceId = trace();
  const [first, last] = [step(traceId, t, 'crm.search'), step(traceId, t + 300, 'tickets.update', 'write')];
  h.feed([first, last]); // learned: nothing
  const late = step(traceId, t + 100, 'kb.search');
  h.feed([late]); // crm.search -> kb.search is no write, and crosses no zone: only its way out is news
  h.engine.finish();
  expect(h.alerts.map((a) => [a.detector, a.evidence.subject, a.evidence.spanIds])).toEqual([
    ['lateral_chaining', 'tool:kb.search -> tool:tickets.update', [late.spanId, last.spanId]],
  ]);
  expect(h.alerts[0].explanation).toContain('went from `tool:kb.search` to `tool:tickets.update`, which leads to a write');
});

it('a late step whose way out is learned raises nothing', () => {
  const t = learn();
  const traceId = trace();
  h.feed([step(traceId, t, 'crm.search'), step(traceId, t + 300, 'kb.summarize')]);
  h.feed([step(traceId, t + 100, 'kb.search')]);
  h.engine.finish();
  expect(h.alerts).toEqual([]);
});

it("a sub-agent's steps exported after the caller's next tool raise nothing: only its last step comes before that tool (review46 F1)", () => {
  const SUB = 'spiffe://acme/agent/billing-1';
  const session = (t: number) => {
    const traceId = trace();
    const root = 'a'.repeat(16);
    const hop = action({ identity: ID, peerGroup: 'support', traceId, time: t + 200, endTime: t + 800, kind: 'delegation', target: SUB, parentSpanId: root });
    const sub = (time: number, target: string) => action({ identity: SUB, caller: ID, peerGroup: 'billing', traceId, time, target, zone: 'billing', parentSpanId: hop.spanId });
    const caller = [step(traceId, t, 'kb.search'), hop, action({ identity: ID, peerGroup: 'support', traceId, time: t + 900, target: 'crm.search', zone: 'crm', parentSpanId: root })];
    return { caller, callee: [sub(t + 300, 'invoice.lookup'), sub(t + 400, 'invoice.summarize')] };
  };
  let t = T0;
  for (let i = 0; i < 320; i++, t += 10 * MIN) {
    const s = session(t);
    h.feed([...s.caller.slice(0, 2), ...s.callee, s.caller[2]]);
  }
  expect(h.alerts).toEqual([]);
  const s = session(t);
  h.feed(s.caller);
  h.feed(s.callee); // invoice.lookup -> crm.search, which crosses zones, is no transition: invoice.summarize comes between
  h.engine.finish();
  expect(h.alerts).toEqual([]);
});

it("each transition out of a late step is an alert of its own subject: an open alert on the way in does not fold it (review47 F1)", () => {
  let t = T0;
  const zoned = (traceId: string, time: number, target: string, zone: string, access: Access = 'read') =>
    action({ identity: ID, peerGroup: 'support', traceId, time, target, access, zone });
  for (let i = 0; i < 320; i++, t += 10 * MIN) {
    const [a, b] = [trace(), trace()];
    h.feed([zoned(a, t, 'crm.search', 'crm'), zoned(a, t + 300, 'tickets.update', 'crm', 'write')]);
    h.feed([zoned(b, t + 1000, 'vault.read', 'secrets'), step(b, t + 1300, 'kb.summarize')]);
  }
  const first = trace();
  h.feed([zoned(first, t, 'crm.search', 'crm'), zoned(first, t + 100, 'vault.read', 'secrets'), step(first, t + 300, 'kb.summarize')]); // the way in, raised
  const traceId = trace();
  h.feed([zoned(traceId, t + 5 * MIN, 'crm.search', 'crm'), zoned(traceId, t + 5 * MIN + 300, 'tickets.update', 'crm', 'write')]);
  h.feed([zoned(traceId, t + 5 * MIN + 100, 'vault.read', 'secrets')]); // late: both ways are medium
  h.engine.finish();
  expect(h.alerts.map((a) => [a.evidence.subject, a.count])).toEqual([
    ['tool:crm.search -> tool:vault.read', 2],
    ['tool:vault.read -> tool:tickets.update', 1],
  ]);
});

it('a late step placed before the 16 steps a history keeps is still judged out of it (review47 F3)', () => {
  const t = learn();
  const traceId = trace();
  const filler = Array.from({ length: 15 }, (_, i) => step(traceId, t + 400 + 100 * i, 'kb.summarize'));
  h.feed([step(traceId, t, 'crm.search'), step(traceId, t + 300, 'tickets.update', 'write'), ...filler]);
  h.feed([step(traceId, t + 100, 'kb.search')]);
  h.engine.finish();
  expect(h.alerts.map((a) => a.evidence.subject)).toEqual(['tool:kb.search -> tool:tickets.update']);
});

it('a transition out of a late step into a step that raised when it came is not learned, as in order (review47 F2)', () => {
  let t = T0;
  for (let i = 0; i < 320; i++, t += 10 * MIN) {
    const a = trace();
    h.feed([step(a, t, 'crm.search'), step(a, t + 300, 'tickets.update', 'write')]);
    if (i < 5) h.feed([step(a, t + 1000, 'kb.search'), step(a, t + 1300, 'kb.summarize')]); // kb.search still unfamiliar
  }
  const traceId = trace();
  const deletes = step(traceId, t + 300, 'tickets.delete', 'delete');
  h.feed([step(traceId, t, 'crm.search'), deletes]);
  expect(h.alerts.filter((a) => a.evidence.spanIds.includes(deletes.spanId))).not.toEqual([]); // the first delete raised
  h.feed([step(traceId, t + 100, 'kb.search')]); // late; kb.search unfamiliar: kb.search -> tickets.delete raises nothing, and is not learned
  for (let i = 0; i < 30; i++, t += 10 * MIN) {
    const x = trace();
    h.feed([step(x, t + 10 * MIN, 'kb.search'), step(x, t + 10 * MIN + 300, 'kb.summarize')]); // kb.search familiar now
  }
  const again = trace();
  h.feed([step(again, t + 20 * MIN, 'kb.search'), step(again, t + 20 * MIN + 300, 'tickets.delete', 'delete')]);
  h.engine.finish();
  expect(h.alerts.filter((a) => a.evidence.subject === 'tool:kb.search -> tool:tickets.delete')).toHaveLength(1);
});
