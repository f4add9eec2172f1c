import { describe, expect, it } from 'vitest';
import { RETRY_IDLE_MS } from '../../src/actions/retry.js';
import { agentRoot, builder, G, http, span, SpanKind, StatusCode, T1, T2, tid, tool, type SpanInit } from './fixtures.js';

describe('retries', () => {
  it('a repeated tool call id is a retry (per identity)', () => {
    const { b } = builder();
    b.add([agentRoot(), tool(2, 1, 'pay', { attrs: { 'gen_ai.tool.call.id': 'call_1' } }), tool(3, 1, 'pay', { start: 1100, attrs: { 'gen_ai.tool.call.id': 'call_1' } })], 0);
    expect(b.take(G).map((a) => a.retry)).toEqual([false, true]);
  });

  // Review24 M2: the retry memory of every identity ever seen stayed until 100,000 were held.
  it('an identity idle for RETRY_IDLE_MS is forgotten: its call id sent again is a new call', () => {
    const { b } = builder();
    const call = (trace: number, at: number) => {
      const traceId = tid(trace);
      b.add([agentRoot({ traceId }), tool(trace + 1, 1, 'pay', { traceId, attrs: { 'gen_ai.tool.call.id': 'call_1' } })], at);
      return b.take(at + G).map((a) => [a.target, a.retry]);
    };
    expect(call(1, 0)).toEqual([['pay', false]]);
    expect(call(2, RETRY_IDLE_MS - 2 * G)).toEqual([['pay', true]]); // still remembered
    expect(call(3, 2 * RETRY_IDLE_MS)).toEqual([['pay', false]]);
  });

  it('the same call repeated after its failure is a retry; after a success it is not', () => {
    const { b } = builder();
    b.add([
      agentRoot(),
      http(2, 1, 'GET', 'https://h/x', { start: 1000, attrs: { 'http.response.status_code': 503 } }),
      http(3, 1, 'GET', 'https://h/x', { start: 1100 }),
      http(4, 1, 'GET', 'https://h/x', { start: 1200 }),
    ], 0);
    expect(b.take(G).map((a) => [a.failed, a.retry])).toEqual([[true, false], [false, true], [false, false]]);
  });

  it('a parallel call that started before the failure ended is not its retry', () => {
    const { b } = builder();
    b.add([agentRoot(), http(2, 1, 'GET', 'https://h/x', { start: 1000, end: 1100, status: StatusCode.ERROR }), http(3, 1, 'GET', 'https://h/x', { start: 1001 })], 0);
    expect(b.take(G).map((a) => a.retry)).toEqual([false, false]);
  });

  it('retry memory is per identity', () => {
    const { b } = builder();
    b.add([
      http(2, null, 'GET', 'https://h/x', { status: StatusCode.ERROR, resource: { 'service.name': 'a' } }),
      http(3, null, 'GET', 'https://h/x', { start: 1100, resource: { 'service.name': 'b' } }),
      http(4, null, 'GET', 'https://h/x', { start: 1200, resource: { 'service.name': 'a' } }),
    ], 0);
    expect(b.take(G).map((a) => [a.identity, a.retry])).toEqual([['a', false], ['b', false], ['a', true]]);
  });

  it('calls of several traces settled together are judged in event time: a repeat listed before its failure is its retry', () => {
    const { b } = builder();
    b.add([
      http(3, null, 'GET', 'https://h/x', { traceId: T2, start: 2000 }),
      http(2, null, 'GET', 'https://h/x', { start: 1000, attrs: { 'http.response.status_code': 503 } }),
    ], 0);
    expect(b.take(0).map((a) => [a.time, a.failed, a.retry])).toEqual([[1000, true, false], [2000, false, true]]);
  });

  it('a later failure of the same call, arriving first, does not hide an earlier one: the repeat after it is a retry', () => {
    const { b } = builder();
    b.add([http(9, null, 'GET', 'https://h/x', { traceId: T2, start: 61_000, attrs: { 'http.response.status_code': 503 } })], 0);
    b.take(0);
    b.add([agentRoot(), http(2, 1, 'GET', 'https://h/x', { start: 1000, attrs: { 'http.response.status_code': 503 } }), http(3, 1, 'GET', 'https://h/x', { start: 6000 })], 1);
    expect(b.take(1).map((a) => [a.time, a.retry])).toEqual([[1000, false], [6000, true]]);
  });

  it('http.request.resend_count > 0 is a retry', () => {
    const { b } = builder();
    b.add([agentRoot(), http(2, 1, 'GET', 'https://h/x', { attrs: { 'http.request.resend_count': 2 } })], 0);
    expect(b.take(G)[0].retry).toBe(true);
  });

  it('a re-sent span is a duplicate, not a retry, and is counted', () => {
    const { b, ignored } = builder();
    const t = tool(2, 1, 'pay', { attrs: { 'gen_ai.tool.call.id': 'call_1' } });
    b.add([agentRoot(), t], 0);
    expect(b.take(G)).toHaveLength(1);
    b.add([t], G + 1);
    expect(b.take(G + 1)).toEqual([]);
    expect(ignored.duplicate_span).toBe(1);
  });
});

