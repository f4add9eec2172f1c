/**
 * An MCP server's write exported after the agent's `tools/call` (review38 H2). A tool takes the strongest
 * class of what is done below it, across identities (CONTRACT §3: "they arrive in any order, in separate
 * batches"). With the server's spans first, the agent's tool is emitted with the server's delete; with the
 * agent's first (its trace complete, emitted at once), the tool was emitted with no class, and the delete
 * was judged only as the server's, routine for it since another agent deletes through it. The late class
 * is now a class-only action of the agent's tool: judged by unexpected_write, its access alone learned.
 * The actions come from spans through the ActionBuilder, in both orders.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ActionBuilder } from '../../src/actions/builder.js';
import { configSchema } from '../../src/config/schema.js';
import type { DecodedSpan } from '../../src/model.js';
import { sid, span, SpanKind, tid, tool } from '../actions/fixtures.js';
import { engineHarness, type EngineHarness } from './harness.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const config = configSchema.parse({});
const CLEANUP = { 'service.name': 'cleanup-agent', 'nhi.identity': 'cleanup-1' };
const SUPPORT = { 'service.name': 'support-agent', 'nhi.identity': 'support-1' };
const SERVER = { 'service.name': 'files-mcp', 'nhi.identity': 'files-mcp' };

let h: EngineHarness;
beforeEach(() => {
  h = engineHarness(config, () => T0);
});
afterEach(() => h.close());

/**
 * One `manage_file` call through the MCP server in trace `n` at `t`: the agent's task (1), its CLIENT
 * tools/call (2), the server's SERVER span (3) and its DB statement (4). Returns [agent's spans, server's].
 */
function call(n: number, t: number, agent: typeof SUPPORT, verb: 'SELECT' | 'DELETE'): [DecodedSpan[], DecodedSpan[]] {
  const traceId = tid(n);
  const at = (ms: number, len: number) => ({ traceId, start: t + ms, end: t + ms + len });
  return [
    [
      span({ id: 1, parent: null, kind: SpanKind.SERVER, ...at(0, 900), resource: agent, attrs: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'support' } }),
      tool(2, 1, 'manage_file', { kind: SpanKind.CLIENT, ...at(100, 500), resource: agent, attrs: { 'mcp.method.name': 'tools/call', 'server.address': 'files-mcp.internal' } }),
    ],
    [
      span({ id: 3, parent: 2, kind: SpanKind.SERVER, ...at(120, 400), resource: SERVER, attrs: { 'mcp.method.name': 'tools/call' } }),
      span({ id: 4, parent: 3, kind: SpanKind.CLIENT, ...at(150, 50), resource: SERVER, attrs: { 'db.system.name': 'postgresql', 'db.namespace': 'files', 'db.collection.name': 'files', 'db.operation.name': verb } }),
    ],
  ];
}

/** The builder's clock: each export comes a second after the one before. */
let now = 0;

/** Feeds exports through one builder, each taken a second after it came (a ready trace is emitted by then). */
function run(b: ActionBuilder, ...exports: DecodedSpan[][]): void {
  for (const spans of exports) h.feed(exported(b, spans));
}

function exported(b: ActionBuilder, spans: DecodedSpan[]) {
  b.add(spans, (now += 1000));
  return b.take((now += 1000));
}

/** Three days: the cleanup agent deletes through the server, the support agent only reads through it. */
function baseline(b: ActionBuilder, agentFirst: boolean): number {
  let t = T0;
  for (let i = 0; i < 400; i++, t += 10 * MIN) {
    const [agent, server] = call(i, t, i % 2 ? CLEANUP : SUPPORT, i % 2 ? 'DELETE' : 'SELECT');
    if (agentFirst) run(b, agent, server);
    else run(b, server, agent);
  }
  return t;
}

const raised = () => h.alerts.map((a) => [a.identity, a.detector, a.severity, a.evidence.subject]);

describe("an MCP server's delete for the agent, whichever side's spans are exported first", () => {
  for (const agentFirst of [true, false]) {
    it(`${agentFirst ? 'agent' : 'server'} first: the support agent's manage_file that deletes raises unexpected_write; the routine reads and deletes raise nothing`, () => {
      const b = new ActionBuilder(config, () => {});
      const t = baseline(b, agentFirst);
      expect(raised()).toEqual([]);
      const [agent, server] = call(1000, t, SUPPORT, 'DELETE');
      if (agentFirst) run(b, agent, server);
      else run(b, server, agent);
      h.engine.finish();
      expect(raised()).toEqual([['support-1', 'unexpected_write', 'critical', 'manage_file|delete']]);
      expect(h.alerts[0].explanation).toMatch(/^support-1's `manage_file` led to a delete by files-mcp, which served it/);
      expect(h.alerts[0].evidence.spanIds).toEqual([sid(2)]);
    });
  }

  it('the late class is no call of its own: the tool is counted once, and is no step or retry', () => {
    const b = new ActionBuilder(config, () => {});
    const [agent, server] = call(1, T0, SUPPORT, 'DELETE');
    expect(exported(b, agent).map((a) => [a.kind, a.target, a.access, a.classOnly])).toEqual([['tool', 'manage_file', null, false]]);
    const late = exported(b, server);
    expect(late.map((a) => [a.identity, a.kind, a.target, a.access, a.accessBy, a.retry, a.classOnly])).toEqual([
      ['support-1', 'tool', 'manage_file', 'delete', 'files-mcp', false, true],
      ['support-1', 'delegation', 'files-mcp', null, null, false, false],
      ['files-mcp', 'db', 'postgresql/files/files', 'delete', null, false, false],
    ]);
    expect(late[0].spanId).toBe(sid(2));
    // A second late subtree as strong adds nothing: the remembered tool has the class now.
    const again = span({ id: 5, parent: 2, kind: SpanKind.SERVER, traceId: tid(1), start: T0 + 700, end: T0 + 800, resource: SERVER, attrs: { 'db.system.name': 'postgresql', 'db.operation.name': 'DELETE' } });
    expect(exported(b, [again]).filter((a) => a.classOnly)).toEqual([]);
  });
});
