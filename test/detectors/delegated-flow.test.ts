/**
 * A sensitive flow split across an agent-to-agent hop (CONTRACT §3.1, §4 lateral_chaining): the caller
 * reads a secret and the agent it delegates to sends it out, or the other way round, in one trace. The
 * actions come from spans through the ActionBuilder, so what is tested is the hop as the builder finds
 * it: the callee's own SERVER `invoke_agent` span (its task) under the caller's CLIENT `invoke_agent`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import type { DecodedSpan } from '../../src/model.js';
import { http, sid, span, SpanKind, T2, tid, tool } from '../actions/fixtures.js';
import { action as act, engineHarness, replaySpans, sensitiveFlows, type EngineHarness } from './harness.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const config = configSchema.parse({
  zones: { secrets: ['vault.*'], internal: ['*.internal'] },
  sensitive: { zones: ['secrets'], tools: ['*secret*'] },
});
const SUP = { 'service.name': 'support-agent', 'nhi.identity': 'sup-1' };
const BILL = { 'service.name': 'billing-agent', 'nhi.identity': 'billing-1' };
const SECRET = 'https://vault.corp/v1/secret/data/stripe';
const EXFIL = 'https://exfil.example.net/upload';
const [T3, T4] = [tid(3), tid(4)];

let h: EngineHarness;
beforeEach(() => {
  h = engineHarness(config, () => T0);
});
afterEach(() => h.close());

/** 32 hours of the caller's usual tool calls: judged against itself afterwards. Returns the next time. */
function learnCaller(): number {
  let t = T0;
  for (let i = 0; i < 320; i++, t += 6 * MIN) h.feed([act({ identity: 'sup-1', peerGroup: 'support-agent', time: t })]);
  return t;
}

/**
 * One trace from `t`: the caller's task (1) runs tool 2 (its call 3), then delegates to billing (4);
 * billing's task (5) runs tool 6 (its call 7). `caller` and `callee` give each tool's name and its
 * call's method and URL; `calleeClock` is how far billing's host clock is off the caller's.
 */