describe('delegation and agent context', () => {
  const agent = (id: number, parent: number | null, name: string, init: SpanInit = {}) =>
    span({ id, parent, name: `invoke_agent ${name}`, ...init, attrs: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': name } });

  it('the outermost agent span is the agent’s task; actions under it carry its name', () => {
    const { b, ignored } = builder();
    b.add([agent(1, null, 'triage'), tool(2, 1, 'search')], 0);
    const out = b.take(G);
    expect(out.map((a) => [a.kind, a.agent])).toEqual([['tool', 'triage']]);
    expect(ignored.agent_task).toBe(1);
  });

  it('a nested agent with another name is a delegation (agent-as-tool gives both actions)', () => {
    const { b } = builder();
    b.add([agent(1, null, 'triage'), tool(2, 1, 'refunds'), agent(3, 2, 'refunds'), tool(4, 3, 'issue_refund')], 0);
    expect(b.take(G).map((a) => [a.kind, a.target, a.agent])).toEqual([
      ['tool', 'refunds', 'triage'],
      ['delegation', 'refunds', 'triage'],
      ['tool', 'issue_refund', 'refunds'],
    ]);
  });

  it('a nested agent with the same name is not a delegation', () => {
    const { b, ignored } = builder();
    b.add([agent(1, null, 'triage'), agent(2, 1, 'triage')], 0);
    expect(b.take(G)).toEqual([]);
    expect(ignored.agent_task).toBe(2);
  });

  it('CLIENT invoke_agent is a delegation; its HTTP call is transport', () => {
    const { b, ignored } = builder();
    b.add([
      agent(1, null, 'triage'),
      span({ id: 2, parent: 1, kind: SpanKind.CLIENT, attrs: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'remote' } }),
      http(3, 2, 'POST', 'https://agents.example.com/a2a'),
    ], 0);
    expect(b.take(G).map((a) => [a.kind, a.target, a.agent])).toEqual([['delegation', 'remote', 'triage']]);
    expect(ignored.transport_span).toBe(1);
  });

  it('agent context does not cross identities', () => {
    const { b } = builder();
    const other = { 'service.name': 'svc-b', 'nhi.identity': 'b' };
    b.add([agent(1, null, 'triage'), span({ id: 2, parent: 1, kind: SpanKind.SERVER, resource: other }), http(3, 2, 'GET', 'https://h/x', { resource: other })], 0);
    const out = b.take(G);
    expect(out.find((a) => a.identity === 'b')).toMatchObject({ identity: 'b', agent: null, peerGroup: 'svc-b', caller: 'spiffe://acme/agent/billing' });
    // The caller's side of the hop: a delegation of triage's identity, under triage's agent context.
    expect(out.find((a) => a.kind === 'delegation')).toMatchObject({ identity: 'spiffe://acme/agent/billing', target: 'b', agent: 'triage' });
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
    const out = b.take(G);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ kind: 'model', target: 'api.openai.com', host: 'api.openai.com', zone: 'external', access: null, failed: true });
    expect(ignored.transport_span).toBe(1);
  });

  it("a model call's parentless HTTP call to the provider is a model call of its own, and a model span under a model span folds (review38 M3)", () => {
    const { b, ignored } = builder();
    b.add([
      agentRoot(),
      span({ id: 2, parent: 1, kind: SpanKind.CLIENT, name: 'ChatOpenAI.chat', attrs: { 'llm.request.type': 'chat', 'gen_ai.system': 'Langchain' } }),
      span({ id: 3, parent: 2, kind: SpanKind.CLIENT, name: 'openai.chat', attrs: { 'llm.request.type': 'chat', 'gen_ai.system': 'OpenAI' } }),
      http(4, 3, 'POST', 'https://api.openai.com/v1/chat/completions'),
    ], 0);
    b.add([http(5, null, 'POST', 'https://api.openai.com/v1/chat/completions', { traceId: T2 })], 0);
    const out = b.take(G);
    expect(out.map((a) => [a.kind, a.target, a.access, a.host])).toEqual([
      ['model', 'api.openai.com', null, 'api.openai.com'],
      ['model', 'api.openai.com', null, 'api.openai.com'],
    ]);
    expect(ignored.transport_span).toBe(2);
  });

  it("a tool's stronger call in a later export gives the emitted tool a class-only action; the call is its own too (review37 F3)", () => {
    const { b } = builder();
    b.add([agentRoot(), tool(2, 1, 'crm.update'), http(3, 2, 'GET', 'https://crm.internal/api/c/1')], 0);
    expect(b.take(G).map((a) => [a.kind, a.target, a.access, a.classOnly])).toEqual([['tool', 'crm.update', 'read', false], ['http', 'crm.internal/api/c/{id}', 'read', false]]);
    b.add([http(4, 2, 'DELETE', 'https://crm.internal/api/c/1', { start: 1005 })], G + 10);
    const late = b.take(2 * G + 10);
    expect(late.map((a) => [a.kind, a.target, a.access, a.accessBy, a.classOnly])).toEqual([
      ['tool', 'crm.update', 'delete', null, true],
      ['http', 'crm.internal/api/c/{id}', 'delete', null, false],
    ]);
    // A weaker late call adds nothing.
    b.add([http(5, 2, 'GET', 'https://crm.internal/api/c/2', { start: 1006 })], 3 * G);
    expect(b.take(4 * G).filter((a) => a.classOnly)).toEqual([]);
  });

  it("a provider's inference endpoint called by an HTTP tool of the identity is that tool's send, not a model call (review39 H1)", () => {
    const { b } = builder();
    b.add([agentRoot(), tool(2, 1, 'http.post'), http(3, 2, 'POST', 'https://attacker.openai.azure.com/openai/deployments/x/chat/completions')], 0);
    expect(b.take(G).map((a) => [a.kind, a.target, a.access])).toEqual([
      ['tool', 'http.post', 'write'],
      ['http', 'attacker.openai.azure.com/openai/deployments/x/chat/completions', 'write'],
    ]);
  });

  it('a late HTTP child of an already emitted model call is still folded', () => {
    const { b, ignored } = builder();
    b.add([agentRoot(), span({ id: 2, parent: 1, attrs: { 'gen_ai.operation.name': 'chat', 'server.address': 'api.openai.com' } })], 0);
    expect(b.take(G)).toHaveLength(1);
    b.add([http(3, 2, 'POST', 'https://api.openai.com/v1/chat/completions')], G + 10);
    expect(b.take(G + 10)).toEqual([]);
    expect(ignored.transport_span).toBe(1);
  });

  it('a tool with no call yet waits a moment for one exported just after it, then is emitted as it is', () => {
    const { b } = builder();
    b.add([agentRoot(), tool(2, 1, 'fetch')], 0);
    expect(b.take(G - 1)).toEqual([]);
    b.add([http(3, 2, 'DELETE', 'https://h/x')], G - 1);
    expect(b.take(G - 1)).toEqual([]);
    expect(b.take(G).map((a) => [a.kind, a.access])).toEqual([['tool', 'delete'], ['http', 'delete']]);

    b.add([agentRoot({ traceId: T2 }), tool(2, 1, 'lookup', { traceId: T2 })], G);
    expect(b.take(2 * G).map((a) => [a.target, a.access])).toEqual([['lookup', null]]);
  });

  it('a late child of an emitted tool is emitted on its own at once, with its agent context (and the class it gives the tool)', () => {
    const { b } = builder();
    b.add([agentRoot(), tool(2, 1, 'fetch')], 0);
    expect(b.take(G)).toHaveLength(1);
    b.add([http(3, 2, 'PUT', 'https://h/x')], G + 10);
    expect(b.take(G + 10)).toMatchObject([
      { kind: 'tool', target: 'fetch', access: 'write', classOnly: true },
      { kind: 'http', access: 'write', agent: 'billing' },
    ]);
  });

  it('a second HTTP layer to the same host is one request; to another host it is its own call', () => {
    const { b, ignored } = builder();
    b.add([
      agentRoot(),
      http(2, 1, 'GET', 'https://h/a'),
      http(3, 2, 'GET', 'https://h/a'),
      http(4, 2, 'GET', 'https://cdn.example/a', { start: 1001 }),
    ], 0);
    expect(b.take(G).map((a) => a.target)).toEqual(['h/a', 'cdn.example/a']);
    expect(ignored.transport_span).toBe(1);
  });

  it('a tool span directly inside a tool span of the same name is one call', () => {
    const { b, ignored } = builder();
    b.add([
      agentRoot(),
      span({ id: 2, parent: 1, attrs: { 'openinference.span.kind': 'TOOL', 'tool.name': 'search' } }),
      span({ id: 3, parent: 2, kind: SpanKind.CLIENT, attrs: { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'search', 'nhi.access': 'read' } }),
    ], 0);
    expect(b.take(G).map((a) => [a.target, a.access])).toEqual([['search', 'read']]);
    expect(ignored.nested_tool_span).toBe(1);
  });

  it("an MCP tools/call under the framework's tool span, or MCP attributes on that span: the POST is transport (review38 M2)", () => {
    const { b, ignored } = builder();
    const mcp = { 'mcp.method.name': 'tools/call', 'server.address': 'mcp-files.internal' };
    b.add([
      agentRoot(),
      // Microsoft Agent Framework: execute_tool read_file > CLIENT tools/call read_file > POST.
      tool(2, 1, 'read_file'),
      tool(3, 2, 'read_file', { kind: SpanKind.CLIENT, attrs: mcp }),
      http(4, 3, 'POST', 'http://mcp-files.internal:8080/mcp'),
      // The MCP attributes on the INTERNAL tool span itself: only its HTTP to the server's host is transport.
      tool(5, 1, 'delete_file', { start: 1100, attrs: { ...mcp, 'server.address': 'mcp-evil.example.net' } }),
      http(6, 5, 'POST', 'http://mcp-evil.example.net:8080/mcp', { start: 1101 }),
      http(7, 5, 'DELETE', 'https://files.internal/f/42', { start: 1102 }),
    ], 0);
    expect(b.take(G).map((a) => [a.kind, a.target, a.access, a.host])).toEqual([
      ['tool', 'read_file', null, 'mcp-files.internal'],
      ['tool', 'delete_file', 'delete', 'mcp-evil.example.net'],
      ['http', 'files.internal/f/{id}', 'delete', 'files.internal'],
    ]);
    expect(ignored.transport_span).toBe(2);
  });
});

