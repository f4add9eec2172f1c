/**
 * An operator's allow, as an analyst uses it: allowing what an alert names makes the behaviour normal, and
 * only that (review21 H1, H2).
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Action } from '../../src/actions/types.js';
import { registerIdentityRoutes } from '../../src/api/identities.js';
import { ApiServer } from '../../src/api/server.js';
import { configSchema } from '../../src/config/schema.js';
import { createMetrics } from '../../src/metrics.js';
import type { Dimension } from '../../baselines/keys.js';
import { action as act, engineHarness, type EngineHarness } from './harness.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const config = configSchema.parse({ zones: { internal: ['*.internal'] } });
const ID = 'spiffe://acme/agent-7';
const CUSTOMER = 'crm.internal/api/customers/{id}';

let h: EngineHarness;
beforeEach(() => {
  h = engineHarness(config, () => T0);
});
afterEach(() => h.close());

let traces = 0;
/** A `crm.search` tool call and the HTTP call it made, one trace: both of one access class. */
function toolCall(time: number, access: 'read' | 'delete'): Action[] {
  const traceId = (++traces).toString(16).padStart(32, 'f');
  const tool = act({ identity: ID, time, traceId, spanId: 'a'.repeat(16), access });
  const http = act({ identity: ID, time: time + 5, traceId, spanId: 'b'.repeat(16), parentSpanId: tool.spanId, kind: 'http', target: CUSTOMER, host: 'crm.internal', zone: 'internal', access });
  return [tool, http];
}

/** 32 hours of reads, 320 tool calls, and a call to GitHub now and then: judged against itself afterwards. Returns the next time. */
function learn(): number {
  let t = T0;
  for (let i = 0; i < 320; i++, t += 6 * MIN) {
    h.feed(toolCall(t, 'read'));
    if (i % 10 === 0) h.feed([act({ identity: ID, time: t + MIN, kind: 'http', target: 'api.github.com/repos', host: 'api.github.com', zone: 'external' })]);
  }
  expect(h.alerts).toEqual([]);
  return t;
}

// Regression (review21 H1): a tool's delete and its HTTP DELETE merge into one alert, which named only the
// tool's allow item; after the operator allowed it, the same call raised a second alert (and, with a
// revocation rule, revoked the agent's refreshed token).
it("an alert on a tool's step names every item to allow, and allowing them quiets the same call", () => {
  const t = learn();
  h.feed(toolCall(t, 'delete'));
  expect(h.alerts).toHaveLength(1);
  const allow = h.alerts[0].evidence.allow as Array<{ dimension: Dimension; item: string }>;
  expect(allow).toEqual([
    { dimension: 'access', item: 'crm.search|delete' },
    { dimension: 'access', item: `${CUSTOMER}|delete` },
  ]);
  expect(h.operator.allow(ID, allow)).toBe(true);
  h.feed(toolCall(t + 2 * 60 * MIN, 'delete')); // after the suppression window: a new alert if it were not normal
  expect(h.alerts).toHaveLength(1);
});

// Regression (review21 H2): allowing the new tool of a held finding dropped all of it, the new external
// host its call reached included: that first contact was never raised, nor learned.
it('allowing part of a held scope_drift finding drops only that part: the new host it also named is raised', () => {
  const t = learn();
  const traceId = 'e'.repeat(32);
  const tool = act({ identity: ID, time: t, traceId, spanId: 'c'.repeat(16), target: 'summarize' });
  const call = act({ identity: ID, time: t + 5, traceId, spanId: 'd'.repeat(16), parentSpanId: tool.spanId, kind: 'http', target: 'paste.evil.example/api', host: 'paste.evil.example', zone: 'external' });
  h.feed([tool, call]);
  expect(h.alerts).toEqual([]); // held for a possible rollout
  expect(h.operator.allow(ID, [{ dimension: 'tool', item: 'summarize' }])).toBe(true);
  h.engine.finish(); // the hold runs out: no peer adopted the host
  expect(h.alerts.map((a) => [a.detector, a.evidence.subject, a.title])).toEqual([['scope_drift', 'host:paste.evil.example', 'New host paste.evil.example']]);
  const items = (h.alerts[0].evidence.newItems as Array<{ dimension: string; item: string }>).map((i) => `${i.dimension}:${i.item}`);
  expect(items).toEqual(['host:paste.evil.example', 'target:paste.evil.example/api']);
  expect(h.alerts[0].explanation).toContain('An operator has allowed tool `summarize` since');
});