function delegatedTrace(t: number, caller: [string, string, string], callee: [string, string, string], calleeClock = 0): DecodedSpan[] {
  const invoke = (name: string) => ({ 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': name });
  const at = (ms: number) => ({ start: t + ms, end: t + ms + 200 });
  const callee_ = (ms: number) => at(ms + calleeClock);
  return [
    span({ id: 1, parent: null, kind: SpanKind.SERVER, start: t, end: t + 9000, resource: SUP, attrs: invoke('support') }),
    tool(2, 1, caller[0], { ...at(100), resource: SUP }),
    http(3, 2, caller[1], caller[2], { ...at(110), resource: SUP }),
    span({ id: 4, parent: 1, kind: SpanKind.CLIENT, start: t + 1000, end: t + 5000, resource: SUP, attrs: invoke('billing') }),
    span({ id: 5, parent: 4, kind: SpanKind.SERVER, start: t + 1020 + calleeClock, end: t + 4500 + calleeClock, resource: BILL, attrs: invoke('billing') }),
    tool(6, 5, callee[0], { ...callee_(1100), resource: BILL }),
    http(7, 6, callee[1], callee[2], { ...callee_(1110), resource: BILL }),
  ];
}

const replay = (spans: DecodedSpan[]) => replaySpans(h, config, spans);
const CALLER_SPANS = new Set([sid(1), sid(2), sid(3), sid(4)]);
/** `delegatedTrace` as two exports, the callee's first. */
const calleeFirst = (spans: DecodedSpan[]) => [spans.filter((s) => !CALLER_SPANS.has(s.spanId)), spans.filter((s) => CALLER_SPANS.has(s.spanId))];
const flows = () => sensitiveFlows(h);

describe('a sensitive flow across the hop into another agent', () => {
  it('the caller reads a secret, the delegated agent sends to an external host: lateral_chaining for the caller', () => {
    const t = learnCaller();
    replay(delegatedTrace(t, ['get_secret', 'GET', SECRET], ['billing.lookup', 'POST', EXFIL]));
    // Evidence: the tool the explanation names, its read, and the callee's send.
    expect(flows()).toEqual([{ identity: 'sup-1', subject: 'get_secret => exfil.example.net', spanIds: [sid(2), sid(3), sid(7)] }]);
  });

  it('the delegated agent reads a secret, the caller then sends to an external host: lateral_chaining for the caller', () => {
    const t = learnCaller();
    const spans = delegatedTrace(t, ['kb.lookup', 'GET', 'https://kb.internal/a/1'], ['billing.lookup', 'GET', SECRET]);
    spans.push(tool(8, 1, 'web.upload', { start: t + 6000, end: t + 6300, resource: SUP }), http(9, 8, 'POST', EXFIL, { start: t + 6010, end: t + 6200, resource: SUP }));
    replay(spans);
    expect(flows()).toEqual([{ identity: 'sup-1', subject: 'billing.lookup => exfil.example.net', spanIds: [sid(6), sid(7), sid(9)] }]);
  });
});

// Review31 F3: the callee's spans end first and its process exports on its own timer, so its send can reach
// Vigil before any span of the caller's task. It was then judged as the callee's own, and never again.
describe("the delegated agent's spans arrive before the caller's", () => {
  it('the callee sends what the caller read: lateral_chaining for the caller all the same, once the hop arrives', () => {
    const t = learnCaller();
    replaySpans(h, config, ...calleeFirst(delegatedTrace(t, ['get_secret', 'GET', SECRET], ['billing.lookup', 'POST', EXFIL])));
    expect(flows()).toEqual([{ identity: 'sup-1', subject: 'get_secret => exfil.example.net', spanIds: [sid(2), sid(3), sid(7)] }]);
  });

  // Review39 H4: the callee's read was its own when it came, and the caller's send after the hop was judged
  // against the caller's reads alone.
  it('the callee reads a secret, the caller then sends to an external host: lateral_chaining for the caller once the hop arrives', () => {
    const t = learnCaller();
    const spans = delegatedTrace(t, ['kb.lookup', 'GET', 'https://kb.internal/a/1'], ['billing.lookup', 'GET', SECRET]);
    spans.push(tool(8, 1, 'web.upload', { start: t + 6000, end: t + 6300, resource: SUP }), http(9, 8, 'POST', EXFIL, { start: t + 6010, end: t + 6200, resource: SUP }));
    const calleeIds = new Set([sid(5), sid(6), sid(7)]);
    replaySpans(h, config, spans.filter((s) => calleeIds.has(s.spanId)), spans.filter((s) => !calleeIds.has(s.spanId)));
    expect(flows().map((f) => [f.identity, f.subject])).toEqual([['sup-1', 'billing.lookup => exfil.example.net']]);
  });

  // Review32 M3: its steps were learned as the callee's own chain, and the caller's chain judged them.
  it('a routine delegation learned in that order is quiet when its exports come the other way', () => {
    const usual = (t: number, i: number) => delegatedTrace(t, ['kb.lookup', 'GET', 'https://kb.internal/a/1'], ['billing.lookup', 'POST', EXFIL]).map((s) => ({ ...s, traceId: tid(100 + i) }));
    // The caller's first hour: the delegation 30 times (its steps familiar), the callee's export first each time.
    for (let i = 0; i < 30; i++) replaySpans(h, config, ...calleeFirst(usual(T0 + i * 2 * MIN, i)));
    let t = T0 + HOUR;
    for (let i = 0; i < 320; i++, t += 6 * MIN) h.feed([act({ identity: 'sup-1', peerGroup: 'support-agent', time: t })]);
    replay(usual(t, 99));
    expect(h.alerts.filter((a) => a.detector === 'lateral_chaining')).toEqual([]);
  });

  it('a flow learned in that order is the caller\'s: the same flow in the usual order stays quiet', () => {
    // While the caller is new (its first hour, not judged yet), its delegated sends arrive first and are learned as its flows.
    for (let i = 0; i < 3; i++) {
      const spans = delegatedTrace(T0 + i * 10 * MIN, ['get_secret', 'GET', SECRET], ['billing.lookup', 'POST', EXFIL]).map((s) => ({ ...s, traceId: tid(10 + i) }));
      replaySpans(h, config, ...calleeFirst(spans));
    }
    let t = T0 + HOUR;
    for (let i = 0; i < 320; i++, t += 6 * MIN) h.feed([act({ identity: 'sup-1', peerGroup: 'support-agent', time: t })]);
    replay(delegatedTrace(t, ['get_secret', 'GET', SECRET], ['billing.lookup', 'POST', EXFIL]).map((s) => ({ ...s, traceId: tid(20) })));
    expect(flows()).toEqual([]);
  });
});

// Review32 H1: C's send, in work B delegated to it on A's behalf, was B's flow (B's reads: none) in every
// order, never A's; M3: a routine delegation learned in one arrival order raised its chain in the other.
describe('two hops: the task owner reads, the agent its agent delegates to sends', () => {
  const RELAY = { 'service.name': 'relay-agent', 'nhi.identity': 'relay-1' };
  const invoke = (name: string) => ({ 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': name });
  /**
   * A (1-4) reads with tool 2, delegates to relay (B: 5, 8), which delegates to billing (C: 9-11), which
   * sends with tool 10. `clocks`: how far B's and C's host clocks are off A's.
   */
  function nestedTrace(t: number, read: [string, string, string], traceId: string, clocks: [number, number] = [0, 0]): DecodedSpan[][] {
    const at = (ms: number) => ({ traceId, start: t + ms, end: t + ms + 200 });
    const [tb, tc] = [t + clocks[0], t + clocks[1]];
    const a = [
      span({ traceId, id: 1, parent: null, kind: SpanKind.SERVER, start: t, end: t + 9000, resource: SUP, attrs: invoke('support') }),
      tool(2, 1, read[0], { ...at(100), resource: SUP }),
      http(3, 2, read[1], read[2], { ...at(110), resource: SUP }),
      span({ traceId, id: 4, parent: 1, kind: SpanKind.CLIENT, start: t + 1000, end: t + 6000, resource: SUP, attrs: invoke('relay') }),
    ];
    const b = [
      span({ traceId, id: 5, parent: 4, kind: SpanKind.SERVER, start: tb + 1020, end: tb + 5500, resource: RELAY, attrs: invoke('relay') }),
      span({ traceId, id: 8, parent: 5, kind: SpanKind.CLIENT, start: tb + 1100, end: tb + 5000, resource: RELAY, attrs: invoke('billing') }),
    ];
    const c = [
      span({ traceId, id: 9, parent: 8, kind: SpanKind.SERVER, start: tc + 1120, end: tc + 4500, resource: BILL, attrs: invoke('billing') }),
      tool(10, 9, 'billing.notify', { ...at(1200 + clocks[1]), resource: BILL }),
      http(11, 10, 'POST', EXFIL, { ...at(1210 + clocks[1]), resource: BILL }),
    ];
    return [a, b, c];
  }
  const orders: Array<[string, (x: DecodedSpan[][]) => DecodedSpan[][]]> = [
    ['in one export', ([a, b, c]) => [[...a, ...b, ...c]]],
    ['A, then C, then B', ([a, b, c]) => [a, c, b]],
    ['C, then B, then A', ([a, b, c]) => [c, b, a]],
    ['B, then C, then A', ([a, b, c]) => [b, c, a]],
  ];
  for (const [label, order] of orders) {
    it(`${label}: lateral_chaining for the task owner`, () => {
      const t = learnCaller();
      replaySpans(h, config, ...order(nestedTrace(t, ['get_secret', 'GET', SECRET], tid(30))));
      expect(flows().map((f) => [f.identity, f.subject])).toEqual([['sup-1', 'get_secret => exfil.example.net']]);
    });
    // Review32 M2 over two hops: B's clock 2 s behind A's and C's 5 s behind, so C's send is "before" A's read on its own clock.
    it(`${label}, the delegated agents' clocks behind the owner's: lateral_chaining for the task owner`, () => {
      const t = learnCaller();
      replaySpans(h, config, ...order(nestedTrace(t, ['get_secret', 'GET', SECRET], tid(30), [-2000, -5000])));
      expect(flows().map((f) => [f.identity, f.subject])).toEqual([['sup-1', 'get_secret => exfil.example.net']]);
    });
  }
});

// Regression (review18 F8): each host stamps its spans with its own clock. With the callee's 90 s behind,
// its send started "before" the caller's read by the clock, though the trace shows it came after. Review32
// M2: with the callee's export first, its send was judged on its own clock, and never again.
describe('the delegated agent\'s host clock is off the caller\'s', () => {
  const skews = [['90 s behind', -90_000], ['3 s behind', -3000], ['90 s ahead', 90_000]] as const;
  const orders = [['in one export', (spans: DecodedSpan[]) => [spans]], ["the callee's export first", calleeFirst]] as const;
  for (const [label, skew] of skews) {
    for (const [arrival, exports] of orders) {
      it(`${label}, ${arrival}: its send still follows the caller's read, and lateral_chaining is raised for the caller`, () => {
        const t = learnCaller();
        replaySpans(h, config, ...exports(delegatedTrace(t, ['get_secret', 'GET', SECRET], ['billing.lookup', 'POST', EXFIL], skew)));
        expect(flows()).toEqual([{ identity: 'sup-1', subject: 'get_secret => exfil.example.net', spanIds: [sid(2), sid(3), sid(7)] }]);
      });
    }
  }
});

// Regression (review20 F20): a delegated egress was judged only by the caller's reads, so a callee that read
// its own secret (in a trace of its own) and sent it out inside a caller's request raised no flow at all.
describe("the delegated agent's own secret, sent out in the caller's task", () => {
  /** 32 hours of billing's usual calls, alongside the caller's. */
  function learnBoth(): number {
    let t = T0;
    for (let i = 0; i < 320; i++, t += 6 * MIN) h.feed([act({ identity: 'sup-1', peerGroup: 'support-agent', time: t }), act({ identity: 'billing-1', peerGroup: 'billing-agent', time: t + 1 })]);
    return t;
  }
  /** Billing reads the secret in a task of its own, a minute before `t`. */
  const ownRead = (t: number) => [
    span({ traceId: T2, id: 11, parent: null, kind: SpanKind.SERVER, start: t - 60_000, end: t - 59_000, resource: BILL, attrs: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'billing' } }),
    tool(12, 11, 'get_secret', { traceId: T2, start: t - 59_900, end: t - 59_700, resource: BILL }),
    http(13, 12, 'GET', SECRET, { traceId: T2, start: t - 59_890, end: t - 59_710, resource: BILL }),
  ];

  it('is a flow of the delegated agent, raised on it', () => {
    const t = learnBoth();
    replay([...ownRead(t), ...delegatedTrace(t, ['kb.lookup', 'GET', 'https://kb.internal/a/1'], ['billing.lookup', 'POST', EXFIL])]);
    expect(flows()).toEqual([{ identity: 'billing-1', subject: 'get_secret => exfil.example.net', spanIds: [sid(12), sid(13), sid(7)] }]);
  });

  it('once learned (its usual flow, raised and allowed), the same send stays quiet', () => {
    const t = learnBoth();
    replay([...ownRead(t), ...delegatedTrace(t, ['kb.lookup', 'GET', 'https://kb.internal/a/1'], ['billing.lookup', 'POST', EXFIL])]);
    expect(h.operator.allow('billing-1', [{ dimension: 'flow', item: 'get_secret => exfil.example.net' }])).toBe(true);
    replay([...ownRead(t + 10 * MIN), ...delegatedTrace(t + 10 * MIN, ['kb.lookup', 'GET', 'https://kb.internal/a/1'], ['billing.lookup', 'POST', EXFIL])].map((s) => ({ ...s, traceId: s.traceId === T2 ? T3 : T4 })));
    // Neither a new alert nor a repeat folded into the first.
    const flowAlerts = h.alerts.filter((a) => a.detector === 'lateral_chaining');
    expect(flowAlerts.map((a) => [a.identity, a.count])).toEqual([['billing-1', 1]]);
  });
});
