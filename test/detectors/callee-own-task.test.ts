/**
 * A callee's own task in a trace where another identity also delegated to it (review49 F2): a frontend F
 * (not monitored) calls both X and V, and X calls V too. Only V's work within X's hop is X's task; V's own
 * chain stays V's (it was re-owned by the hop in the same batch, and adopted whole by one in a later batch).
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ActionBuilder } from '../../src/actions/builder.js';
import { configSchema } from '../../src/config/schema.js';
import type { DecodedSpan } from '../../src/model.js';
import { TraceSteps } from '../../src/detect/steps.js';
import { http, span, SpanKind, tid, tool } from '../actions/fixtures.js';
import { engineHarness, type EngineHarness } from './harness.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const config = configSchema.parse({ zones: { internal: ['*.internal'], tickets: ['tickets.corp'] } });
const X = { 'service.name': 'x-agent', 'nhi.identity': 'x-agent' };
const V = { 'service.name': 'v-agent', 'nhi.identity': 'v-agent' };
const invoke = (name: string) => ({ 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': name });

let h: EngineHarness;
beforeEach(() => { h = engineHarness(config, () => T0); });
afterEach(() => h.close());

/** X's request from F, in which X asks V to search; V's own request from F (kb.search -> tickets.update). */
function xCallsV(traceId: string, t: number): DecodedSpan[] {
  const at = (ms: number, len = 100) => ({ traceId, start: t + ms, end: t + ms + len });
  return [
    span({ id: 1, parent: 0xf1, kind: SpanKind.SERVER, ...at(0, 5000), resource: X, attrs: invoke('x') }),
    tool(2, 1, 'plan', { ...at(100), resource: X }),
    http(3, 2, 'GET', 'http://plans.internal/p', { ...at(110, 50), resource: X }),
    span({ id: 4, parent: 1, kind: SpanKind.CLIENT, ...at(1000, 1000), resource: X, attrs: invoke('v') }),
    span({ id: 5, parent: 4, kind: SpanKind.SERVER, ...at(1010, 900), resource: V, attrs: invoke('v') }),
    tool(6, 5, 'kb.search', { ...at(1100), resource: V }),
    http(7, 6, 'GET', 'http://kb.internal/q', { ...at(1110, 50), resource: V }),
    tool(8, 1, 'answer', { ...at(2500), resource: X }),
  ];
}
function vOwn(traceId: string, t: number): DecodedSpan[] {
  const at = (ms: number, len = 100) => ({ traceId, start: t + ms, end: t + ms + len });
  return [
    span({ id: 20, parent: 0xf2, kind: SpanKind.SERVER, ...at(3000, 1500), resource: V, attrs: invoke('v') }),
    tool(21, 20, 'kb.search', { ...at(3100), resource: V }),
    http(22, 21, 'GET', 'http://kb.internal/q', { ...at(3110, 50), resource: V }),
    tool(23, 20, 'tickets.update', { ...at(3300), resource: V }),
    http(24, 23, 'PUT', 'https://tickets.corp/t/1', { ...at(3310, 50), resource: V }),
  ];
}

it("owners: V's own steps stay V's when X's hop into V is in the same export", () => {
  const b = new ActionBuilder(config, () => {});
  b.add([...xCallsV(tid(1), T0), ...vOwn(tid(1), T0)], 0);
  const acts = b.drain();
  const out = new TraceSteps().annotate(acts);
  const owners = acts.flatMap((a, i) => (a.identity === 'v-agent' ? [[a.target, a.caller ?? null, out[i].owner]] : []));
  expect(owners.sort()).toEqual([
    ['kb.internal/q', 'x-agent', 'x-agent'], // in X's hop
    ['kb.internal/q', null, 'v-agent'],
    ['kb.search', 'x-agent', 'x-agent'],
    ['kb.search', null, 'v-agent'],
    ['tickets.corp/t/{id}', null, 'v-agent'],
    ['tickets.update', null, 'v-agent'],
  ].sort());
});

/** The engine fed through one builder: X calling V in its traces, V's own requests in theirs. Returns the time after. */
function learn(b: ActionBuilder): number {
  let t = T0;
  for (let i = 0; i < 200; i++, t += 10 * MIN) {
    b.add(xCallsV(tid(2 * i), t), 0);
    h.feed(b.drain());
    b.add(vOwn(tid(2 * i + 1), t), 0);
    h.feed(b.drain());
  }
  expect(h.alerts).toEqual([]);
  return t;
}

it("engine: V's own learned chain is not raised as X's unlearned chain because X also called V in that trace", () => {
  const b = new ActionBuilder(config, () => {});
  const t = learn(b);
  b.add([...xCallsV(tid(9999), t), ...vOwn(tid(9999), t)], 0);
  h.feed(b.drain());
  h.engine.finish();
  expect(h.alerts.map((a) => [a.identity, a.detector, a.evidence.subject])).toEqual([]);
});

it("engine: V's own task exported first is not adopted by X's hop into V that comes later in the trace", () => {
  const b = new ActionBuilder(config, () => {});
  const t = learn(b);
  b.add(vOwn(tid(9999), t), 0);
  h.feed(b.drain());
  b.add(xCallsV(tid(9999), t), 0);
  h.feed(b.drain());
  h.engine.finish();
  expect(h.alerts.map((a) => [a.identity, a.detector, a.evidence.subject])).toEqual([]);
});
