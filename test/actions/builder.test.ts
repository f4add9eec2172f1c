import { describe, expect, it } from 'vitest';
import type { Action } from '../../src/actions/types.js';
import { builder, span, SpanKind, StatusCode, T1, T2, tid, type SpanInit } from './fixtures.js';

const agentRoot = (init: SpanInit = {}) =>
  span({ id: 1, parent: null, name: 'invoke_agent billing', attrs: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'billing' }, ...init });
const tool = (id: number, parent: number, name: string, init: SpanInit = {}) =>
  span({ id, parent, name: `execute_tool ${name}`, ...init, attrs: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': name, ...init.attrs } });
const http = (id: number, parent: number | null, method: string, url: string, init: SpanInit = {}) =>
  span({ id, parent, kind: SpanKind.CLIENT, name: method, ...init, attrs: { 'http.request.method': method, 'url.full': url, ...init.attrs } });

const byTarget = (actions: Action[]) => Object.fromEntries(actions.map((a) => [a.target, a]));

describe('readiness', () => {
  it('a complete tree is emitted at the next take, without waiting', () => {
    const { b } = builder();
    b.add([http(3, 2, 'GET', 'https://api.example.com/x'), tool(2, 1, 'lookup'), agentRoot()], 1000);
    expect(b.heldSpans).toBe(3);
    const out = b.take(1000);
    expect(out.map((a) => a.kind)).toEqual(['tool', 'http']);
    expect(b.heldSpans).toBe(0);
    expect(b.heldTraces).toBe(0);
  });

  it('an incomplete tree waits traces.wait after its last new span, then is emitted with what it has', () => {
    const { b } = builder({ traces: { wait: '2s' } });
    b.add([tool(2, 1, 'lookup')], 1000);
    expect(b.take(1000)).toEqual([]);
    b.add([http(3, 2, 'GET', 'https://h/x')], 1500);
    expect(b.take(3499)).toEqual([]);
    const out = b.take(3500);
    expect(out.map((a) => a.target)).toEqual(['lookup', 'h/x']);
  });

  it('a SERVER span whose parent is in another process is a real root', () => {
    const { b, ignored } = builder();
    const mcp = { 'service.name': 'mcp-tickets', 'nhi.identity': 'spiffe://acme/mcp/tickets' };
    b.add([
      span({ id: 10, parent: 9, kind: SpanKind.SERVER, name: 'tools/call purge', attrs: { 'mcp.method.name': 'tools/call' }, resource: mcp }),
      span({ id: 11, parent: 10, kind: SpanKind.CLIENT, attrs: { 'db.system.name': 'postgresql', 'db.operation.name': 'DELETE', 'db.collection.name': 't' }, resource: mcp }),
    ], 1000);
    const out = b.take(1000);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ kind: 'db', identity: 'spiffe://acme/mcp/tickets', access: 'delete' });
    expect(ignored.server_span).toBe(1);
  });

  it('actions of a trace come in event-time order (start, end, span id)', () => {
    const { b } = builder();
    b.add([
      agentRoot(),
      http(4, 1, 'GET', 'https://h/c', { start: 1030 }),
      http(3, 1, 'GET', 'https://h/b', { start: 1010, end: 1050 }),
      http(2, 1, 'GET', 'https://h/a', { start: 1010, end: 1020 }),
    ], 0);
    expect(b.take(0).map((a) => a.target)).toEqual(['h/a', 'h/b', 'h/c']);
  });

  it('drain emits everything held', () => {
    const { b } = builder();
    b.add([tool(2, 1, 'a')], 0);
    b.add([tool(5, 4, 'b', { traceId: T2 })], 0);
    expect(b.drain().map((a) => a.target).sort()).toEqual(['a', 'b']);
    expect(b.heldSpans).toBe(0);
  });
});

describe('bounds (never drop)', () => {
  it('past traces.maxTraces the least recently extended trace is emitted with what it has', () => {
    const { b } = builder({ traces: { maxTraces: 2 } });
    b.add([tool(2, 1, 'first', { traceId: tid(1) })], 0);
    b.add([tool(2, 1, 'second', { traceId: tid(2) })], 1);
    b.add([tool(2, 1, 'third', { traceId: tid(3) })], 2);
    expect(b.heldTraces).toBe(2);
    expect(b.take(2).map((a) => a.target)).toEqual(['first']);
    expect(b.drain().map((a) => a.target)).toEqual(['second', 'third']);
  });

  it('a trace reaching traces.maxSpansPerTrace is emitted; later spans start a new part', () => {
    const { b } = builder({ traces: { maxSpansPerTrace: 2 } });
    b.add([tool(2, 1, 'a'), tool(3, 1, 'b'), tool(4, 1, 'c')], 0);
    expect(b.heldSpans).toBe(1);
    expect(b.take(0).map((a) => a.target)).toEqual(['a', 'b']);
    expect(b.drain().map((a) => a.target)).toEqual(['c']);
  });
});

