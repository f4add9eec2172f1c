/**
 * The fleet: roles (peer groups) with their tool repertoires, the endpoints each tool calls and a Markov
 * chain over tools per role. Written from CONTRACT §3–§4 and what such agents plausibly do — not from
 * any detector — so the scenarios test the contract, not an implementation.
 *
 * Chain states are tool names, `agent:<role>` (delegation to an agent of that role, CLIENT invoke_agent)
 * or `mcp:<role>:<tool>` (a tools/call to an MCP server of that role); `start` and `end` bound a task.
 */

/** What one tool call does downstream. Paths may hold `{n}` (a number) and `{uuid}`, filled per call. */
export type Endpoint =
  | { kind: 'http'; method: string; host: string; path: string; query?: string; port?: number }
  | { kind: 'db'; system: string; namespace: string; collection: string; op: string; host: string };

export interface RoleSpec {
  role: string;
  /** SPIFFE namespace segment. */
  ns: string;
  count: number;
  /** Traces per hour at full daytime activity (before the scenario's rate scale). */
  rate: number;
  /** 0..1: how much of the daytime rate continues at night (bots run around the clock, people do not). */
  nightFloor: number;
  scopes: string[];
  credentialType: string;
  credentialRotateHours: number;
  model: { provider: string; host: string; model: string };
  tools: Record<string, Endpoint[]>;
  chain: Record<string, Array<[string, number]>>;
  maxSteps: number;
  /** Tools this role calls rarely (kept in the chain at ~3 %): the "rare-but-seen" trap. */
  rare: string[];
  /** MCP servers run no tasks of their own; they serve tools/call for callers. */
  serves?: Record<string, Endpoint[]>;
  /** The tasks this role runs when another agent delegates to it (tool sequences). */
  delegated?: string[][];
  /** A role whose baseline is read-only. */
  readOnly?: boolean;
}

const get = (host: string, path: string, query?: string): Endpoint => ({ kind: 'http', method: 'GET', host, path, query });
const call = (method: string, host: string, path: string): Endpoint => ({ kind: 'http', method, host, path });
const sql = (system: string, namespace: string, collection: string, op: string, host: string): Endpoint =>
  ({ kind: 'db', system, namespace, collection, op, host });

const OPENAI = { provider: 'openai', host: 'api.openai.com', model: 'gpt-4o' };
const ANTHROPIC = { provider: 'anthropic', host: 'api.anthropic.com', model: 'claude-sonnet-4' };
const PROM = 'prometheus.monitoring.svc.cluster.local';

