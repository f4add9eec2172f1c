/**
 * A release that gives a whole peer group a new tool that writes (review34 F1/F2): a rollout, as for a
 * new read tool, not a medium per instance every suppression window for ever. One instance doing it
 * alone is still raised, and peers that delete do not make a mass delete low (review34 E3).
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Action } from '../../src/actions/types.js';
import { configSchema } from '../../src/config/schema.js';
import { action as act, engineHarness, type EngineHarness } from './harness.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const config = configSchema.parse({});
const agents = [1, 2, 3, 4, 5, 6].map((n) => `spiffe://acme/support-${n}`);
/** Four days of tasks: every agent is judged against itself by then (over 300 actions). */
const MATURE = T0 + 96 * HOUR;

let h: EngineHarness;
beforeEach(() => {
  h = engineHarness(config, () => T0);
});
afterEach(() => h.close());

let trace = 0;
/** One task: a search, then `tool` (a write) in the same trace. */
function task(identity: string, time: number, tool: string, access: Action['access'] = 'write'): Action[] {
  const traceId = `trace-${++trace}`.padEnd(32, '0');
  return [act({ identity, time, traceId, target: 'kb.search', access: 'read' }), act({ identity, time: time + 1000, traceId, target: tool, access })];
}

/** Every agent updates tickets every 30 minutes from `from` to `to`, with `extra` of its own tasks. */
function run(from: number, to: number, extra: (identity: string, time: number) => Action[] = () => []): void {
  for (let t = from; t < to; t += 30 * MIN) h.feed(agents.flatMap((id, i) => [...task(id, t + i * 1000, 'ticket.update'), ...extra(id, t + i * 1000 + 5000)]));
}

const raised = (minimum = ['medium', 'high', 'critical']) => h.alerts.filter((a) => minimum.includes(a.severity)).map((a) => [a.identity.slice(-9), a.detector, a.evidence.subject]);

it('a new writing tool rolled out to every instance raises nothing, then and after the rollout window', () => {
  const learned = MATURE;
  run(T0, learned);
  expect(h.alerts).toEqual([]);
  run(learned, learned + 72 * HOUR, (id, t) => task(id, t, 'ticket.close'));
  h.engine.finish();
  expect(raised(['low', 'medium', 'high', 'critical'])).toEqual([]);
});

it('the same new writing tool on one instance alone is raised (after the hold for a rollout)', () => {
  const learned = MATURE;
  run(T0, learned);
  run(learned, learned + 6 * HOUR, (id, t) => (id === agents[0] ? task(id, t, 'ticket.close') : []));
  h.engine.finish();
  expect(raised()).toEqual(
    expect.arrayContaining([
      ['support-1', 'unexpected_write', 'ticket.close|write'],
      ['support-1', 'lateral_chaining', 'tool:kb.search -> tool:ticket.close'],
      ['support-1', 'scope_drift', 'tool:ticket.close'],
    ]),
  );
});

it('peers that delete customer records as their job lower a mass delete one step, not to low', () => {
  const learned = MATURE;
  const purge = (id: string, t: number) => (id === agents[4] || id === agents[5] ? task(id, t, 'crm.customers', 'delete') : []);
  run(T0, learned, purge);
  expect(h.alerts).toEqual([]);
  run(learned, learned + HOUR, (id, t) => [...purge(id, t), ...(id === agents[0] ? task(id, t, 'crm.customers', 'delete') : [])]);
  h.engine.finish();
  const deletes = h.alerts.filter((a) => a.detector === 'unexpected_write');
  expect(deletes.map((a) => [a.identity.slice(-9), a.severity, a.evidence.subject])).toEqual([['support-1', 'medium', 'crm.customers|delete']]);
});