describe('tool access from descendants', () => {
  it('children arriving in an earlier add call than their tool', () => {
    const { b } = builder();
    b.add([http(3, 2, 'GET', 'https://h/a'), http(4, 2, 'DELETE', 'https://h/b')], 0);
    expect(b.take(0)).toEqual([]);
    b.add([tool(2, 1, 'cleanup'), agentRoot()], 10);
    const t = byTarget(b.take(10));
    expect(t.cleanup.access).toBe('delete');
    expect(t['h/b'].access).toBe('delete');
  });

  it('children arriving in a later add call than their tool', () => {
    const { b } = builder();
    b.add([tool(2, 1, 'cleanup')], 0);
    b.add([http(3, 2, 'POST', 'https://h/a')], 5);
    b.add([agentRoot()], 10);
    expect(byTarget(b.take(10)).cleanup.access).toBe('write');
  });

  it('children emitted first (timed out) still raise their tool when it arrives later', () => {
    const { b } = builder({ traces: { wait: '1s' } });
    b.add([http(3, 2, 'DELETE', 'https://h/a')], 0);
    expect(b.take(1000).map((a) => a.target)).toEqual(['h/a']);
    b.add([tool(2, 1, 'cleanup'), agentRoot()], 5000);
    const out = b.take(5000);
    expect(out.map((a) => [a.target, a.access])).toEqual([['cleanup', 'delete']]);
  });

  it('an MCP server’s work (another identity) counts for the calling tool', () => {
    const { b } = builder();
    const mcp = { 'service.name': 'mcp', 'nhi.identity': 'mcp-server' };
    b.add([
      agentRoot(),
      span({ id: 2, parent: 1, kind: SpanKind.CLIENT, name: 'tools/call purge', attrs: { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'purge' } }),
      span({ id: 3, parent: 2, kind: SpanKind.SERVER, attrs: { 'mcp.method.name': 'tools/call' }, resource: mcp }),
      span({ id: 4, parent: 3, kind: SpanKind.CLIENT, attrs: { 'db.system.name': 'sqlite', 'db.operation.name': 'DELETE' }, resource: mcp }),
    ], 0);
    const out = b.take(0);
    expect(out.map((a) => [a.identity, a.kind, a.access])).toEqual([
      ['spiffe://acme/agent/billing', 'tool', 'delete'],
      ['mcp-server', 'db', 'delete'],
    ]);
  });

  it('a tool with no access information of its own or below stays null (never a default execute)', () => {
    const { b } = builder();
    b.add([agentRoot(), tool(2, 1, 'think')], 0);
    expect(b.take(0)[0].access).toBeNull();
  });
});

describe('a failed call counts once', () => {
  it('a tool failing because its HTTP call failed: the HTTP action carries the failure', () => {
    const { b } = builder();
    b.add([agentRoot(), tool(2, 1, 'fetch', { status: StatusCode.ERROR }), http(3, 2, 'GET', 'https://h/x', { attrs: { 'http.response.status_code': 500 } })], 0);
    const t = byTarget(b.take(0));
    expect(t.fetch.failed).toBe(false);
    expect(t['h/x'].failed).toBe(true);
  });

  it('a tool failing on its own keeps its failure', () => {
    const { b } = builder();
    b.add([agentRoot(), tool(2, 1, 'parse', { status: StatusCode.ERROR }), http(3, 2, 'GET', 'https://h/x')], 0);
    expect(byTarget(b.take(0)).parse.failed).toBe(true);
  });
});

describe('retries', () => {
  it('a repeated tool call id is a retry (per identity)', () => {
    const { b } = builder();
    b.add([agentRoot(), tool(2, 1, 'pay', { attrs: { 'gen_ai.tool.call.id': 'call_1' } }), tool(3, 1, 'pay', { start: 1100, attrs: { 'gen_ai.tool.call.id': 'call_1' } })], 0);
    expect(b.take(0).map((a) => a.retry)).toEqual([false, true]);
  });

  it('the same call repeated after its failure is a retry; after a success it is not', () => {
    const { b } = builder();
    b.add([
      agentRoot(),
      http(2, 1, 'GET', 'https://h/x', { start: 1000, attrs: { 'http.response.status_code': 503 } }),
      http(3, 1, 'GET', 'https://h/x', { start: 1100 }),
      http(4, 1, 'GET', 'https://h/x', { start: 1200 }),
    ], 0);
    expect(b.take(0).map((a) => [a.failed, a.retry])).toEqual([[true, false], [false, true], [false, false]]);
  });

  it('a parallel call that started before the failure ended is not its retry', () => {
    const { b } = builder();
    b.add([agentRoot(), http(2, 1, 'GET', 'https://h/x', { start: 1000, end: 1100, status: StatusCode.ERROR }), http(3, 1, 'GET', 'https://h/x', { start: 1001 })], 0);
    expect(b.take(0).map((a) => a.retry)).toEqual([false, false]);
  });

  it('http.request.resend_count > 0 is a retry', () => {
    const { b } = builder();
    b.add([agentRoot(), http(2, 1, 'GET', 'https://h/x', { attrs: { 'http.request.resend_count': 2 } })], 0);
    expect(b.take(0)[0].retry).toBe(true);
  });

  it('a re-sent span is a duplicate, not a retry, and is counted', () => {
    const { b, ignored } = builder();
    const t = tool(2, 1, 'pay', { attrs: { 'gen_ai.tool.call.id': 'call_1' } });
    b.add([agentRoot(), t], 0);
    expect(b.take(0)).toHaveLength(1);
    b.add([t], 1);
    expect(b.take(1)).toEqual([]);
    expect(ignored.duplicate_span).toBe(1);
  });
});