// Regression (review31 F2): the HTTP beneath a remote agent or MCP server call was folded away with its
// host, and tools and delegations were given none, so a learned agent or tool name served from an
// attacker's host was the usual call (no host, no zone, no egress).
describe('a tool or delegation over the network keeps its destination', () => {
  const cfg = { zones: { internal: ['*.internal'] } };
  it('a remote agent call takes the host of its server.address, and its zone', () => {
    const { b, ignored } = builder(cfg);
    b.add([
      agentRoot(),
      span({ id: 2, parent: 1, kind: SpanKind.CLIENT, name: 'invoke_agent billing', attrs: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'billing', 'server.address': 'Agents.Attacker.example' } }),
      http(3, 2, 'POST', 'https://agents.attacker.example/a2a/tasks'),
    ], 0);
    expect(b.take(G).map((a) => [a.kind, a.target, a.host, a.zone])).toEqual([['delegation', 'billing', 'agents.attacker.example', 'external']]);
    expect(ignored.transport_span).toBe(1);
  });

  it('an MCP tools/call without server.address takes the host of the HTTP span folded beneath it', () => {
    const { b, ignored } = builder(cfg);
    b.add([
      agentRoot(),
      span({ id: 2, parent: 1, kind: SpanKind.CLIENT, name: 'tools/call docs.search', attrs: { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'docs.search' } }),
      http(3, 2, 'POST', 'https://mcp.internal/mcp'),
      // The GenAI form of the same call (execute_tool on the CLIENT side with mcp.method.name).
      span({ id: 4, parent: 1, start: 1100, kind: SpanKind.CLIENT, attrs: { 'gen_ai.operation.name': 'execute_tool', 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'docs.fetch' } }),
      http(5, 4, 'POST', 'https://mcp.attacker.example/mcp', { start: 1101 }),
    ], 0);
    expect(b.take(G).map((a) => [a.kind, a.target, a.access, a.host, a.zone])).toEqual([
      ['tool', 'docs.search', null, 'mcp.internal', 'internal'],
      ['tool', 'docs.fetch', null, 'mcp.attacker.example', 'external'],
    ]);
    expect(ignored.transport_span).toBe(2);
  });

  it('in-process tools, local agents and MCP over stdio (no HTTP, no server.address) still have no host', () => {
    const { b } = builder(cfg);
    b.add([
      agentRoot(),
      tool(2, 1, 'lookup'),
      http(3, 2, 'GET', 'https://kb.internal/a'),
      span({ id: 4, parent: 1, start: 1100, kind: SpanKind.CLIENT, name: 'tools/call read_file', attrs: { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'read_file', 'network.transport': 'pipe' } }),
      span({ id: 5, parent: 1, start: 1200, name: 'invoke_agent refunds', attrs: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'refunds' } }),
    ], 0);
    expect(b.take(G).map((a) => [a.kind, a.target, a.host, a.zone])).toEqual([
      ['tool', 'lookup', null, null],
      ['http', 'kb.internal/a', 'kb.internal', 'internal'],
      ['tool', 'read_file', null, null],
      ['delegation', 'refunds', null, null],
    ]);
  });
});

