import { describe, expect, it } from 'vitest';
import { boundName, MAX_NAME_CHARS } from '../../src/actions/bounds.js';
import { Classifier } from '../../src/actions/classify.js';
import { config, span, SpanKind, StatusCode, type SpanInit } from './fixtures.js';

const classifier = new Classifier(config({ catalog: [{ tool: 'tickets.purge', access: 'delete' }, { tool: 'tickets.*', access: 'read' }] }));
const c = (init: SpanInit) => classifier.classify(span(init));

describe('tool calls (§3.1)', () => {
  it('gen_ai execute_tool: gen_ai.tool.name', () => {
    const f = c({ name: 'execute_tool x', attrs: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search', 'tool.name': 'other' } });
    expect(f).toMatchObject({ kind: 'tool', target: 'search', access: null, host: null });
  });
  it('gen_ai execute_tool: falls back to tool.name, traceloop.entity.name, then the span name', () => {
    expect(c({ attrs: { 'gen_ai.operation.name': 'execute_tool', 'tool.name': 'a' } }).target).toBe('a');
    expect(c({ attrs: { 'gen_ai.operation.name': 'execute_tool', 'traceloop.entity.name': 'b' } }).target).toBe('b');
    expect(c({ name: 'execute_tool lookup_order', attrs: { 'gen_ai.operation.name': 'execute_tool' } }).target).toBe('lookup_order');
  });
  it('a generic LangChain class name is no name: tool unknown, flagged', () => {
    const f = c({ name: 'execute_tool DynamicStructuredTool', attrs: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'DynamicStructuredTool' } });
    expect(f).toMatchObject({ kind: 'tool', target: 'unknown', unknownTool: true });
    expect(c({ attrs: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'DynamicTool', 'tool.name': 'real' } }).target).toBe('real');
  });
  it('OpenInference TOOL: tool.name, else the span name', () => {
    expect(c({ name: 'x', attrs: { 'openinference.span.kind': 'TOOL', 'tool.name': 'get_weather' } }).target).toBe('get_weather');
    expect(c({ name: 'get_time', attrs: { 'openinference.span.kind': 'TOOL' } })).toMatchObject({ kind: 'tool', target: 'get_time' });
  });
  it('OpenInference handoff TOOL span is a delegation to the named agent', () => {
    expect(c({ name: 'handoff to billing_agent', attrs: { 'openinference.span.kind': 'TOOL' } })).toMatchObject({ kind: 'delegation', target: 'billing_agent' });
    expect(c({ name: 'x', attrs: { 'openinference.span.kind': 'TOOL', 'tool.name': 'handoff_to_refunds' } })).toMatchObject({ kind: 'delegation', target: 'refunds' });
  });
  it('traceloop.span.kind=tool: traceloop.entity.name', () => {
    expect(c({ name: 'calc.tool', attrs: { 'traceloop.span.kind': 'tool', 'traceloop.entity.name': 'calculator' } })).toMatchObject({ kind: 'tool', target: 'calculator' });
    expect(c({ name: 'calc.tool', attrs: { 'traceloop.span.kind': 'tool' } }).target).toBe('calc');
  });
  it('Vercel ai.toolCall: ai.toolCall.name and ai.toolCall.id', () => {
    expect(c({ attrs: { 'ai.operationId': 'ai.toolCall', 'ai.toolCall.name': 'weather', 'ai.toolCall.id': 'call_1' } })).toMatchObject({ kind: 'tool', target: 'weather', callId: 'call_1' });
  });
  it('MCP tools/call on the CLIENT side only', () => {
    expect(c({ kind: SpanKind.CLIENT, name: 'tools/call add', attrs: { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'add' } })).toMatchObject({ kind: 'tool', target: 'add' });
    expect(c({ kind: SpanKind.CLIENT, name: 'tools/call add', attrs: { 'mcp.method.name': 'tools/call' } }).target).toBe('add');
    expect(c({ kind: SpanKind.SERVER, attrs: { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'add' } })).toMatchObject({ kind: null, ignore: 'server_span' });
    expect(c({ kind: SpanKind.INTERNAL, attrs: { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'add' } }).kind).toBeNull();
  });
  it('tool call id: gen_ai.tool.call.id', () => {
    expect(c({ attrs: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 't', 'gen_ai.tool.call.id': 'call_9' } }).callId).toBe('call_9');
  });
});