describe('delegation and agent context', () => {
  const agent = (id: number, parent: number | null, name: string, init: SpanInit = {}) =>
    span({ id, parent, name: `invoke_agent ${name}`, ...init, attrs: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': name } });

  it('the outermost agent span is the agent’s task; actions under it carry its name', () => {
    const { b, ignored } = builder();
    b.add([agent(1, null, 'triage'), tool(2, 1, 'search')], 0);
    const out = b.take(0);
    expect(out.map((a) => [a.kind, a.agent])).toEqual([['tool', 'triage']]);
    expect(ignored.agent_task).toBe(1);
  });

  it('a nested agent with another name is a delegation (agent-as-tool gives both actions)', () => {
    const { b } = builder();
    b.add([agent(1, null, 'triage'), tool(2, 1, 'refunds'), agent(3, 2, 'refunds'), tool(4, 3, 'issue_refund')], 0);
    expect(b.take(0).map((a) => [a.kind, a.target, a.agent])).toEqual([
      ['tool', 'refunds', 'triage'],
      ['delegation', 'refunds', 'triage'],
      ['tool', 'issue_refund', 'refunds'],
    ]);
  });

  it('a nested agent with the same name is not a delegation', () => {
    const { b, ignored } = builder();
    b.add([agent(1, null, 'triage'), agent(2, 1, 'triage')], 0);
    expect(b.take(0)).toEqual([]);
    expect(ignored.agent_task).toBe(2);
  });

  it('CLIENT invoke_agent is a delegation; its HTTP call is transport', () => {
    const { b, ignored } = builder();
    b.add([
      agent(1, null, 'triage'),
      span({ id: 2, parent: 1, kind: SpanKind.CLIENT, attrs: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'remote' } }),
      http(3, 2, 'POST', 'https://agents.example.com/a2a'),
    ], 0);
    expect(b.take(0).map((a) => [a.kind, a.target, a.agent])).toEqual([['delegation', 'remote', 'triage']]);
    expect(ignored.transport_span).toBe(1);
  });

  it('agent context does not cross identities', () => {
    const { b } = builder();
    const other = { 'service.name': 'svc-b', 'nhi.identity': 'b' };
    b.add([agent(1, null, 'triage'), span({ id: 2, parent: 1, kind: SpanKind.SERVER, resource: other }), http(3, 2, 'GET', 'https://h/x', { resource: other })], 0);
    expect(b.take(0)[0]).toMatchObject({ identity: 'b', agent: null, peerGroup: 'svc-b' });
  });
});

describe('transport and duplicates', () => {
  it('an HTTP span under a model call is its transport: folded, host filled in, failure merged', () => {
    const { b, ignored } = builder();
    b.add([
      agentRoot(),
      span({ id: 2, parent: 1, name: 'chat gpt-4o', attrs: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai' } }),
      http(3, 2, 'POST', 'https://api.openai.com/v1/chat/completions', { attrs: { 'http.response.status_code': 429 } }),
    ], 0);
    const out = b.take(0);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ kind: 'model', target: 'api.openai.com', host: 'api.openai.com', zone: 'external', access: null, failed: true });
    expect(ignored.transport_span).toBe(1);
  });

  it('a late HTTP child of an already emitted model call is still folded', () => {
    const { b, ignored } = builder();
    b.add([agentRoot(), span({ id: 2, parent: 1, attrs: { 'gen_ai.operation.name': 'chat', 'server.address': 'api.openai.com' } })], 0);
    expect(b.take(0)).toHaveLength(1);
    b.add([http(3, 2, 'POST', 'https://api.openai.com/v1/chat/completions')], 10);
    expect(b.take(10)).toEqual([]);
    expect(ignored.transport_span).toBe(1);
  });

  it('a late child of an emitted tool is emitted on its own at once, with its agent context', () => {
    const { b } = builder();
    b.add([agentRoot(), tool(2, 1, 'fetch')], 0);
    expect(b.take(0)).toHaveLength(1);
    b.add([http(3, 2, 'PUT', 'https://h/x')], 10);
    expect(b.take(10)).toMatchObject([{ kind: 'http', access: 'write', agent: 'billing' }]);
  });

  it('a tool span directly inside a tool span of the same name is one call', () => {
    const { b, ignored } = builder();
    b.add([
      agentRoot(),
      span({ id: 2, parent: 1, attrs: { 'openinference.span.kind': 'TOOL', 'tool.name': 'search' } }),
      span({ id: 3, parent: 2, kind: SpanKind.CLIENT, attrs: { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'search', 'nhi.access': 'read' } }),
    ], 0);
    expect(b.take(0).map((a) => [a.target, a.access])).toEqual([['search', 'read']]);
    expect(ignored.nested_tool_span).toBe(1);
  });
});

describe('ignore reasons are counted', () => {
  it('one count per span that yields no action, and unnamed tools', () => {
    const { b, ignored } = builder();
    b.add([
      agentRoot(),
      span({ id: 2, parent: 1 }),
      span({ id: 3, parent: 1, attrs: { 'gen_ai.operation.name': 'agent_step' } }),
      span({ id: 4, parent: 1, attrs: { 'gen_ai.operation.name': 'mystery' } }),
      span({ id: 5, parent: 1, attrs: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'StructuredTool' } }),
    ], 0);
    expect(b.take(0).map((a) => a.target)).toEqual(['unknown']);
    expect(ignored).toEqual({ agent_task: 1, not_an_action: 1, workflow_step: 1, unknown_operation: 1, unknown_tool_name: 1 });
  });
});