// Regression (review21 L2): an allowed typo (`crm.serch`) was stored without a word, never matched, and
// left the alert it was meant to quiet going on. The allow is still made (an item may be allowed ahead of
// its first use), but the answer and the log say which items nothing has seen.
it('an allow says which items neither the baseline, the peer group nor an alert has seen', async () => {
  const t = learn();
  h.feed(toolCall(t, 'delete'));
  expect(h.alerts).toHaveLength(1);
  const logs: Array<{ level: number; msg: string; unseen?: unknown }> = [];
  const logger = pino({ level: 'info' }, new Writable({ write: (c, _e, cb) => (logs.push(JSON.parse(String(c))), cb()) }));
  const api = new ApiServer({ config, token: 'allow-test-token-0123456789', metrics: createMetrics(), logger, readiness: () => 'ready' });
  registerIdentityRoutes(api, h.operator, h.db, logger);
  api.serve();
  const port = await api.listen('127.0.0.1:0');
  try {
    const allow = async (items: Array<{ dimension: string; item: string }>) => {
      const res = await fetch(`http://127.0.0.1:${port}/v1/identities/${encodeURIComponent(ID)}/allow`, {
        method: 'POST',
        headers: { Authorization: 'Bearer allow-test-token-0123456789', 'Content-Type': 'application/json' },
        body: JSON.stringify({ items }),
      });
      expect(res.status).toBe(200);
      return (await res.json()) as { allowed: unknown[]; unseen?: unknown[]; warning?: string };
    };
    // What the alert offers, and what the identity uses: nothing to say.
    const quiet = await allow([...(h.alerts[0].evidence.allow as never[]), { dimension: 'tool', item: 'crm.search' }, { dimension: 'host', item: 'api.github.com' }]);
    expect([quiet.allowed.length, quiet.unseen, quiet.warning]).toEqual([4, undefined, undefined]);
    const typo = await allow([{ dimension: 'tool', item: 'crm.serch' }, { dimension: 'tool', item: 'crm.search' }]);
    expect(typo.unseen).toEqual([{ dimension: 'tool', item: 'crm.serch' }]);
    expect(typo.warning).toBe(`tool crm.serch: never used by ${ID} or its peer group, nor named by its alerts; check the spelling`);
    expect(logs.filter((l) => l.level === 40).map((l) => [l.msg, l.unseen])).toEqual([['operator allowed items never seen', [{ dimension: 'tool', item: 'crm.serch' }]]]);
    // Made all the same: the second allow of it is of an item the baseline now counts.
    expect((await allow([{ dimension: 'tool', item: 'crm.serch' }])).unseen).toBeUndefined();
  } finally {
    await api.close();
  }
});

// Review34 F3: a fleet-wide change to a sensitive item (a failover of a sensitive database) is never a
// rollout: every member raised it, high, each suppression window, until allowed one by one.
it('an allow for a peer group quiets every current member at once', () => {
  const members = ['spiffe://acme/hr-1', 'spiffe://acme/hr-2', 'spiffe://acme/hr-3'];
  const query = (identity: string, time: number, host: string) => act({ identity, time, kind: 'db', target: 'postgresql/hr', host, zone: 'internal', sensitive: true });
  let t = T0;
  for (let i = 0; i < 320; i++, t += 6 * MIN) h.feed(members.map((id, n) => query(id, t + n, 'hr-db-1.internal')));
  expect(h.alerts).toEqual([]);
  h.feed(members.map((id, n) => query(id, t + n, 'hr-db-2.internal')));
  h.engine.finish();
  expect(h.alerts.map((a) => [a.identity, a.severity, a.evidence.subject])).toEqual(members.map((id) => [id, 'high', 'host:hr-db-2.internal']));

  expect(h.operator.allowGroup('no-such-group', [{ dimension: 'host', item: 'hr-db-2.internal' }])).toBeNull();
  const done = h.operator.allowGroup('agents', [{ dimension: 'host', item: 'hr-db-2.internal' }, { dimension: 'host', item: 'hr-db-3.internal' }]);
  expect(done).toEqual({ members: 3, unseen: [{ dimension: 'host', item: 'hr-db-3.internal' }] });
  h.feed(members.map((id, n) => query(id, t + 2 * 60 * MIN + n, 'hr-db-2.internal')));
  h.engine.finish();
  expect(h.alerts).toHaveLength(3);
});