export const ROLES: RoleSpec[] = [
  {
    role: 'support-agent', ns: 'support', count: 14, rate: 3.0, nightFloor: 0.1,
    scopes: ['crm:read', 'crm:write', 'tickets:read', 'tickets:write', 'kb:read'],
    credentialType: 'oauth_token', credentialRotateHours: 1, model: OPENAI, maxSteps: 7,
    tools: {
      'tickets.get': [get('tickets.internal', '/api/tickets/{n}')],
      'tickets.update': [call('PATCH', 'tickets.internal', '/api/tickets/{n}')],
      'tickets.comment': [call('POST', 'tickets.internal', '/api/tickets/{n}/comments')],
      'crm.search': [get('crm.internal', '/v2/customers', 'email=someone%40example.com')],
      'crm.get_customer': [get('crm.internal', '/v2/customers/{n}')],
      'crm.update_customer': [call('PATCH', 'crm.internal', '/v2/customers/{n}')],
      'kb.search': [get('kb.internal', '/api/search', 'q=refund+policy')],
      'kb.article_history': [get('kb.internal', '/api/articles/{n}/history')],
      'orders.lookup': [sql('postgresql', 'shop', 'orders', 'SELECT', 'orders-db.internal')],
      'email.send': [call('POST', 'mail.internal', '/v1/messages')],
    },
    rare: ['kb.article_history'],
    chain: {
      start: [['tickets.get', 0.6], ['crm.search', 0.3], ['kb.search', 0.1]],
      'tickets.get': [['crm.search', 0.35], ['kb.search', 0.3], ['tickets.update', 0.15], ['orders.lookup', 0.1], ['agent:billing-agent', 0.1]],
      'crm.search': [['crm.get_customer', 0.65], ['tickets.update', 0.15], ['end', 0.2]],
      'crm.get_customer': [['orders.lookup', 0.35], ['tickets.comment', 0.25], ['email.send', 0.15], ['crm.update_customer', 0.1], ['end', 0.15]],
      'crm.update_customer': [['tickets.comment', 0.6], ['end', 0.4]],
      'kb.search': [['tickets.comment', 0.5], ['tickets.update', 0.25], ['kb.article_history', 0.03], ['end', 0.22]],
      'kb.article_history': [['tickets.comment', 1]],
      'orders.lookup': [['tickets.update', 0.5], ['tickets.comment', 0.3], ['end', 0.2]],
      'tickets.update': [['end', 0.7], ['email.send', 0.3]],
      'tickets.comment': [['tickets.update', 0.4], ['end', 0.6]],
      'email.send': [['end', 1]],
      'agent:billing-agent': [['tickets.comment', 0.6], ['tickets.update', 0.2], ['end', 0.2]],
    },
  },
  {
    role: 'billing-agent', ns: 'billing', count: 8, rate: 2.5, nightFloor: 0.1,
    scopes: ['billing:read', 'billing:write', 'payments:read', 'payments:refund'],
    credentialType: 'oauth_token', credentialRotateHours: 1, model: ANTHROPIC, maxSteps: 6,
    tools: {
      'invoices.list': [get('billing.internal', '/api/invoices', 'customer=42')],
      'invoices.get': [get('billing.internal', '/api/invoices/{n}')],
      'invoices.void': [call('POST', 'billing.internal', '/api/invoices/{n}/void')],
      'customers.lookup': [sql('postgresql', 'billing', 'customers', 'SELECT', 'billing-db.internal')],
      'payments.lookup': [get('api.stripe.com', '/v1/charges/{n}')],
      'refunds.create': [call('POST', 'api.stripe.com', '/v1/refunds')],
      'ledger.query': [sql('postgresql', 'ledger', 'entries', 'SELECT', 'ledger.internal')],
      'ledger.post': [sql('postgresql', 'ledger', 'entries', 'INSERT', 'ledger.internal')],
    },
    rare: ['invoices.void'],
    delegated: [['customers.lookup', 'invoices.list'], ['invoices.list', 'invoices.get'], ['customers.lookup', 'payments.lookup']],
    chain: {
      start: [['invoices.list', 0.4], ['customers.lookup', 0.4], ['ledger.query', 0.2]],
      'invoices.list': [['invoices.get', 0.8], ['end', 0.2]],
      'invoices.get': [['payments.lookup', 0.5], ['ledger.query', 0.3], ['invoices.void', 0.03], ['end', 0.17]],
      'invoices.void': [['ledger.post', 1]],
      'customers.lookup': [['invoices.list', 0.5], ['payments.lookup', 0.4], ['end', 0.1]],
      'payments.lookup': [['refunds.create', 0.2], ['ledger.query', 0.4], ['end', 0.4]],
      'refunds.create': [['ledger.post', 1]],
      'ledger.query': [['ledger.post', 0.3], ['end', 0.7]],
      'ledger.post': [['end', 1]],
    },
  },
  {
    role: 'devops-bot', ns: 'platform', count: 8, rate: 2.5, nightFloor: 0.45,
    scopes: ['k8s:read', 'k8s:restart', 'logs:read', 'metrics:read', 'secrets:read:ci'],
    credentialType: 'vault_token_accessor', credentialRotateHours: 24, model: OPENAI, maxSteps: 6,
    tools: {
      'alerts.list': [get('alertmanager.monitoring.svc.cluster.local', '/api/v2/alerts')],
      'logs.search': [get('loki.monitoring.svc.cluster.local', '/loki/api/v1/query_range', 'query=%7Bapp%3D%22checkout%22%7D')],
      'metrics.query': [get(PROM, '/api/v1/query', 'query=up')],
      'k8s.get_pods': [get('10.0.0.1', '/api/v1/namespaces/shop/pods')],
      'k8s.describe': [get('10.0.0.1', '/api/v1/namespaces/shop/events')],
      'k8s.restart': [call('PATCH', '10.0.0.1', '/apis/apps/v1/namespaces/shop/deployments/checkout')],
      'secrets.get': [get('vault.internal', '/v1/secret/data/ci/deploy-token')],
    },
    rare: ['k8s.describe'],
    chain: {
      start: [['alerts.list', 0.5], ['k8s.get_pods', 0.3], ['secrets.get', 0.2]],
      'alerts.list': [['logs.search', 0.5], ['metrics.query', 0.4], ['end', 0.1]],
      'logs.search': [['metrics.query', 0.3], ['k8s.get_pods', 0.4], ['mcp:mcp-github:create_issue', 0.2], ['end', 0.1]],
      'metrics.query': [['k8s.get_pods', 0.5], ['logs.search', 0.2], ['end', 0.3]],
      'k8s.get_pods': [['k8s.restart', 0.3], ['logs.search', 0.3], ['k8s.describe', 0.03], ['end', 0.37]],
      'k8s.describe': [['k8s.restart', 0.5], ['end', 0.5]],
      'k8s.restart': [['metrics.query', 0.5], ['mcp:mcp-github:create_issue', 0.2], ['end', 0.3]],
      // A deploy task: read the CI token, then act on GitHub through the MCP server — a sensitive read
      // followed by egress that is this role's normal, learned flow.
      'secrets.get': [['mcp:mcp-github:list_pulls', 0.5], ['k8s.restart', 0.3], ['mcp:mcp-github:create_issue', 0.2]],
      'mcp:mcp-github:create_issue': [['end', 1]],
      'mcp:mcp-github:list_pulls': [['k8s.restart', 0.5], ['end', 0.5]],
    },
  },
  {
    role: 'research-agent', ns: 'research', count: 8, rate: 1.2, nightFloor: 0.05,
    scopes: ['web:read', 'docs:read', 'notes:write'],
    credentialType: 'oauth_token', credentialRotateHours: 1, model: ANTHROPIC, maxSteps: 6,
    tools: {
      'web.search': [get('api.search.brave.com', '/res/v1/web/search', 'q=otel+genai')],
      'docs.search': [get('confluence.internal', '/rest/api/search', 'cql=type%3Dpage')],
      'notes.write': [call('POST', 'notes.internal', '/api/notes')],
      'arxiv.query': [get('export.arxiv.org', '/api/query', 'search_query=all%3Aagents')],
    },
    rare: ['arxiv.query'],
    chain: {
      start: [['web.search', 0.6], ['docs.search', 0.4]],
      'web.search': [['mcp:mcp-fetch:fetch', 0.7], ['web.search', 0.1], ['notes.write', 0.1], ['end', 0.1]],
      'mcp:mcp-fetch:fetch': [['mcp:mcp-fetch:fetch', 0.3], ['notes.write', 0.4], ['arxiv.query', 0.03], ['end', 0.27]],
      'docs.search': [['notes.write', 0.4], ['web.search', 0.3], ['end', 0.3]],
      'arxiv.query': [['notes.write', 1]],
      'notes.write': [['end', 1]],
    },
  },
  {
    role: 'reporting-agent', ns: 'analytics', count: 8, rate: 2.0, nightFloor: 0.3, readOnly: true,
    scopes: ['analytics:read', 'crm:read', 'metrics:read'],
    credentialType: 'oauth_token', credentialRotateHours: 1, model: OPENAI, maxSteps: 6,
    tools: {
      'warehouse.query': [sql('clickhouse', 'analytics', 'events', 'SELECT', 'ch.internal')],
      'warehouse.sessions': [sql('clickhouse', 'analytics', 'sessions', 'SELECT', 'ch.internal')],
      'warehouse.schema': [sql('clickhouse', 'system', 'tables', 'SELECT', 'ch.internal')],
      'metrics.query': [get(PROM, '/api/v1/query', 'query=rate(http_requests_total%5B5m%5D)')],
      'dashboard.get': [get('grafana.internal', '/api/dashboards/{n}')],
      'crm.search': [get('crm.internal', '/v2/customers', 'segment=enterprise')],
    },
    rare: ['warehouse.schema'],
    chain: {
      start: [['warehouse.query', 0.5], ['dashboard.get', 0.3], ['metrics.query', 0.2]],
      'warehouse.query': [['warehouse.sessions', 0.4], ['warehouse.query', 0.2], ['crm.search', 0.1], ['end', 0.3]],
      'warehouse.sessions': [['warehouse.query', 0.3], ['dashboard.get', 0.2], ['warehouse.schema', 0.03], ['end', 0.47]],
      'warehouse.schema': [['warehouse.query', 1]],
      'dashboard.get': [['metrics.query', 0.5], ['warehouse.query', 0.3], ['end', 0.2]],
      'metrics.query': [['dashboard.get', 0.3], ['end', 0.7]],
      'crm.search': [['warehouse.query', 0.5], ['end', 0.5]],
    },
  },
  {
    role: 'mcp-github', ns: 'mcp', count: 2, rate: 0, nightFloor: 0,
    scopes: ['repo:read', 'issues:write'], credentialType: 'github_installation_token', credentialRotateHours: 1,
    model: OPENAI, maxSteps: 1, tools: {}, rare: [], chain: {},
    serves: {
      create_issue: [call('POST', 'api.github.com', '/repos/acme/shop/issues')],
      list_pulls: [get('api.github.com', '/repos/acme/shop/pulls', 'state=open')],
    },
  },
  {
    role: 'mcp-fetch', ns: 'mcp', count: 2, rate: 0, nightFloor: 0,
    scopes: ['web:read'], credentialType: 'none', credentialRotateHours: 24,
    model: OPENAI, maxSteps: 1, tools: {}, rare: [], chain: {},
    serves: {
      fetch: [
        get('docs.python.org', '/3/library/asyncio.html'),
        get('developer.mozilla.org', '/en-US/docs/Web/API/Fetch_API'),
        get('en.wikipedia.org', '/wiki/Markov_chain'),
        get('nodejs.org', '/api/stream.html'),
        get('www.rfc-editor.org', '/rfc/rfc9110.html'),
        get('opentelemetry.io', '/docs/specs/semconv/gen-ai/'),
      ],
    },
  },
];

