import { describe, expect, it } from 'vitest';
import { agentRoot, builder, byTarget, G, http, span, SpanKind, StatusCode, T1, T2, tid, tool } from './fixtures.js';

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

  it('a part that keeps trickling spans is still emitted MAX_HOLD_WAITS × traces.wait after its first', () => {
    const { b } = builder({ traces: { wait: '1s' } });
    b.add([tool(2, 1, 'a')], 0);
    for (let t = 500; t < 5000; t += 500) {
      b.add([tool(10 + t / 500, 1, `t${t}`, { start: 1000 + t })], t);
      expect(b.take(t)).toEqual([]);
    }
    expect(b.take(5000).map((a) => a.target)[0]).toBe('a');
    expect(b.heldSpans).toBe(0);
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
    expect(b.take(G).map((a) => a.target)).toEqual(['h/a', 'h/b', 'h/c']);
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
    expect(b.take(G).map((a) => a.target)).toEqual(['a', 'b']);
    expect(b.drain().map((a) => a.target)).toEqual(['c']);
  });
});

describe('tool access from descendants', () => {
  it('children arriving in an earlier add call than their tool', () => {
    const { b } = builder();
    b.add([http(3, 2, 'GET', 'https://h/a'), http(4, 2, 'DELETE', 'https://h/b')], 0);
    expect(b.take(G)).toEqual([]);
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
    const out = b.take(G);
    expect(out.map((a) => [a.identity, a.kind, a.target, a.access, a.caller])).toEqual([
      ['spiffe://acme/agent/billing', 'tool', 'purge', 'delete', null],
      // The hop into another identity is a delegation edge of the caller (CONTRACT §3.1).
      ['spiffe://acme/agent/billing', 'delegation', 'mcp-server', null, null],
      ['mcp-server', 'db', 'sqlite', 'delete', 'spiffe://acme/agent/billing'],
    ]);
  });

  it('a tool with no access information of its own or below stays null (never a default execute)', () => {
    const { b } = builder();
    b.add([agentRoot(), tool(2, 1, 'think')], 0);
    expect(b.take(G)[0].access).toBeNull();
  });
});

describe('a failed call counts once', () => {
  it('a tool failing because its HTTP call failed: the HTTP action carries the failure', () => {
    const { b } = builder();
    b.add([agentRoot(), tool(2, 1, 'fetch', { status: StatusCode.ERROR }), http(3, 2, 'GET', 'https://h/x', { attrs: { 'http.response.status_code': 500 } })], 0);
    const t = byTarget(b.take(G));
    expect(t.fetch.failed).toBe(false);
    expect(t['h/x'].failed).toBe(true);
  });

  it('also when the failed child was emitted before its tool arrived', () => {
    const { b } = builder({ traces: { wait: '1s' } });
    b.add([http(3, 2, 'GET', 'https://h/x', { attrs: { 'http.response.status_code': 404 } })], 0);
    expect(b.take(1000).map((a) => a.failed)).toEqual([true]);
    b.add([agentRoot(), tool(2, 1, 'fetch', { status: StatusCode.ERROR })], 2000);
    expect(b.take(2000).map((a) => [a.target, a.failed])).toEqual([['fetch', false]]);
  });

  it('a tool failing on its own keeps its failure', () => {
    const { b } = builder();
    b.add([agentRoot(), tool(2, 1, 'parse', { status: StatusCode.ERROR }), http(3, 2, 'GET', 'https://h/x')], 0);
    expect(byTarget(b.take(G)).parse.failed).toBe(true);
  });
});

describe('robustness and realistic traces', () => {
  it('a parent cycle (malformed input) neither hangs nor loses spans', () => {
    const { b } = builder();
    b.add([http(1, 2, 'GET', 'https://a/x'), http(2, 1, 'GET', 'https://b/y')], 0);
    expect(b.take(G).map((a) => a.target).sort()).toEqual(['a/x', 'b/y']);
  });

  it('Vercel AI SDK: generateText agent, doGenerate model call, toolCall with its fetch', () => {
    const { b, ignored } = builder();
    b.add([
      span({ id: 1, name: 'ai.generateText', attrs: { 'ai.operationId': 'ai.generateText', 'ai.telemetry.functionId': 'support-bot' } }),
      span({ id: 2, parent: 1, start: 1001, name: 'ai.generateText.doGenerate', attrs: { 'ai.operationId': 'ai.generateText.doGenerate', 'ai.model.provider': 'openai.chat', 'gen_ai.system': 'openai.chat' } }),
      span({ id: 3, parent: 1, start: 1002, name: 'ai.toolCall', attrs: { 'ai.operationId': 'ai.toolCall', 'ai.toolCall.name': 'closeTicket', 'ai.toolCall.id': 'call_a' } }),
      http(4, 3, 'PATCH', 'https://tickets.example.com/api/tickets/8812', { start: 1003 }),
    ], 0);
    expect(b.take(G).map((a) => [a.kind, a.target, a.access, a.agent])).toEqual([
      ['model', 'openai', null, 'support-bot'],
      ['tool', 'closeTicket', 'write', 'support-bot'],
      ['http', 'tickets.example.com/api/tickets/{id}', 'write', 'support-bot'],
    ]);
    expect(ignored).toEqual({ agent_task: 1 });
  });

  it('OpenInference LangChain: a parentless HTTP span in its own trace is repaired onto its tool', () => {
    const { b } = builder();
    b.add([
      span({ id: 1, name: 'LangGraph', attrs: { 'openinference.span.kind': 'CHAIN' } }),
      span({ id: 2, parent: 1, name: 'lookup', attrs: { 'openinference.span.kind': 'TOOL', 'tool.name': 'lookup' } }),
      http(9, null, 'GET', 'https://h/a', { traceId: T2 }),
    ], 0);
    const out = b.take(G);
    expect(out.map((a) => [a.target, a.access, a.traceId])).toEqual([['lookup', 'read', T1], ['h/a', 'read', T2]]);
    expect(out[1].attributedTo).toEqual({ traceId: T1, spanId: out[0].spanId });
  });
});
