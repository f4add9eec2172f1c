/**
 * A call made directly in a SERVER span of its own identity whose parent is not in the trace (a bogus
 * remote parent) is still a step until a hop takes it back: the transition into it is judged (review49
 * F1: the first version of Action.inEntrySpan made it no step, its zone waiting for a hop that never came).
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ActionBuilder } from '../../src/actions/builder.js';
import { configSchema } from '../../src/config/schema.js';
import type { DecodedSpan } from '../../src/model.js';
import { agentRoot, http, span, SpanKind, tid, tool } from '../actions/fixtures.js';
import { engineHarness, type EngineHarness } from './harness.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const config = configSchema.parse({ zones: { internal: ['*.internal'], vault: ['vault.corp'] } });

let h: EngineHarness;
beforeEach(() => { h = engineHarness(config, () => T0); });
afterEach(() => h.close());

function session(n: number, t: number, shape: 'learn' | 'plain' | 'entry'): DecodedSpan[] {
  const traceId = tid(n);
  const at = (ms: number, len = 100) => ({ traceId, start: t + ms, end: t + ms + len });
  const spans = [
    agentRoot({ traceId, start: t, end: t + 9000 }),
    tool(2, 1, 'crm.search', at(100)),
    http(3, 2, 'GET', 'http://crm.internal/c/1', at(110, 50)),
  ];
  if (shape === 'learn') {
    // The usual chain, and (another trace) the vault write as a first step: target and write known, chain not.
    spans.push(tool(4, 1, 'mail.send', at(300)), http(5, 4, 'POST', 'http://mail.internal/send', at(310, 50)));
    return [...spans, http(6, null, 'PUT', 'https://vault.corp/v1/secret/x', { traceId: tid(100_000 + n), start: t + 50, end: t + 90 })];
  }
  if (shape === 'plain') return [...spans, http(7, 1, 'PUT', 'https://vault.corp/v1/secret/x', at(300, 50))];
  // The attacker's shape: a SERVER span of its own, parent a made-up remote span, the write directly in it.
  return [...spans, span({ id: 8, parent: 0xdead, kind: SpanKind.SERVER, ...at(290, 80) }), http(9, 8, 'PUT', 'https://vault.corp/v1/secret/x', at(300, 50))];
}

function run(shape: 'plain' | 'entry') {
  const b = new ActionBuilder(config, () => {});
  let t = T0;
  for (let i = 0; i < 200; i++, t += 10 * MIN) { b.add(session(i, t, 'learn'), 0); h.feed(b.drain()); }
  expect(h.alerts).toEqual([]);
  b.add(session(5000, t, shape), 0);
  h.feed(b.drain());
  h.engine.finish();
  return h.alerts.map((a) => [a.detector, a.evidence.subject]);
}

it('control: crm.search -> PUT vault (call under the agent span) raises the unlearned chain', () => {
  const alerts = run('plain');
  expect(alerts).toContainEqual(['lateral_chaining', expect.stringContaining('crm.search')]);
});

it('the same write directly in a SERVER span with a bogus remote parent raises it too', () => {
  const alerts = run('entry');
  expect(alerts).toContainEqual(['lateral_chaining', expect.stringContaining('crm.search')]);
});
