/**
 * The adopted chain from spans through the ActionBuilder (review48). A support agent's session: kb.search,
 * a hop into billing (its own SERVER invoke_agent span), billing's lookup and summarize, then the caller's
 * tickets.update (a write). Learned in one export per session (billing's clock `skew` off the caller's);
 * then one session in another arrival order.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ActionBuilder } from '../../src/actions/builder.js';
import type { Action } from '../../src/actions/types.js';
import { configSchema } from '../../src/config/schema.js';
import type { DecodedSpan } from '../../src/model.js';
import { http, span, SpanKind, tid, tool } from '../actions/fixtures.js';
import { engineHarness, type EngineHarness } from './harness.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const config = configSchema.parse({ zones: { internal: ['*.internal'] } });
const SUP = { 'service.name': 'support-agent', 'nhi.identity': 'sup-1' };
const BILL = { 'service.name': 'billing-agent', 'nhi.identity': 'billing-1' };

let h: EngineHarness;
beforeEach(() => {
  h = engineHarness(config, () => T0);
});
afterEach(() => h.close());

const invoke = (name: string) => ({ 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': name });

/** One session in trace `n` at `t`: [caller's spans, callee's spans]. */
function session(n: number, t: number, skew: number): [DecodedSpan[], DecodedSpan[]] {
  const traceId = tid(n);
  const at = (ms: number, len = 200) => ({ traceId, start: t + ms, end: t + ms + len });
  const cal = (ms: number, len = 200) => at(ms + skew, len);
  const caller = [
    span({ traceId, id: 1, parent: null, kind: SpanKind.SERVER, start: t, end: t + 9000, resource: SUP, attrs: invoke('support') }),
    tool(2, 1, 'kb.search', { ...at(100), resource: SUP }),
    http(3, 2, 'GET', 'http://kb.internal/q', { ...at(110, 50), resource: SUP }),
    span({ traceId, id: 4, parent: 1, kind: SpanKind.CLIENT, start: t + 1000, end: t + 5000, resource: SUP, attrs: invoke('billing') }),
    tool(8, 1, 'tickets.update', { ...at(6000), resource: SUP }),
    http(9, 8, 'PUT', 'http://tickets.internal/t/1', { ...at(6010, 50), resource: SUP }),
  ];
  const callee = [
    span({ traceId, id: 5, parent: 4, kind: SpanKind.SERVER, ...cal(1020, 3500), resource: BILL, attrs: invoke('billing') }),
    tool(6, 5, 'invoice.lookup', { ...cal(1100), resource: BILL }),
    http(7, 6, 'GET', 'http://invoices.internal/i/1', { ...cal(1110, 50), resource: BILL }),
    tool(10, 5, 'invoice.summarize', { ...cal(1400), resource: BILL }),
    http(11, 10, 'GET', 'http://invoices.internal/i/1/sum', { ...cal(1410, 50), resource: BILL }),
  ];
  return [caller, callee];
}

let now = 0;
/** Each export added and taken a minute later, as `vigil serve` or `vigil replay` does per export. */
const takeAfter = (b: ActionBuilder, spans: DecodedSpan[]): Action[] => {
  b.add(spans, (now += 1000));
  return b.take((now += 60_000));
};

function learn(b: ActionBuilder, skew: number): number {
  let t = T0;
  for (let i = 0; i < 320; i++, t += 10 * MIN) {
    const [caller, callee] = session(i, t, skew);
    h.feed(takeAfter(b, [...caller, ...callee]));
  }
  expect(h.alerts).toEqual([]);
  return t;
}
const summary = () => h.alerts.map((a) => [a.identity, a.evidence.subject]);

for (const skew of [0, -300, -3000, 3000]) {
  it(`billing's clock ${skew} ms off, callee's export first (a batch of its own): quiet as in order`, () => {
    const b = new ActionBuilder(config, () => {});
    const t = learn(b, skew);
    const [caller, callee] = session(1000, t, skew);
    h.feed(takeAfter(b, callee));
    h.feed(takeAfter(b, caller));
    h.engine.finish();
    expect(summary()).toEqual([]);
  });
}

it("vigil replay's batching: the callee's line and the caller's line in one batch (onLines: a take per line), quiet as in order", () => {
  const b = new ActionBuilder(config, () => {});
  const t = learn(b, 0);
  const [caller, callee] = session(1000, t, 0);
  const batch = [...takeAfter(b, callee), ...takeAfter(b, caller)];
  expect(batch.filter((a) => a.identity === 'billing-1' && a.kind === 'tool').map((a) => a.caller ?? null)).toEqual([null, null]); // as billing's own task
  h.feed(batch);
  h.engine.finish();
  expect(summary()).toEqual([]);
});