/** The tool the support group rolls out mid-run (the "adopted by most of a peer group at once" trap). */
export const ROLLOUT = {
  role: 'support-agent',
  tool: 'kb.semantic_search',
  replaces: 'kb.search',
  endpoint: get('kb.internal', '/api/v2/semantic-search', 'q=refund+policy'),
  /** Share of the group that adopts, and how often an adopter then uses it instead of the old tool. */
  adoptShare: 0.8,
  useShare: 0.7,
} as const;

/** A downstream that fails often for one identity of a role: the "flaky downstream" trap. */
export interface Flaky {
  /** The failing downstream host, or `*` for all of the identity's HTTP calls (a bad network path). */
  host: string;
  failRate: number;
  /** Tools whose endpoint is replaced for the flaky identity (else: calls to `host` just fail more). */
  replace?: Record<string, Endpoint>;
}

export const FLAKY: Record<string, Flaky> = {
  'billing-agent': {
    host: 'legacy-erp.internal', failRate: 0.4,
    replace: { 'invoices.get': get('legacy-erp.internal', '/erp/invoices/{n}'), 'invoices.list': get('legacy-erp.internal', '/erp/invoices', 'customer=42') },
  },
  'devops-bot': { host: '*', failRate: 0.25 },
};

export interface Identity {
  id: string;
  name: string;
  role: RoleSpec;
  index: number;
  /** Per-identity activity multiplier, so peers are alike but not identical. */
  activity: number;
  flaky?: Flaky;
  /** Event time (ms) of the first task; later than the fleet start for instances that join mid-run. */
  joinMs: number;
  resource: import('./otlp.js').Resource;
}

export function identityId(role: RoleSpec, index: number): string {
  return `spiffe://acme.example/ns/${role.ns}/sa/${role.role}-${index}`;
}

export function roleByName(name: string): RoleSpec {
  const r = ROLES.find((x) => x.role === name);
  if (!r) throw new Error(`no role ${name}`);
  return r;
}