describe('Traceloop MCP client (real output: no mcp.method.name)', () => {
  it('a CLIENT `<tool>.tool` span is the tool call, and carries its HTTP transport', () => {
    const f = c({ kind: SpanKind.CLIENT, name: 'read_file.tool', attrs: { 'traceloop.span.kind': 'tool', 'traceloop.entity.name': 'read_file' } });
    expect(f).toMatchObject({ kind: 'tool', target: 'read_file', carrier: 1 });
    // Traceloop LangChain tool spans are INTERNAL: their HTTP children are calls of their own.
    expect(c({ name: 'x.tool', attrs: { 'traceloop.span.kind': 'tool', 'traceloop.entity.name': 'x' } }).carrier).toBe(0);
  });
  it('its other requests (`initialize.mcp`) are no action but carry their HTTP transport', () => {
    expect(c({ kind: SpanKind.CLIENT, name: 'tools/list.mcp' })).toMatchObject({ kind: null, ignore: 'workflow_step', carrier: 1 });
    expect(c({ kind: SpanKind.INTERNAL, name: 'tools/list.mcp' }).carrier).toBe(0);
  });
});

describe('delegations and agents', () => {
  it('CLIENT invoke_agent is a delegation to the invoked agent (gen_ai.agent.id, then name)', () => {
    expect(c({ kind: SpanKind.CLIENT, attrs: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.id': 'asst_1', 'gen_ai.agent.name': 'Refunds' } })).toMatchObject({ kind: 'delegation', target: 'asst_1' });
    expect(c({ kind: SpanKind.CLIENT, name: 'invoke_agent Refunds', attrs: { 'gen_ai.operation.name': 'invoke_agent' } }).target).toBe('Refunds');
  });
  it('a UUID agent id (Semantic Kernel makes one per agent object) yields to the agent name; alone it stands (review38 M4)', () => {
    const uuid = '6f1d2c1e-0b4c-4c9e-9d0e-1f8b3e1a9c11';
    expect(c({ kind: SpanKind.CLIENT, attrs: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.id': uuid, 'gen_ai.agent.name': 'Billing' } }).target).toBe('Billing');
    expect(c({ attrs: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.id': uuid, 'gen_ai.agent.name': 'Billing' } }).agentName).toBe('Billing');
    expect(c({ kind: SpanKind.CLIENT, attrs: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.id': uuid } }).target).toBe(uuid);
  });
  it('INTERNAL invoke_agent is an agent span (provisionally its task)', () => {
    expect(c({ attrs: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Triage' } })).toMatchObject({ kind: null, ignore: 'agent_task', agentName: 'Triage' });
  });
  it('agent span markers: OpenInference AGENT + graph.node.id, CHAIN named like lc_agent_name, Vercel, traceloop', () => {
    expect(c({ attrs: { 'openinference.span.kind': 'AGENT', 'graph.node.id': 'planner' } }).agentName).toBe('planner');
    expect(c({ attrs: { 'openinference.span.kind': 'AGENT' } }).agentName).toBeNull();
    expect(c({ name: 'researcher', attrs: { 'openinference.span.kind': 'CHAIN', metadata: '{"thread_id": "1", "lc_agent_name": "researcher"}' } }).agentName).toBe('researcher');
    expect(c({ name: 'tools', attrs: { 'openinference.span.kind': 'CHAIN', metadata: '{"lc_agent_name":"researcher"}' } })).toMatchObject({ agentName: null, ignore: 'workflow_step' });
    expect(c({ name: 'ai.generateText', attrs: { 'ai.operationId': 'ai.generateText', 'ai.telemetry.functionId': 'support-bot' } }).agentName).toBe('support-bot');
    expect(c({ attrs: { 'traceloop.span.kind': 'agent', 'traceloop.entity.name': 'writer' } }).agentName).toBe('writer');
  });
});

describe('model calls', () => {
  it('gen_ai chat / text_completion / generate_content / embeddings: target the provider host', () => {
    for (const op of ['chat', 'text_completion', 'generate_content', 'embeddings']) {
      expect(c({ kind: SpanKind.CLIENT, attrs: { 'gen_ai.operation.name': op, 'server.address': 'API.openai.com', 'gen_ai.provider.name': 'openai' } }))
        .toMatchObject({ kind: 'model', target: 'api.openai.com', host: 'api.openai.com', access: null });
    }
  });
  it('without a host, the provider name (gen_ai.provider.name, else gen_ai.system)', () => {
    expect(c({ attrs: { 'gen_ai.operation.name': 'chat', 'gen_ai.system': 'anthropic' } })).toMatchObject({ kind: 'model', target: 'anthropic', host: null });
  });
  it('OpenInference LLM and EMBEDDING', () => {
    expect(c({ attrs: { 'openinference.span.kind': 'LLM', 'llm.provider': 'openai' } })).toMatchObject({ kind: 'model', target: 'openai' });
    expect(c({ attrs: { 'openinference.span.kind': 'EMBEDDING', 'llm.system': 'cohere' } })).toMatchObject({ kind: 'model', target: 'cohere' });
  });
  it('Vercel ai.*.doGenerate / doStream: provider from ai.model.provider', () => {
    expect(c({ attrs: { 'ai.operationId': 'ai.generateText.doGenerate', 'ai.model.provider': 'openai.chat' } })).toMatchObject({ kind: 'model', target: 'openai' });
    expect(c({ attrs: { 'ai.operationId': 'ai.streamText.doStream', 'ai.model.provider': 'anthropic.messages' } }).kind).toBe('model');
  });
  it('Semantic Kernel operations, with its service URL as server.address; OpenLLMetry llm.request.type (review38 M3)', () => {
    for (const op of ['chat.completions', 'chat.streaming_completions', 'text.completions', 'text.streaming_completions']) {
      expect(c({ attrs: { 'gen_ai.operation.name': op, 'gen_ai.system': 'openai', 'server.address': 'https://api.openai.com/v1/' } }))
        .toMatchObject({ kind: 'model', target: 'api.openai.com', host: 'api.openai.com', access: null });
    }
    for (const type of ['chat', 'completion', 'embedding', 'rerank']) {
      expect(c({ kind: SpanKind.CLIENT, name: 'openai.chat', attrs: { 'llm.request.type': type, 'gen_ai.system': 'OpenAI' } })).toMatchObject({ kind: 'model', target: 'OpenAI' });
    }
    expect(c({ attrs: { 'llm.request.type': 'unknown', 'gen_ai.system': 'OpenAI' } }).kind).toBeNull();
  });
  it("an HTTP call to a provider's inference endpoint is marked for tree.ts; its other APIs and look-alike hosts are not (review38 M3, review39 H1)", () => {
    const post = (url: string) => c({ kind: SpanKind.CLIENT, attrs: { 'http.request.method': 'POST', 'url.full': url } });
    for (const url of [
      'https://api.openai.com/v1/chat/completions', 'https://api.openai.com/v1/responses', 'https://api.openai.com/v1/embeddings',
      'https://acme.openai.azure.com/openai/deployments/gpt-4o-2024-08-06/chat/completions?api-version=2024-10-21',
      'https://api.anthropic.com/v1/messages',
      'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash-001:generateContent',
      'https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1:0/converse',
    ]) {
      expect(post(url), url).toMatchObject({ kind: 'http', access: 'write', modelEndpoint: true });
    }
    for (const url of [
      'https://api.openai.com/v1/files', 'https://paste.example.net/v1/chat/completions', 'https://api.openai.com.evil.example/v1/chat/completions',
      // An S3 bucket named like a Bedrock host (virtual-hosted style), and a host in it.
      'https://bedrock-runtime.s3.amazonaws.com/model/x/converse', 'https://bedrock-runtime.x.s3.amazonaws.com/model/x/converse',
    ]) {
      expect(post(url), url).toMatchObject({ kind: 'http', access: 'write', modelEndpoint: false });
    }
  });
  it('a model call is never a write, even with nhi.access', () => {
    expect(c({ attrs: { 'gen_ai.operation.name': 'chat', 'nhi.access': 'write' } }).access).toBeNull();
  });
});

describe('HTTP client', () => {
  const http = (attrs: Record<string, string | number>, kind: number = SpanKind.CLIENT) => c({ kind, attrs: { 'http.request.method': 'GET', ...attrs } });
  it('server.address + url.template', () => {
    expect(http({ 'server.address': 'api.example.com', 'url.template': '/users/{userId}', 'url.full': 'https://api.example.com/users/42' }))
      .toMatchObject({ kind: 'http', target: 'api.example.com/users/{userId}', host: 'api.example.com' });
  });
  // Review34 E6: paths were cut at 256 characters before templating, so two that differ only later were one target.
  it('keeps paths that differ past their 256th character apart (the target is bounded with a digest of the whole)', () => {
    const prefix = `https://files.example.com/share/${'team-folder/'.repeat(25)}`;
    const [a, b] = ['q3-report.pdf', 'payroll.xlsx'].map((f) => http({ 'url.full': prefix + f }).target);
    expect(a).not.toBe(b);
    expect(boundName(a).length).toBe(MAX_NAME_CHARS);
    expect(boundName(a)).not.toBe(boundName(b));
  });
  it('else the url.full path with ids replaced by {id}', () => {
    expect(http({ 'url.full': 'https://api.example.com/v1/orders/12345/items/550e8400-e29b-41d4-a716-446655440000' }).target)
      .toBe('api.example.com/v1/orders/{id}/items/{id}');
    expect(http({ 'url.full': 'https://git.example.com/commits/9fceb02d0ae598e95dc970b74767f19372d61af8/files' }).target)
      .toBe('git.example.com/commits/{id}/files');
  });
  it('drops the query string, fragment and userinfo (they hold secrets)', () => {
    const f = http({ 'url.full': 'https://user:hunter2@api.example.com:8443/search?api_key=SECRET&q=x#frag' });
    expect(f.target).toBe('api.example.com/search');
    expect(f.host).toBe('api.example.com');
    expect(JSON.stringify(f)).not.toContain('SECRET');
    expect(JSON.stringify(f)).not.toContain('hunter2');
  });
  it('old conventions: http.method + http.url, net.peer.name, http.target', () => {
    expect(c({ kind: SpanKind.CLIENT, attrs: { 'http.method': 'DELETE', 'http.url': 'http://svc.internal/items/77?x=1' } }))
      .toMatchObject({ kind: 'http', target: 'svc.internal/items/{id}', access: 'delete' });
    expect(c({ kind: SpanKind.CLIENT, attrs: { 'http.method': 'GET', 'net.peer.name': 'db.internal', 'http.target': '/a/b?token=z' } }).target)
      .toBe('db.internal/a/b');
  });
  it('only CLIENT spans: an inbound SERVER request is ignored, an INTERNAL one is no action', () => {
    expect(http({ 'url.full': 'https://x/y' }, SpanKind.SERVER)).toMatchObject({ kind: null, ignore: 'server_span' });
    expect(http({ 'url.full': 'https://x/y' }, SpanKind.INTERNAL)).toMatchObject({ kind: null, ignore: 'not_an_action' });
  });
});

describe('database, RPC, messaging', () => {
  it('database: system/namespace/collection, db.operation.name verb', () => {
    expect(c({ kind: SpanKind.CLIENT, attrs: { 'db.system.name': 'postgresql', 'db.namespace': 'shop', 'db.collection.name': 'orders', 'db.operation.name': 'SELECT', 'server.address': 'pg.internal' } }))
      .toMatchObject({ kind: 'db', target: 'postgresql/shop/orders', access: 'read', host: 'pg.internal' });
    expect(c({ kind: SpanKind.CLIENT, attrs: { 'db.system': 'redis', 'db.operation': 'SET' } })).toMatchObject({ target: 'redis', access: 'write' });
    expect(c({ kind: SpanKind.CLIENT, attrs: { 'db.system.name': 'mongodb', 'db.namespace': 'app', 'db.operation.name': 'findOneAndDelete' } })).toMatchObject({ target: 'mongodb/app', access: 'delete' });
  });
  it('database: old db.statement gives only its verb; the statement is not kept', () => {
    const f = c({ kind: SpanKind.CLIENT, attrs: { 'db.system': 'mysql', 'db.name': 'crm', 'db.statement': "/* app */ DELETE FROM people WHERE email='a@b.c'" } });
    expect(f).toMatchObject({ target: 'mysql/crm', access: 'delete' });
    expect(JSON.stringify(f)).not.toContain('a@b.c');
  });
  // A text-to-SQL agent's statement need not start with its verb: a CTE takes its strongest data-modifying
  // verb, a stored procedure runs (execute); a CTE that only selects (as far as is looked at) stays unknown.
  it('database: a CTE by the verbs inside it, CALL and EXEC as execute', () => {
    const access = (statement: string) => c({ kind: SpanKind.CLIENT, attrs: { 'db.system': 'postgresql', 'db.statement': statement } }).access;
    expect(access('WITH x AS (SELECT 1) DELETE FROM t')).toBe('delete');
    expect(access('WITH gone AS (DELETE FROM orders WHERE id > 5 RETURNING id) SELECT count(*) FROM gone')).toBe('delete');
    expect(access('with moved as (update stock set n = n - 1 returning id) insert into log select id from moved')).toBe('write');
    expect(access('WITH recent AS (SELECT * FROM orders) SELECT * FROM recent WHERE updated_at > now()')).toBeNull();
    expect(access('CALL purge_orders()')).toBe('execute');
    expect(access('EXEC sp_cleanup')).toBe('execute');
  });
  // Review31 F8: an agent writing its own SQL hid a delete behind a read (every case raised 0 alerts).
  describe('database: a modifying statement is not hidden behind a reading one', () => {
    const db = (text: string, operation?: string) =>
      c({ kind: SpanKind.CLIENT, attrs: { 'db.system.name': 'postgresql', 'db.namespace': 'shop', 'db.query.text': text, ...(operation === undefined ? {} : { 'db.operation.name': operation }) } }).access;
    it('every ;-separated statement counts, the strongest wins; transaction openers are skipped', () => {
      expect(db('SELECT 1; DELETE FROM orders')).toBe('delete');
      expect(db('BEGIN; DELETE FROM orders; COMMIT')).toBe('delete');
      expect(db('START TRANSACTION READ WRITE; UPDATE stock SET n = 0; COMMIT')).toBe('write');
      expect(db('BEGIN TRAN DELETE FROM orders')).toBe('delete'); // T-SQL: no `;` needed
      expect(db('SELECT 1; CALL purge()')).toBe('execute');
      // Only statement-leading keywords count: not literals, quoted identifiers, comments or table names.
      expect(db("SELECT 'a; delete me'")).toBe('read');
      expect(db("SELECT 'it''s; DELETE' FROM t")).toBe('read');
      expect(db('SELECT "a;b" FROM t -- ; DELETE FROM t')).toBe('read');
      expect(db('SELECT * FROM deleted_items')).toBe('read');
      expect(db('START TRANSACTION READ ONLY')).toBeNull();
    });
    it('an operation name of SELECT does not hide a modifying statement text', () => {
      expect(db('SELECT 1; DELETE FROM orders', 'SELECT')).toBe('delete');
      expect(db('BEGIN; DELETE FROM orders; COMMIT', 'SELECT')).toBe('delete');
      expect(db('DELETE FROM orders', 'SELECT')).toBe('delete');
      expect(db('SELECT * FROM deleted_items', 'SELECT')).toBe('read');
      expect(db('SELECT 1', 'DELETE')).toBe('delete'); // the name, when stronger, still counts
    });
    // Plain EXPLAIN only plans; it counts as the statement all the same (statement.ts says why).
    it('EXPLAIN [ANALYZE] [VERBOSE] / EXPLAIN (options) take the explained statement\'s class', () => {
      expect(db('EXPLAIN ANALYZE DELETE FROM orders')).toBe('delete');
      expect(db('EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) DELETE FROM orders')).toBe('delete');
      expect(db('EXPLAIN ANALYZE VERBOSE UPDATE stock SET n = 0')).toBe('write');
      expect(db('EXPLAIN DELETE FROM orders')).toBe('delete');
      expect(db('EXPLAIN SELECT * FROM orders')).toBe('read');
      expect(db('EXPLAIN orders')).toBe('read');
    });
    it('a PostgreSQL anonymous block (DO) runs code the statement does not show: execute', () => {
      expect(db('DO $$ BEGIN DELETE FROM orders; END $$')).toBe('execute');
    });
  });
  it('RPC: system/method (new rpc.method, or old rpc.service + rpc.method), and no class (CONTRACT §3)', () => {
    expect(c({ kind: SpanKind.CLIENT, attrs: { 'rpc.system.name': 'grpc', 'rpc.method': 'billing.Ledger/Post', 'server.address': 'ledger.internal' } }))
      .toMatchObject({ kind: 'rpc', target: 'grpc/billing.Ledger/Post', host: 'ledger.internal', access: null });
    expect(c({ kind: SpanKind.CLIENT, attrs: { 'rpc.system': 'grpc', 'rpc.service': 'billing.Ledger', 'rpc.method': 'Post' } }).target).toBe('grpc/billing.Ledger/Post');
    expect(c({ kind: SpanKind.SERVER, attrs: { 'rpc.system': 'grpc', 'rpc.method': 'x' } }).kind).toBeNull();
  });
  it('messaging: system/destination, operation type gives the class', () => {
    expect(c({ kind: SpanKind.PRODUCER, attrs: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders', 'messaging.operation.type': 'send' } }))
      .toMatchObject({ kind: 'messaging', target: 'kafka/orders', access: 'write' });
    expect(c({ kind: SpanKind.CONSUMER, attrs: { 'messaging.system': 'rabbitmq', 'messaging.destination.name': 'jobs', 'messaging.operation.type': 'process' } }).access).toBe('read');
    expect(c({ kind: SpanKind.CONSUMER, attrs: { 'messaging.system': 'sqs', 'messaging.destination.name': 'q' } }).access).toBe('read');
  });
});

describe('not actions', () => {
  it('gen_ai agent_step / workflow are structure; unknown operations are counted apart', () => {
    expect(c({ attrs: { 'gen_ai.operation.name': 'agent_step' } }).ignore).toBe('workflow_step');
    expect(c({ attrs: { 'gen_ai.operation.name': 'workflow' } }).ignore).toBe('workflow_step');
    expect(c({ attrs: { 'gen_ai.operation.name': 'teleport' } }).ignore).toBe('unknown_operation');
  });
  it('traceloop task/workflow/session without a tool convention', () => {
    for (const k of ['task', 'workflow', 'session']) expect(c({ attrs: { 'traceloop.span.kind': k } }).ignore).toBe('workflow_step');
  });
  it('a plain INTERNAL span', () => {
    expect(c({})).toMatchObject({ kind: null, ignore: 'not_an_action' });
  });
});

describe('operator templates', () => {
  it('a target matching a template is the template, before the catalog reads it (review38 H1)', () => {
    const templated = new Classifier(config({ templates: ['docs.internal/kb/articles/*'], catalog: [{ target: 'docs.internal/kb/articles/*', access: 'read' }] }));
    const get = (url: string, method = 'GET') => templated.classify(span({ kind: SpanKind.CLIENT, attrs: { 'http.request.method': method, 'url.full': url } }));
    expect(get('https://docs.internal/kb/articles/refund-policy-uk')).toMatchObject({ target: 'docs.internal/kb/articles/*', access: 'read' });
    expect(get('https://docs.internal/kb/articles/vat-rules-ch', 'POST')).toMatchObject({ target: 'docs.internal/kb/articles/*', access: 'read' });
    expect(get('https://docs.internal/kb/index')).toMatchObject({ target: 'docs.internal/kb/index', access: 'read' });
  });
});

describe('access class precedence', () => {
  it('a catalog entry by target gives a call its class over its method; nhi.access still outranks it (review38 M5)', () => {
    const byTarget = new Classifier(config({ catalog: [{ target: 'qdrant.internal/collections/*/points/search', access: 'read' }] }));
    const post = (url: string, attrs: Record<string, string> = {}) =>
      byTarget.classify(span({ kind: SpanKind.CLIENT, attrs: { 'http.request.method': 'POST', 'url.full': url, ...attrs } })).access;
    expect(post('http://qdrant.internal:6333/collections/kb-faq/points/search')).toBe('read');
    expect(post('http://qdrant.internal:6333/collections/kb-faq/points')).toBe('write');
    expect(post('http://qdrant.internal:6333/collections/kb-faq/points/search', { 'nhi.access': 'delete' })).toBe('delete');
    // A broad glob never makes a delete a read (review39 M6).
    const broad = new Classifier(config({ catalog: [{ target: 'qdrant.internal/collections/*', access: 'read' }] }));
    const call = (method: string) => broad.classify(span({ kind: SpanKind.CLIENT, attrs: { 'http.request.method': method, 'url.full': 'http://qdrant.internal:6333/collections/hr' } })).access;
    expect([call('POST'), call('DELETE')]).toEqual(['read', 'delete']);
  });
  it('HTTP method: GET/HEAD/OPTIONS read, POST/PUT/PATCH write, DELETE delete', () => {
    const m = (method: string) => c({ kind: SpanKind.CLIENT, attrs: { 'http.request.method': method, 'url.full': 'https://h/p' } }).access;
    expect([m('GET'), m('HEAD'), m('OPTIONS'), m('POST'), m('PUT'), m('PATCH'), m('DELETE'), m('CONNECT')])
      .toEqual(['read', 'read', 'read', 'write', 'write', 'write', 'delete', null]);
  });
  // Review31 F8: a MOVE (recorded as _OTHER by the OpenTelemetry HTTP instrumentations) had no class.
  it('HTTP: _OTHER and any method outside the list are writes; QUERY and TRACE read', () => {
    const m = (attrs: Record<string, string>) => c({ kind: SpanKind.CLIENT, attrs: { 'url.full': 'https://crm.internal/customers/48213', ...attrs } }).access;
    expect(m({ 'http.request.method': '_OTHER', 'http.request.method_original': 'MOVE' })).toBe('write');
    expect(m({ 'http.request.method': '_OTHER' })).toBe('write');
    expect(m({ 'http.method': 'PROPPATCH' })).toBe('write'); // old conventions: the method as sent
    expect(m({ 'http.request.method': 'QUERY' })).toBe('read');
    expect(m({ 'http.request.method': 'TRACE' })).toBe('read');
  });
  it('nhi.access outranks the HTTP method', () => {
    expect(c({ kind: SpanKind.CLIENT, attrs: { 'http.request.method': 'POST', 'url.full': 'https://h/search', 'nhi.access': 'read' } }).access).toBe('read');
  });
  it('catalog gives a tool its class (first matching glob), nhi.access outranks it', () => {
    const tool = (name: string, extra: Record<string, string> = {}) => c({ attrs: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': name, ...extra } }).access;
    expect(tool('tickets.purge')).toBe('delete');
    expect(tool('tickets.list')).toBe('read');
    expect(tool('tickets.purge', { 'nhi.access': 'execute' })).toBe('execute');
    expect(tool('weather')).toBeNull();
  });
  it('an invalid nhi.access value is ignored', () => {
    expect(c({ kind: SpanKind.CLIENT, attrs: { 'http.request.method': 'GET', 'url.full': 'https://h/p', 'nhi.access': 'admin' } }).access).toBe('read');
  });
});

describe('outcome and resend', () => {
  const get = { 'http.request.method': 'GET', 'url.full': 'https://h/p' };
  it('status ERROR', () => {
    expect(c({ kind: SpanKind.CLIENT, status: StatusCode.ERROR, attrs: get }).failed).toBe(true);
    expect(c({ kind: SpanKind.CLIENT, status: StatusCode.OK, attrs: get }).failed).toBe(false);
  });
  it('error.type', () => {
    expect(c({ kind: SpanKind.CLIENT, attrs: { ...get, 'error.type': 'timeout' } }).failed).toBe(true);
  });
  it('HTTP status ≥ 400 (new and old attribute, number or string)', () => {
    expect(c({ kind: SpanKind.CLIENT, attrs: { ...get, 'http.response.status_code': 404 } }).failed).toBe(true);
    expect(c({ kind: SpanKind.CLIENT, attrs: { ...get, 'http.status_code': '503' } }).failed).toBe(true);
    expect(c({ kind: SpanKind.CLIENT, attrs: { ...get, 'http.response.status_code': 302 } }).failed).toBe(false);
  });
  it('RPC status not OK', () => {
    const rpc = { 'rpc.system': 'grpc', 'rpc.method': 's/m' };
    expect(c({ kind: SpanKind.CLIENT, attrs: { ...rpc, 'rpc.grpc.status_code': 0 } }).failed).toBe(false);
    expect(c({ kind: SpanKind.CLIENT, attrs: { ...rpc, 'rpc.grpc.status_code': 14 } }).failed).toBe(true);
    expect(c({ kind: SpanKind.CLIENT, attrs: { ...rpc, 'rpc.response.status_code': 'OK' } }).failed).toBe(false);
    expect(c({ kind: SpanKind.CLIENT, attrs: { ...rpc, 'rpc.response.status_code': 'UNAVAILABLE' } }).failed).toBe(true);
  });
  it('http.request.resend_count > 0 is a retry', () => {
    expect(c({ kind: SpanKind.CLIENT, attrs: { ...get, 'http.request.resend_count': 1 } }).retry).toBe(true);
    expect(c({ kind: SpanKind.CLIENT, attrs: { ...get, 'http.request.resend_count': 0 } }).retry).toBe(false);
  });
});