// Review41 H2: an allow could be neither listed nor undone, and `reset` did not undo a peer group's allow.
it('allows are listed (who, when, what) and undone: a disallowed item is judged as new again, for an identity or a peer group', async () => {
  const t = learn();
  const logger = pino({ level: 'silent' });
  const api = new ApiServer({ config, token: 'allow-test-token-0123456789', metrics: createMetrics(), logger, readiness: () => 'ready' });
  registerIdentityRoutes(api, h.operator, h.db, logger);
  api.serve();
  const port = await api.listen('127.0.0.1:0');
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: { Authorization: 'Bearer allow-test-token-0123456789', 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const writes = () => h.alerts.filter((a) => a.detector === 'unexpected_write');
  try {
    h.feed(toolCall(t, 'delete'));
    expect(writes()).toHaveLength(1);
    const items = writes()[0].evidence.allow as Array<{ dimension: string; item: string }>;
    // The allow it offers, given for the whole group by mistake: every member's deletes pass.
    expect((await call('POST', '/v1/peer-groups/agents/allow', { items })).status).toBe(200);
    h.feed(toolCall(t + 2 * 60 * MIN, 'delete'));
    h.engine.finish();
    expect(writes()).toHaveLength(1);

    const listed = await call('GET', '/v1/allows');
    expect(listed.body).toMatchObject({ allows: [{ id: 1, by: expect.stringMatching(/^127\.0\.0\.1:\d+$/), action: 'allow', identity: null, peerGroup: 'agents', items }], next: null });
    expect(Date.parse((listed.body.allows as Array<{ at: string }>)[0].at)).toBeGreaterThan(0);

    const undone = await call('POST', '/v1/peer-groups/agents/disallow', { items });
    expect(undone.body).toEqual({ peerGroup: 'agents', members: 1, disallowed: items, held: items });
    h.feed(toolCall(t + 4 * 60 * MIN, 'delete'));
    h.engine.finish();
    expect(writes()).toHaveLength(2); // raised again

    expect((await call('POST', `/v1/identities/${encodeURIComponent(ID)}/disallow`, { items: [{ dimension: 'bulk', item: 'crm.search' }] })).status).toBe(400);
    expect((await call('POST', '/v1/identities/nobody/disallow', { items })).status).toBe(404);
    const mine = await call('GET', `/v1/allows?peerGroup=agents`);
    expect((mine.body.allows as Array<{ action: string }>).map((a) => a.action)).toEqual(['allow', 'disallow']);
    expect((await call('GET', `/v1/allows?identity=${encodeURIComponent(ID)}`)).body.allows).toEqual([]);
  } finally {
    await api.close();
  }
});

// Review44 H1: the allow also made every member an adopter of the item, so after the disallow its next
// use read as a rollout under way and was learned silently.
it('a disallowed new tool is raised at its next use, not taken for a rollout the allow began', () => {
  const members = ['spiffe://acme/m1', 'spiffe://acme/m2', 'spiffe://acme/m3', 'spiffe://acme/m4'];
  let t = T0;
  for (let i = 0; i < 320; i++, t += 6 * MIN) h.feed(members.map((id, n) => act({ identity: id, time: t + n, target: 'crm.search' })));
  const items = [{ dimension: 'tool' as Dimension, item: 'crm.export' }];
  h.operator.allowGroup('agents', items);
  expect(h.operator.disallowGroup('agents', items)).toMatchObject({ members: 4 });
  h.feed([act({ identity: members[1], time: t + HOUR, target: 'crm.export' })]);
  h.engine.finish();
  expect(h.alerts.map((a) => [a.identity, a.evidence.subject])).toEqual([[members[1], 'tool:crm.export']]);
});
