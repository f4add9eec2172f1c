/**
 * Benign traffic in another export order than the one it was learned in (review48): each test learns a
 * routine in order (the callee's steps with their caller, one export), then sends the same routine in
 * another order, which stays quiet as in order.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Access } from '../../src/actions/types.js';
import { configSchema } from '../../src/config/schema.js';
import { action, engineHarness, type EngineHarness } from './harness.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const A = 'spiffe://acme/agent/support-1';
const B = 'spiffe://acme/agent/billing-1';
const C = 'spiffe://acme/agent/ledger-1';
const config = configSchema.parse({});

let h: EngineHarness;
beforeEach(() => {
  h = engineHarness(config, () => T0);
});
afterEach(() => h.close());

let n = 0;
const trace = () => (++n).toString(16).padStart(32, '0');
const ROOT = 'a'.repeat(16);
const summary = () => h.alerts.map((a) => [a.identity, a.detector, a.evidence.subject]);

/**
 * A session at `t`: A's kb.search, a hop into B, B's `calleeSteps` (100 ms apart), then A's `next` at
 * t + 200 + 100 * (steps + 1). `withCaller`: B's steps name A (as when exported with or after the hop).
 */
function session(t: number, calleeSteps: Array<[string, Access]>, next: [string, Access], withCaller: boolean) {
  const traceId = trace();
  const mine = { identity: A, peerGroup: 'support', traceId, parentSpanId: ROOT };
  const end = t + 300 + 100 * calleeSteps.length;
  const hop = action({ ...mine, time: t + 200, endTime: end, kind: 'delegation', target: B });
  const callee = calleeSteps.map(([target, access], k) =>
    action({ identity: B, caller: withCaller ? A : undefined, peerGroup: 'billing', traceId, time: t + 300 + 100 * k, target, access, parentSpanId: hop.spanId }),
  );
  const first = action({ ...mine, time: t, target: 'kb.search' });
  const last = action({ ...mine, time: end + 100, target: next[0], access: next[1] });
  return { first, hop, callee, last };
}
const inOrder = (s: ReturnType<typeof session>) => [s.first, s.hop, ...s.callee, s.last];

const ROUTINE: Array<[string, Access]> = [['invoice.lookup', 'read'], ['invoice.summarize', 'read']];
const WRITE: [string, Access] = ['tickets.update', 'write'];

function learn(steps: Array<[string, Access]>, next: [string, Access]): number {
  let t = T0;
  for (let i = 0; i < 320; i++, t += 10 * MIN) h.feed(inOrder(session(t, steps, next, true)));
  expect(h.alerts).toEqual([]);
  return t;
}

it('control: the routine, callee first in a batch of its own, is quiet', () => {
  const t = learn(ROUTINE, WRITE);
  const s = session(t, ROUTINE, WRITE, false);
  h.feed(s.callee);
  h.feed([s.first, s.hop, s.last]);
  h.engine.finish();
  expect(summary()).toEqual([]);
});

it('the callee\'s steps in the batch of the hop, naming no caller, are the caller\'s task: the next step follows them, quiet as in order (review48 M2)', () => {
  const t = learn(ROUTINE, WRITE);
  const s = session(t, ROUTINE, WRITE, false);
  h.feed(inOrder(s)); // one batch, but the callee's steps name no caller
  h.engine.finish();
  // In order (or callee first in its own batch) this is quiet. Here the caller's write is judged against the hop.
  expect(summary()).toEqual([]);
});

it('a callee that made more than the 16 steps a history keeps, exported first: no transition into the first step kept is made up (review48 M4)', () => {
  // B's routine: a lookup, (refund-check, refund) x 8, a last check = 18 steps; the first 2 are trimmed
  // before the hop (MAX_STEPS = 16), so the hop is made the previous of B's 3rd step, a refund.
  const steps: Array<[string, Access]> = [['invoice.lookup', 'read']];
  for (let k = 0; k < 8; k++) steps.push(['refund.check', 'read'], ['payments.refund', 'write']);
  steps.push(['refund.check', 'read']);
  let t = T0;
  for (let i = 0; i < 320; i++, t += 10 * MIN) {
    h.feed(inOrder(session(t, steps, ['crm.search', 'read'], true)));
    // B's own work, the same chain: B's own baseline knows it (so its own-task judgement is quiet).
    const own = trace();
    h.feed(steps.map(([target, access], k) => action({ identity: B, peerGroup: 'billing', traceId: own, time: t + 5000 + 100 * k, target, access })));
  }
  expect(h.alerts).toEqual([]);
  const s = session(t, steps, ['crm.search', 'read'], false);
  h.feed(s.callee);
  h.feed([s.first, s.hop, s.last]);
  h.engine.finish();
  expect(summary()).toEqual([]);
});

