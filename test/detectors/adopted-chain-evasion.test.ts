/**
 * Chains a callee exported before its hop tried to keep from being judged as its caller's (review48).
 * Each test checks the in-order export raises (the control), then the same session callee-first, which
 * raises the same for the caller.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Access, Action } from '../../src/actions/types.js';
import { configSchema } from '../../src/config/schema.js';
import { action, engineHarness, type EngineHarness } from './harness.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const A = 'spiffe://acme/agent/support-1';
const B = 'spiffe://acme/agent/billing-1';
const config = configSchema.parse({});
const ROOT = 'a'.repeat(16);
const AGENT_SPAN = 'b'.repeat(16); // the callee's invoke_agent span (no action): a call under it is a step

let h: EngineHarness;
beforeEach(() => {
  h = engineHarness(config, () => T0);
});
afterEach(() => h.close());

let n = 0;
const trace = () => (++n).toString(16).padStart(32, '0');
const forA = () => h.alerts.filter((a) => a.identity === A).map((a) => a.evidence.subject);

type Step = [string, Access] | Partial<Action>;
/**
 * A's kb.search, a hop into B, B's `steps` (100 ms apart; `shift` ms earlier on B's clock), A's crm.search.
 * A step given as an object is a raw action (a call made outside any tool).
 */
function session(t: number, steps: Step[], withCaller: boolean, shift = 0) {
  const traceId = trace();
  const mine = { identity: A, peerGroup: 'support', traceId, parentSpanId: ROOT };
  const end = t + 300 + 100 * steps.length;
  const hop = action({ ...mine, time: t + 200, endTime: end, kind: 'delegation', target: B, calleeClockShiftMs: shift });
  const callee = steps.map((st, k) => {
    const base = { identity: B, caller: withCaller ? A : undefined, peerGroup: 'billing', traceId, time: t + 300 + 100 * k - shift, parentSpanId: hop.spanId };
    return Array.isArray(st) ? action({ ...base, target: st[0], access: st[1] }) : action({ ...base, ...st });
  });
  const first = action({ ...mine, time: t, target: 'kb.search' });
  const last = action({ ...mine, time: end + 100, target: 'crm.search' });
  return { caller: [first, hop, last], callee };
}

/** Two days of A's routine in order, and B's `own` chain in traces of B's own. */
function learn(routine: Step[], own: Step[]): number {
  let t = T0;
  for (let i = 0; i < 320; i++, t += 10 * MIN) {
    const s = session(t, routine, true);
    h.feed([s.caller[0], s.caller[1], ...s.callee, s.caller[2]]);
    const traceId = trace();
    h.feed(own.map((st, k) => {
      const base = { identity: B, peerGroup: 'billing', traceId, time: t + 5000 + 100 * k, parentSpanId: AGENT_SPAN };
      return Array.isArray(st) ? action({ ...base, target: st[0], access: st[1] }) : action({ ...base, ...st });
    }));
  }
  expect(h.alerts).toEqual([]);
  return t;
}

const ROUTINE: Step[] = [['invoice.lookup', 'read'], ['invoice.summarize', 'read']];

/** Runs `attack` in order (must raise `expected` for A), then, on a fresh engine, callee first. */
function bothOrders(learnIt: () => number, attack: (t: number, withCaller: boolean) => ReturnType<typeof session>, expected: string[]) {
  const t = learnIt();
  const s = attack(t, true);
  h.feed([s.caller[0], s.caller[1], ...s.callee, s.caller[2]].sort((x, y) => x.time - y.time));
  h.engine.finish();
  expect(forA(), 'in order').toEqual(expected);
  h.close();
  h = engineHarness(config, () => T0);
  const t2 = learnIt();
  const r = attack(t2, false);
  h.feed(r.callee);
  h.feed(r.caller);
  h.engine.finish();
  expect(forA(), 'callee first').toEqual(expected);
}

it('a callee\'s call made outside any tool (an HTTP POST to an external host) is judged as the caller\'s chain (review48 M3)', () => {
  const exfil: Partial<Action> = { kind: 'http', target: 'exfil.example.net/upload', access: 'write', host: 'exfil.example.net', zone: 'external', parentSpanId: AGENT_SPAN };
  const learnIt = () => learn(ROUTINE, [['invoice.lookup', 'read'], exfil]); // B's own work posts out after a lookup
  bothOrders(learnIt, (t, wc) => session(t, [['invoice.lookup', 'read'], exfil, ['invoice.summarize', 'read']], wc), ['tool:invoice.lookup -> http:exfil.example.net/upload']);
});

it("a callee that pads its chain with 16 learned steps before its hop comes: the start of its chain is still judged as the caller's (review48 H1)", () => {
  const pad: Step[] = Array.from({ length: 16 }, (_, k) => [k % 2 ? 'invoice.summarize' : 'invoice.lookup', 'read'] as [string, Access]);
  const learnIt = () => learn([...ROUTINE, ...pad], [['invoice.lookup', 'read'], ['payments.refund', 'write']]);
  bothOrders(learnIt, (t, wc) => session(t, [['invoice.lookup', 'read'], ['payments.refund', 'write'], ...pad], wc), ['tool:invoice.lookup -> tool:payments.refund']);
});

it("a callee whose clock is behind is placed on the caller's: the hop -> write is judged (review48 H2)", () => {
  const learnIt = () => learn(ROUTINE, [['payments.refund', 'write']]);
  // In order the builder has moved B's spans onto A's clock; callee first they keep B's clock, 5 s behind.
  bothOrders(learnIt, (t, wc) => session(t, [['payments.refund', 'write'], ['invoice.summarize', 'read']], wc, wc ? 0 : 5000), [`delegation:${B} -> tool:payments.refund`]);
});