describe('zones, sensitivity, credentials', () => {
  const cfg = {
    zones: { secrets: ['vault.*'], internal: ['*.internal'] },
    sensitive: { zones: ['secrets'], tools: ['*secret*'], targets: ['postgresql/hr/*'] },
  };
  it('zone of the destination host; tools have no host or zone', () => {
    const { b } = builder(cfg);
    b.add([agentRoot(), tool(2, 1, 'x'), http(3, 2, 'GET', 'https://billing.internal/a')], 0);
    expect(b.take(0).map((a) => [a.host, a.zone])).toEqual([[null, null], ['billing.internal', 'internal']]);
  });

  it('sensitive marks reads of sensitive zones, tools and targets, not writes', () => {
    const { b } = builder(cfg);
    b.add([
      agentRoot(),
      http(2, 1, 'GET', 'https://vault.prod/v1/secret/db'),
      http(3, 1, 'POST', 'https://vault.prod/v1/secret/db', { start: 1001 }),
      tool(4, 1, 'get_secret', { start: 1002 }),
      span({ id: 5, parent: 1, start: 1003, kind: SpanKind.CLIENT, attrs: { 'db.system.name': 'postgresql', 'db.namespace': 'hr', 'db.collection.name': 'salaries', 'db.operation.name': 'SELECT' } }),
      http(6, 1, 'GET', 'https://example.com/', { start: 1004 }),
    ], 0);
    expect(b.take(0).map((a) => a.sensitive)).toEqual([true, false, true, true, false]);
  });

  it('credential and scopes: span before resource; scopes as array or separated string', () => {
    const { b } = builder();
    const res = { 'service.name': 's', 'nhi.identity': 'i', 'nhi.credential.id': 'lease-res', 'nhi.credential.type': 'vault_lease', 'nhi.scopes': 'tickets:read, tickets:write' };
    b.add([
      span({ id: 1, resource: res, kind: SpanKind.CLIENT, attrs: { 'http.request.method': 'GET', 'url.full': 'https://h/a' } }),
      span({ id: 2, resource: res, start: 1001, kind: SpanKind.CLIENT, attrs: { 'http.request.method': 'GET', 'url.full': 'https://h/b', 'nhi.credential.id': 'jti-1', 'nhi.scopes': ['admin'] } }),
    ], 0);
    const [a, c] = b.take(0);
    expect(a.credential).toEqual({ id: 'lease-res', type: 'vault_lease' });
    expect(a.scopes).toEqual(['tickets:read', 'tickets:write']);
    expect(c.credential).toEqual({ id: 'jti-1', type: null });
    expect(c.scopes).toEqual(['admin']);
  });

  it('several identities in one trace: each span judged under its own resource', () => {
    const { b } = builder();
    b.add([agentRoot(), http(2, 1, 'GET', 'https://h/a', { resource: { 'service.name': 'other' } })], 0);
    expect(b.take(0)[0]).toMatchObject({ identity: 'other', peerGroup: 'other', traceId: T1 });
  });
});