describe('Traceloop MCP transport', () => {
  it('the POSTs under `initialize.mcp` and `<tool>.tool` are transport; the tool is not a write', () => {
    const { b, ignored } = builder();
    b.add([
      span({ id: 1, kind: SpanKind.CLIENT, name: 'mcp.client.session', end: 2000, attrs: { 'traceloop.span.kind': 'session' } }),
      span({ id: 2, parent: 1, kind: SpanKind.CLIENT, name: 'initialize.mcp' }),
      http(3, 2, 'POST', 'http://mcp.internal/mcp'),
      span({ id: 4, parent: 1, kind: SpanKind.CLIENT, name: 'read_file.tool', start: 1100, attrs: { 'traceloop.span.kind': 'tool', 'traceloop.entity.name': 'read_file' } }),
      http(5, 4, 'POST', 'http://mcp.internal/mcp', { start: 1101 }),
    ], 0);
    expect(b.take(G).map((a) => [a.kind, a.target, a.access])).toEqual([['tool', 'read_file', null]]);
    expect(ignored.transport_span).toBe(2);
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
    expect(b.take(G).map((a) => a.target)).toEqual(['unknown']);
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
    expect(b.take(G).map((a) => [a.host, a.zone])).toEqual([[null, null], ['billing.internal', 'internal']]);
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
    expect(b.take(G).map((a) => a.sensitive)).toEqual([true, false, true, true, false]);
  });

  it('credential and scopes: span before resource; scopes as array or separated string', () => {
    const { b } = builder();
    const res = { 'service.name': 's', 'nhi.identity': 'i', 'nhi.credential.id': 'lease-res', 'nhi.credential.type': 'vault_lease', 'nhi.scopes': 'tickets:read, tickets:write' };
    b.add([
      span({ id: 1, resource: res, kind: SpanKind.CLIENT, attrs: { 'http.request.method': 'GET', 'url.full': 'https://h/a' } }),
      span({ id: 2, resource: res, start: 1001, kind: SpanKind.CLIENT, attrs: { 'http.request.method': 'GET', 'url.full': 'https://h/b', 'nhi.credential.id': 'jti-1', 'nhi.scopes': ['admin'] } }),
    ], 0);
    const [a, c] = b.take(G);
    expect(a.credential).toEqual({ id: 'lease-res', type: 'vault_lease' });
    expect(a.scopes).toEqual(['tickets:read', 'tickets:write']);
    // The resource's are built once and shared by its spans' nodes (kept a while after they are emitted), so frozen.
    b.add([span({ traceId: T2, id: 5, resource: res, kind: SpanKind.CLIENT, attrs: { 'http.request.method': 'GET', 'url.full': 'https://h/d' } })], 0);
    const [d] = b.take(G);
    expect(d.credential).toBe(a.credential);
    expect(Object.isFrozen(d.credential)).toBe(true);
    expect(c.credential).toEqual({ id: 'jti-1', type: null }); // not the resource's lease type
    expect(c.scopes).toEqual(['admin']);

    // A resource that only says what kind of credential its spans carry types their ids.
    const typedOnly = { 'service.name': 's', 'nhi.identity': 'i', 'nhi.credential.type': 'oauth_jti' };
    b.add([span({ traceId: T2, id: 3, resource: typedOnly, kind: SpanKind.CLIENT, attrs: { 'http.request.method': 'GET', 'url.full': 'https://h/c', 'nhi.credential.id': 'jti-2' } })], 0);
    expect(b.take(G)[0].credential).toEqual({ id: 'jti-2', type: 'oauth_jti' });
  });

  // Regression (review20 F19): a service's own delete, made while serving an agent's read, became the agent's
  // tool's class with nothing to say whose it was, and the agent's credential was revoked for it.
  it("a tool's class taken from another identity's span names that identity (accessBy); its own does not", () => {
    const { b } = builder();
    const service = { 'service.name': 'tickets', 'nhi.identity': 'spiffe://acme/tickets' };
    b.add([
      tool(2, 1, 'tickets.get', { parent: null }),
      http(3, 2, 'GET', 'https://tickets.internal/t/1', { start: 1001 }),
      span({ id: 4, parent: 3, kind: SpanKind.SERVER, start: 1002, resource: service }),
      span({ id: 5, parent: 4, kind: SpanKind.CLIENT, start: 1003, resource: service, attrs: { 'db.system.name': 'postgresql', 'db.namespace': 'tickets', 'db.collection.name': 'sessions', 'db.operation.name': 'DELETE' } }),
      tool(6, 1, 'tickets.close', { parent: null, traceId: T2 }),
      http(7, 6, 'DELETE', 'https://tickets.internal/t/1', { start: 1001, traceId: T2 }),
    ], 0);
    const got = b.take(G).filter((a) => a.kind === 'tool').map((a) => [a.target, a.access, a.accessBy]);
    expect(got).toEqual([['tickets.get', 'delete', 'spiffe://acme/tickets'], ['tickets.close', 'delete', null]]);
  });

  // Regression (review20 F18b): a tool's HTTP call named no credential, so the egress alert it raised was
  // not revocable while the tool's own alerts were.
  it("a call naming no credential takes its tool's, of the same identity; another identity's span does not", () => {
    const { b } = builder();
    const server = { 'service.name': 'mcp', 'nhi.identity': 'spiffe://acme/mcp' };
    b.add([
      tool(2, 1, 'upload', { parent: null, attrs: { 'nhi.credential.id': 'jti-tool', 'nhi.credential.type': 'oauth_jti' } }),
      http(3, 2, 'POST', 'https://paste.example/api', { start: 1001 }),
      http(4, 2, 'POST', 'https://paste.example/own', { start: 1002, attrs: { 'nhi.credential.id': 'jti-own' } }),
      span({ id: 5, parent: 2, kind: SpanKind.SERVER, start: 1003, resource: server }),
      http(6, 5, 'GET', 'https://files.internal/x', { start: 1004, resource: server }),
    ], 0);
    const credentials = Object.fromEntries(b.take(G).map((a) => [a.target, a.credential?.id ?? null]));
    expect(credentials).toMatchObject({ upload: 'jti-tool', 'paste.example/api': 'jti-tool', 'paste.example/own': 'jti-own', 'files.internal/x': null });
  });

  it('several identities in one trace: each span judged under its own resource', () => {
    const { b } = builder();
    b.add([agentRoot(), http(2, 1, 'GET', 'https://h/a', { resource: { 'service.name': 'other' } })], 0);
    expect(b.take(G).find((a) => a.kind === 'http')).toMatchObject({ identity: 'other', peerGroup: 'other', traceId: T1 });
  });
});

