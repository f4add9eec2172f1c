/**
 * unexpected_write per table on a database whose spans name no collection (review34 E2): the target is
 * one per database (CONTRACT §3), so a tool that inserts notes hid `UPDATE users SET role='admin'`. What
 * must stay quiet: the tables it writes, and the first writes by table after an upgrade, when the
 * database's writes were learned without their tables.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Action } from '../../src/actions/types.js';
import { configSchema } from '../../src/config/schema.js';
import { action as act, engineHarness, type EngineHarness } from './harness.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const config = configSchema.parse({});
const agents = [1, 2, 3, 4].map((n) => `spiffe://acme/support-${n}`);
/** Four days of notes: every agent is judged against itself by then. */
const MATURE = T0 + 96 * HOUR;

let h: EngineHarness;
beforeEach(() => {
  h = engineHarness(config, () => T0);
});
afterEach(() => h.close());

/** A `crm.notes` call and the statement it runs on the CRM database (`table` null: a build that read none). */
function note(identity: string, time: number, table: string | null = 'notes'): Action[] {
  const tool = act({ identity, time, peerGroup: 'support', target: 'crm.notes', access: 'write' });
  const statement = act({
    identity, time: time + 10, peerGroup: 'support', kind: 'db', target: 'postgresql/crm', access: 'write', host: 'crm-db.internal', zone: 'internal',
    traceId: tool.traceId, parentSpanId: tool.spanId, table,
  });
  return [tool, statement];
}

/** A `crm.refresh` call running a stored procedure on the CRM database (`CALL refresh_stats()` names `refresh_stats()`). */
function procedure(identity: string, time: number, table: string): Action[] {
  const tool = act({ identity, time, peerGroup: 'support', target: 'crm.refresh', access: 'execute' });
  const statement = act({
    identity, time: time + 10, peerGroup: 'support', kind: 'db', target: 'postgresql/crm', access: 'execute', host: 'crm-db.internal', zone: 'internal',
    traceId: tool.traceId, parentSpanId: tool.spanId, table,
  });
  return [tool, statement];
}

/** Every agent writes a note every 30 minutes from `from` to `to`. */
function notes(from: number, to: number, table: string | null = 'notes'): void {
  for (let t = from; t < to; t += 30 * MIN) h.feed(agents.flatMap((id, i) => note(id, t + i * 1000, table)));
}

const raised = () => h.alerts.map((a) => [a.identity.slice(-9), a.detector, a.severity, a.evidence.subject]);

it('raises an update of a table the tool never wrote, through the tool that writes notes, and not the notes', () => {
  notes(T0, MATURE);
  h.feed(note(agents[0], MATURE + MIN, 'users'));
  notes(MATURE + 2 * MIN, MATURE + 4 * HOUR);
  expect(raised()).toEqual([['support-1', 'unexpected_write', 'medium', 'postgresql/crm/users|write']]);
  expect(h.alerts[0].explanation).toMatch(/performed a write on `postgresql\/crm\/users` \(zone internal\)\. Its writes on `postgresql\/crm` \(\d+ times over 4 days, .*\) never went to its table `users`/);
  expect(h.alerts[0].evidence.allow).toEqual([{ dimension: 'access', item: 'postgresql/crm/users|write' }]);
});

it('raises a new member writing a table its peers never write, and not one writing theirs', () => {
  notes(T0, MATURE);
  const [newcomer, other] = ['spiffe://acme/support-7', 'spiffe://acme/support-8'];
  h.feed([...note(newcomer, MATURE + MIN, 'users'), ...note(other, MATURE + MIN, 'notes')]);
  h.engine.finish(); // (a plain write is held for a rollout a while first)
  expect(raised()).toEqual([['support-7', 'unexpected_write', 'medium', 'postgresql/crm/users|write']]);
  expect(h.alerts[0].explanation).toMatch(/It is new, and its peers' writes on `postgresql\/crm` never went to its table `users`/);
});

it('after an upgrade, judges by table only once most learned writes named their tables', () => {
  notes(T0, MATURE, null); // learned by a build that read no tables
  // The first day after the upgrade it writes `users` too, as it always did: nothing raised.
  for (let t = MATURE; t < MATURE + 24 * HOUR; t += 30 * MIN) h.feed(agents.flatMap((id, i) => [...note(id, t + i * 1000), ...note(id, t + i * 1000 + 5000, 'users')]));
  expect(raised()).toEqual([]);
  // Weeks on, its writes are learned by table: a table it never wrote is raised.
  notes(MATURE + 24 * HOUR, MATURE + 24 * HOUR + 30 * 24 * HOUR);
  expect(raised()).toEqual([]);
  h.feed(note(agents[1], MATURE + 32 * 24 * HOUR, 'api_keys'));
  h.engine.finish();
  expect(raised()).toEqual([['support-2', 'unexpected_write', 'medium', 'postgresql/crm/api_keys|write']]);
});

it('once an operator allows the table, the next update passes', () => {
  notes(T0, MATURE);
  h.feed(note(agents[0], MATURE + MIN, 'users'));
  notes(MATURE + 2 * MIN, MATURE + 4 * HOUR);
  expect(raised()).toHaveLength(1);
  expect(h.operator.allow(agents[0], [{ dimension: 'access', item: 'postgresql/crm/users|write' }])).toBe(true);
  h.feed(note(agents[0], MATURE + 5 * HOUR, 'users'));
  h.engine.finish();
  expect(raised()).toHaveLength(1);
});

it('raises a stored procedure the identity never ran, through the tool that runs another', () => {
  for (let t = T0; t < MATURE; t += 30 * MIN) h.feed(agents.flatMap((id, i) => procedure(id, t + i * 1000, 'refresh_stats()')));
  h.feed(procedure(agents[2], MATURE + MIN, 'grant_admin()'));
  h.feed(procedure(agents[3], MATURE + MIN, 'refresh_stats()'));
  h.engine.finish();
  expect(raised()).toEqual([['support-3', 'unexpected_write', 'high', 'postgresql/crm/grant_admin()|execute']]);
});
