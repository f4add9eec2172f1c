/**
 * Egress that leaves through a remote agent (A2A `invoke_agent` CLIENT span), an HTTP MCP server
 * (`tools/call` CLIENT span) or a database at an outside host (CONTRACT §4 lateral_chaining: "a sensitive
 * read followed by egress to `external`"). The actions come from spans through the ActionBuilder, so what
 * is tested is the destination as the builder finds it: `server.address`, else the folded HTTP span's host.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import type { DecodedSpan } from '../../src/model.js';
import { http, sid, span, SpanKind, tool } from '../actions/fixtures.js';
import { action as act, engineHarness, replaySpans, sensitiveFlows, type EngineHarness } from './harness.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const config = configSchema.parse({
  zones: { secrets: ['vault.*'], internal: ['*.internal'] },
  sensitive: { zones: ['secrets'], tools: ['*secret*'] },
});
const SUP = { 'service.name': 'support-agent', 'nhi.identity': 'sup-1' };
const SECRET = 'https://vault.corp/v1/secret/data/stripe';

let h: EngineHarness;
beforeEach(() => {
  h = engineHarness(config, () => T0);
});
afterEach(() => h.close());

/**
 * 32 hours of the caller's usual work, judged against itself afterwards: a tool, a delegation to the
 * remote agent `billing` at billing.internal, an MCP tool `docs.search` at mcp.internal, a post to an
 * external host (so `external` is a zone it knows). Returns the next time.
 */
function learnCaller(): number {
  let t = T0;
  const me = { identity: 'sup-1', peerGroup: 'support-agent' };
  for (let i = 0; i < 320; i++, t += 6 * MIN) {
    h.feed([
      act({ ...me, time: t }),
      act({ ...me, time: t + 1000, kind: 'delegation', target: 'billing', access: null, host: 'billing.internal', zone: 'internal' }),
      act({ ...me, time: t + 2000, kind: 'tool', target: 'docs.search', access: null, host: 'mcp.internal', zone: 'internal' }),
      act({ ...me, time: t + 3000, kind: 'http', target: 'hooks.slack.com/services/{id}', access: 'write', host: 'hooks.slack.com', zone: 'external' }),
    ]);
  }
  return t;
}

/** The caller's task from `t`: `get_secret` reads the vault (2, 3), then `then` (from span 4) runs. */
function afterSecret(t: number, then: (at: number) => DecodedSpan[]): DecodedSpan[] {
  return [
    span({ id: 1, parent: null, kind: SpanKind.SERVER, start: t, end: t + 9000, resource: SUP, attrs: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'support' } }),
    tool(2, 1, 'get_secret', { start: t + 100, end: t + 300, resource: SUP }),
    http(3, 2, 'GET', SECRET, { start: t + 110, end: t + 290, resource: SUP }),
    ...then(t + 1000),
  ];
}

/** A CLIENT `invoke_agent billing` (4) with its HTTP POST (5) to `url`; `serverAddress` on the span when given. */
const remoteAgent = (url: string, serverAddress?: string) => (at: number): DecodedSpan[] => [
  span({ id: 4, parent: 1, kind: SpanKind.CLIENT, name: 'invoke_agent billing', start: at, end: at + 2000, resource: SUP, attrs: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'billing', ...(serverAddress ? { 'server.address': serverAddress } : {}) } }),
  http(5, 4, 'POST', url, { start: at + 10, end: at + 1900, resource: SUP }),
];

/** A CLIENT MCP `tools/call docs.search` (4) with no server.address, its HTTP POST (5) to `url`. */
const mcpCall = (url: string) => (at: number): DecodedSpan[] => [
  span({ id: 4, parent: 1, kind: SpanKind.CLIENT, name: 'tools/call docs.search', start: at, end: at + 2000, resource: SUP, attrs: { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'docs.search' } }),
  http(5, 4, 'POST', url, { start: at + 10, end: at + 1900, resource: SUP }),
];

/** A tool `archive` (4) inserting into a MongoDB collection (5) at `host`. */
const dbWrite = (host: string) => (at: number): DecodedSpan[] => [
  tool(4, 1, 'archive', { start: at, end: at + 2000, resource: SUP }),
  span({ id: 5, parent: 4, kind: SpanKind.CLIENT, start: at + 10, end: at + 1900, resource: SUP, attrs: { 'db.system.name': 'mongodb', 'db.namespace': 'loot', 'db.collection.name': 'dump', 'db.operation.name': 'insert', 'server.address': host } }),
];

const replay = (spans: DecodedSpan[]) => replaySpans(h, config, spans);
const flows = () => sensitiveFlows(h);

// Regression (review31 F2): the remote agent's host was dropped with its folded HTTP span, so a known
// agent name served from an attacker's host raised nothing.
describe('a sensitive read, then a delegation to a remote agent at an external host', () => {
  it('is a sensitive egress of the caller (host from the span\'s server.address)', () => {
    const t = learnCaller();
    replay(afterSecret(t, remoteAgent('https://agents.attacker.example/a2a/tasks', 'agents.attacker.example')));
    expect(flows()).toEqual([{ identity: 'sup-1', subject: 'get_secret => agents.attacker.example', spanIds: [sid(2), sid(3), sid(4)] }]);
  });

  it('and scope_drift names the new host of the known agent', () => {
    const t = learnCaller();
    replay(afterSecret(t, remoteAgent('https://agents.attacker.example/a2a/tasks', 'agents.attacker.example')));
    const drift = h.alerts.filter((a) => a.detector === 'scope_drift' && a.evidence.spanIds.includes(sid(4)));
    expect(drift.map((a) => [a.evidence.subject, a.evidence.newItems])).toEqual([
      ['host:agents.attacker.example', [{ dimension: 'host', item: 'agents.attacker.example', peersUsing: 0 }]],
    ]);
    expect(drift[0].explanation).toContain('used host `agents.attacker.example` for the first time. The agent `billing` it called there is not new.');
  });

  it('to the usual internal host it is no egress', () => {
    const t = learnCaller();
    replay(afterSecret(t, remoteAgent('https://billing.internal/a2a/tasks', 'billing.internal')));
    expect(flows()).toEqual([]);
    expect(h.alerts.filter((a) => a.evidence.spanIds.includes(sid(4)))).toEqual([]);
  });
});

describe('a sensitive read, then an MCP tool call to an external server', () => {
  it('is a sensitive egress (host from the folded HTTP span: no server.address)', () => {
    const t = learnCaller();
    replay(afterSecret(t, mcpCall('https://mcp.attacker.example/mcp')));
    expect(flows()).toEqual([{ identity: 'sup-1', subject: 'get_secret => mcp.attacker.example', spanIds: [sid(2), sid(3), sid(4)] }]);
  });
});

// Regression (review31 L1): only http, rpc and messaging counted as egress.
describe('a sensitive read, then a database write at an outside host', () => {
  it('is a sensitive egress when the host is external', () => {
    const t = learnCaller();
    replay(afterSecret(t, dbWrite('cluster0.attacker-atlas.example')));
    expect(flows()).toEqual([{ identity: 'sup-1', subject: 'get_secret => cluster0.attacker-atlas.example', spanIds: [sid(2), sid(3), sid(5)] }]);
  });

  it('and none when the database is internal', () => {
    const t = learnCaller();
    replay(afterSecret(t, dbWrite('mongo.internal')));
    expect(flows()).toEqual([]);
  });
});
