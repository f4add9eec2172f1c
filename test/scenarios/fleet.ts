/**
 * The fleet: roles (peer groups) with their tool repertoires, the endpoints each tool calls and a Markov
 * chain over tools per role. Written from CONTRACT §3–§4 and what such agents plausibly do — not from
 * any detector — so the scenarios test the contract, not an implementation.
 *
 * Chain states are tool names, `agent:<role>` (delegation to an agent of that role, CLIENT invoke_agent)
 * or `mcp:<role>:<tool>` (a tools/call to an MCP server of that role); `start` and `end` bound a task.
 */

/**
 * What one tool call does downstream. Paths may hold `{n}` (a number) and `{uuid}`, filled per call.
 * An HTTP method outside the OpenTelemetry instrumentations' known list (WebDAV `PROPFIND`, `MKCOL`,
 * `LOCK`…) is recorded by them as `_OTHER` with the real one in `http.request.method_original`
 * (`other: true`); a client configured with its own known methods records it as sent. A DB call's
 * `text` is its `db.query.text` (parameterised, as the instrumentations record it); `sqlcommenter`
 * appends the trace context comment the sqlcommenter libraries add to every statement; `noCollection`
 * records no `db.collection.name` nor `db.query.summary`, as instrumentation-pg does.
 */
export type Endpoint =
  | { kind: 'http'; method: string; host: string; path: string; query?: string; port?: number; other?: boolean }
  | { kind: 'db'; system: string; namespace: string; collection: string; op: string; host: string; text?: string; port?: number; sqlcommenter?: boolean; noCollection?: boolean };

/**
 * Something called over the network that is not part of the fleet: a remote agent (A2A over HTTPS, chain
 * state `remote:<agent>`) or a hosted MCP server (streamable HTTP, chain state `rmcp:<server>:<tool>`).
 * Only the caller's CLIENT span and its HTTP transport are in the fleet's traces.
 */
export interface Remote {
  host: string;
  path: string;
}

/**
 * A long session (a trace of 20–120 minutes): a fixed runbook of chain states, each edge of which is an
 * edge of the role's chain (so the steps and their order are learned from the short tasks), with long
 * pauses (waiting for a settlement report, a rollout, a human) at the `pause` marks. `n` repeats a state.
 */
export interface SessionSpec {
  /** Sessions per hour at full daytime activity (before the scenario's rate scale). */
  rate: number;
  minutes: [number, number];
  script: Array<{ s: string; n?: [number, number] } | 'pause'>;
  /** What the session is, for the manifest's traps. */
  note: string;
}

/** A scheduled task: the same steps at fixed hours (cron), each identity at its own minute. */
export interface Routine {
  steps: string[];
  /** UTC hours it runs at, weekdays only. */
  hours: number[];
  note: string;
}

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
  /** Remote agents (`remote:<name>`) and hosted MCP servers (`rmcp:<name>:<tool>`) outside the fleet. */
  remoteAgents?: Record<string, Remote>;
  remoteMcp?: Record<string, Remote>;
  session?: SessionSpec;
  routines?: Routine[];
}

const get = (host: string, path: string, query?: string): Endpoint => ({ kind: 'http', method: 'GET', host, path, query });
const call = (method: string, host: string, path: string): Endpoint => ({ kind: 'http', method, host, path });
const sql = (system: string, namespace: string, collection: string, op: string, host: string, text?: string, extra: Partial<Extract<Endpoint, { kind: 'db' }>> = {}): Endpoint =>
  ({ kind: 'db', system, namespace, collection, op, host, ...(text ? { text } : {}), ...extra });
/** A WebDAV request as the OpenTelemetry HTTP instrumentations record it: `_OTHER` + the method sent. */
const dav = (method: string, path: string): Endpoint => ({ kind: 'http', method, host: DAV, path, other: true });

const OPENAI = { provider: 'openai', host: 'api.openai.com', model: 'gpt-4o' };
const ANTHROPIC = { provider: 'anthropic', host: 'api.anthropic.com', model: 'claude-sonnet-4' };
const PROM = 'prometheus.monitoring.svc.cluster.local';
/** The internal document library (Nextcloud), spoken to over WebDAV. */
const DAV = 'dav.internal';
const DAV_FILE = '/remote.php/dav/files/library/projects/{n}/drafts/{n}.md';
/** Managed databases outside the zones (so `external`): finance's revenue DB on RDS, product analytics on Atlas. */
const REVENUE_DB = 'acme-revenue.cluster-c7kq2xv4ndp1.eu-west-1.rds.amazonaws.com';
const ATLAS = 'analytics-cluster0.x7k2p.mongodb.net';

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
      'orders.lookup': [sql('postgresql', 'shop', 'orders', 'SELECT', 'orders-db.internal',
        'SELECT id, status, total_cents, created_at FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 20')],
      'email.send': [call('POST', 'mail.internal', '/v1/messages')],
      // The hourly queue digest (a routine, below): the team's Slack channel, through its incoming webhook.
      'tickets.queue': [get('tickets.internal', '/api/tickets', 'status=open&assignee=me')],
      'slack.post': [call('POST', 'hooks.slack.com', '/services/T024BE7LD/B05QK2V1ZPF/Xq9YkLm2Rb7TnWc4Hs8Jd3Fv')],
    },
    // Each agent posts its open queue to the team channel at the top of every office hour. Its other tasks
    // read customer records meanwhile: a sensitive read in one trace and this routine external post in
    // another, minutes apart, every day.
    routines: [{ steps: ['tickets.queue', 'slack.post'], hours: [8, 9, 10, 11, 12, 13, 14, 15, 16, 17], note: 'hourly queue digest to Slack (hooks.slack.com)' }],
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
      'customers.lookup': [sql('postgresql', 'billing', 'customers', 'SELECT', 'billing-db.internal',
        'SELECT id, name, email, billing_address, tax_id, plan FROM customers WHERE id = $1')],
      'payments.lookup': [get('api.stripe.com', '/v1/charges/{n}')],
      'refunds.create': [call('POST', 'api.stripe.com', '/v1/refunds')],
      'ledger.query': [sql('postgresql', 'ledger', 'entries', 'SELECT', 'ledger.internal',
        'SELECT account_id, sum(amount_cents) AS balance FROM entries WHERE posted_at >= $1 GROUP BY account_id', { sqlcommenter: true, noCollection: true })],
      'ledger.post': [sql('postgresql', 'ledger', 'entries', 'INSERT', 'ledger.internal',
        'INSERT INTO entries (account_id, amount_cents, currency, memo, posted_at) VALUES ($1, $2, $3, $4, now()) RETURNING id', { sqlcommenter: true, noCollection: true })],
      'ledger.reconcile': [sql('postgresql', 'ledger', 'entries', 'UPDATE', 'ledger.internal',
        'UPDATE entries SET reconciled_at = now(), batch_id = $1 WHERE account_id = $2 AND reconciled_at IS NULL', { sqlcommenter: true, noCollection: true })],
      // Finance's revenue database, a managed PostgreSQL on RDS outside the zones: billing reads it and
      // writes each invoice's facts there, right after reading the customer (a learned sensitive flow).
      'revenue.sync': [sql('postgresql', 'revenue', 'invoice_facts', 'INSERT', REVENUE_DB,
        'INSERT INTO invoice_facts (invoice_id, customer_id, amount_cents, currency, period) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (invoice_id) DO UPDATE SET amount_cents = EXCLUDED.amount_cents', { port: 5432 })],
      'revenue.query': [sql('postgresql', 'revenue', 'invoice_facts', 'SELECT', REVENUE_DB,
        'SELECT period, sum(amount_cents) FROM invoice_facts WHERE customer_id = $1 GROUP BY period ORDER BY period DESC LIMIT 12', { port: 5432 })],
    },
    // The tax engine's agent, run by the vendor (A2A over HTTPS): billing sends it the customer's address
    // and plan to get the tax due on an invoice.
    remoteAgents: { 'tax-advisor': { host: 'a2a.avalara.com', path: '/a2a/v1' } },
    rare: ['invoices.void'],
    delegated: [['customers.lookup', 'invoices.list'], ['invoices.list', 'invoices.get'], ['customers.lookup', 'payments.lookup']],
    chain: {
      start: [['invoices.list', 0.4], ['customers.lookup', 0.4], ['ledger.query', 0.15], ['revenue.query', 0.05]],
      'invoices.list': [['invoices.get', 0.8], ['end', 0.2]],
      'invoices.get': [['payments.lookup', 0.5], ['ledger.query', 0.3], ['invoices.void', 0.03], ['end', 0.17]],
      'invoices.void': [['ledger.post', 1]],
      'customers.lookup': [['invoices.list', 0.45], ['payments.lookup', 0.35], ['remote:tax-advisor', 0.1], ['end', 0.1]],
      'remote:tax-advisor': [['invoices.list', 0.5], ['end', 0.5]],
      'payments.lookup': [['refunds.create', 0.2], ['ledger.query', 0.4], ['end', 0.4]],
      'refunds.create': [['ledger.post', 1]],
      'ledger.query': [['ledger.post', 0.25], ['ledger.reconcile', 0.1], ['end', 0.65]],
      'ledger.post': [['revenue.sync', 0.3], ['end', 0.7]],
      'ledger.reconcile': [['revenue.sync', 0.4], ['end', 0.6]],
      'revenue.sync': [['end', 1]],
      'revenue.query': [['ledger.query', 0.5], ['end', 0.5]],
    },
    // Reconciliation: read the customer, go through its invoices, wait for the processor's settlement
    // report, then check the charges, post to the ledger and sync the facts to the revenue DB.
    session: {
      rate: 0.08, minutes: [20, 120], note: 'reconciliation session: customer read early, Stripe and the revenue DB (RDS) 20–120 min later',
      script: [{ s: 'customers.lookup' }, { s: 'invoices.list' }, { s: 'invoices.get', n: [2, 5] }, 'pause', { s: 'invoices.get' }, { s: 'payments.lookup' }, 'pause',
        { s: 'ledger.query' }, { s: 'ledger.post' }, { s: 'revenue.sync' }],
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
      // After a restart, the stale assets are purged from the cache: a custom verb, recorded as sent
      // (the bot's HTTP client lists PURGE among its known methods).
      'cache.purge': [call('PURGE', 'varnish.internal', '/shop/assets/app.{n}.js')],
    },
    // Sentry's hosted MCP server (streamable HTTP): the incident's errors and their stack traces.
    remoteMcp: { sentry: { host: 'mcp.sentry.dev', path: '/mcp' } },
    rare: ['k8s.describe'],
    chain: {
      start: [['alerts.list', 0.5], ['k8s.get_pods', 0.3], ['secrets.get', 0.2]],
      'alerts.list': [['logs.search', 0.45], ['metrics.query', 0.35], ['rmcp:sentry:search_issues', 0.1], ['end', 0.1]],
      'logs.search': [['metrics.query', 0.25], ['k8s.get_pods', 0.35], ['mcp:mcp-github:create_issue', 0.2], ['rmcp:sentry:search_issues', 0.1], ['end', 0.1]],
      'rmcp:sentry:search_issues': [['rmcp:sentry:get_issue_details', 0.5], ['logs.search', 0.3], ['end', 0.2]],
      'rmcp:sentry:get_issue_details': [['k8s.get_pods', 0.5], ['end', 0.5]],
      'metrics.query': [['k8s.get_pods', 0.5], ['logs.search', 0.2], ['end', 0.3]],
      'k8s.get_pods': [['k8s.restart', 0.3], ['logs.search', 0.3], ['k8s.describe', 0.03], ['end', 0.37]],
      'k8s.describe': [['k8s.restart', 0.5], ['end', 0.5]],
      'k8s.restart': [['metrics.query', 0.45], ['mcp:mcp-github:create_issue', 0.15], ['cache.purge', 0.15], ['end', 0.25]],
      'cache.purge': [['metrics.query', 0.6], ['end', 0.4]],
      // A deploy task: read the CI token, then act on GitHub through the MCP server — a sensitive read
      // followed by egress that is this role's normal, learned flow.
      'secrets.get': [['mcp:mcp-github:list_pulls', 0.5], ['k8s.restart', 0.3], ['mcp:mcp-github:create_issue', 0.2]],
      'mcp:mcp-github:create_issue': [['end', 1]],
      'mcp:mcp-github:list_pulls': [['k8s.restart', 0.5], ['end', 0.5]],
    },
    // A deploy watched through: the CI token read first, the rollout watched for 20–120 minutes, then the
    // errors looked up in Sentry and the follow-up issue filed on GitHub (both external, both learned).
    session: {
      rate: 0.06, minutes: [20, 120], note: 'deploy session: Vault token read early, Sentry MCP and GitHub 20–120 min later',
      script: [{ s: 'secrets.get' }, { s: 'k8s.restart' }, { s: 'metrics.query' }, 'pause', { s: 'logs.search', n: [1, 3] }, { s: 'rmcp:sentry:search_issues' },
        { s: 'rmcp:sentry:get_issue_details' }, { s: 'k8s.get_pods' }, 'pause', { s: 'logs.search' }, { s: 'mcp:mcp-github:create_issue' }],
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
      'warehouse.query': [sql('clickhouse', 'analytics', 'events', 'SELECT', 'ch.internal',
        'SELECT toStartOfHour(ts) AS hour, count() AS n FROM events WHERE ts > now() - INTERVAL 1 DAY GROUP BY hour ORDER BY hour')],
      'warehouse.sessions': [sql('clickhouse', 'analytics', 'sessions', 'SELECT', 'ch.internal',
        'WITH recent AS (SELECT session_id, max(ts) AS last_seen FROM sessions GROUP BY session_id) SELECT count() FROM recent WHERE last_seen > now() - INTERVAL 1 HOUR')],
      'warehouse.schema': [sql('clickhouse', 'system', 'tables', 'SELECT', 'ch.internal',
        "SELECT database, name, engine, total_rows FROM system.tables WHERE database = 'analytics'")],
      'metrics.query': [get(PROM, '/api/v1/query', 'query=rate(http_requests_total%5B5m%5D)')],
      'dashboard.get': [get('grafana.internal', '/api/dashboards/{n}')],
      'crm.search': [get('crm.internal', '/v2/customers', 'segment=enterprise')],
      // The search service takes HTTP QUERY (a safe method with a body), recorded as sent.
      'events.search': [{ kind: 'http', method: 'QUERY', host: 'search.internal', path: '/api/v1/events/_search' }],
      // Product analytics on MongoDB Atlas, outside the zones: read-only aggregations.
      'product.usage': [sql('mongodb', 'product', 'usage_events', 'aggregate', ATLAS)],
    },
    rare: ['warehouse.schema'],
    chain: {
      start: [['warehouse.query', 0.45], ['dashboard.get', 0.25], ['metrics.query', 0.15], ['events.search', 0.1], ['product.usage', 0.05]],
      'warehouse.query': [['warehouse.sessions', 0.4], ['warehouse.query', 0.2], ['crm.search', 0.1], ['end', 0.3]],
      'warehouse.sessions': [['warehouse.query', 0.3], ['dashboard.get', 0.2], ['warehouse.schema', 0.03], ['end', 0.47]],
      'warehouse.schema': [['warehouse.query', 1]],
      'events.search': [['warehouse.query', 0.4], ['dashboard.get', 0.2], ['end', 0.4]],
      'product.usage': [['dashboard.get', 0.3], ['end', 0.7]],
      'dashboard.get': [['metrics.query', 0.45], ['warehouse.query', 0.25], ['product.usage', 0.1], ['end', 0.2]],
      'metrics.query': [['dashboard.get', 0.3], ['end', 0.7]],
      'crm.search': [['warehouse.query', 0.5], ['end', 0.5]],
    },
  },
  {
    // Keeps the internal document library on Nextcloud over WebDAV: lists folders (PROPFIND), searches
    // (SEARCH), makes folders (MKCOL), locks, uploads and unlocks drafts (LOCK, PUT, UNLOCK), files them
    // (MOVE). Its HTTP client is instrumented by OpenTelemetry, so the WebDAV verbs are `_OTHER`.
    role: 'docs-agent', ns: 'knowledge', count: 4, rate: 1.5, nightFloor: 0.1,
    scopes: ['files:read', 'files:write', 'docs:read'],
    credentialType: 'oauth_token', credentialRotateHours: 1, model: ANTHROPIC, maxSteps: 7,
    tools: {
      'files.search': [dav('SEARCH', '/remote.php/dav/')],
      'files.list': [dav('PROPFIND', '/remote.php/dav/files/library/projects/{n}/')],
      'files.get': [get(DAV, DAV_FILE)],
      'files.mkdir': [dav('MKCOL', '/remote.php/dav/files/library/projects/{n}/drafts/')],
      'files.lock': [dav('LOCK', DAV_FILE)],
      'files.put': [call('PUT', DAV, DAV_FILE)],
      'files.unlock': [dav('UNLOCK', DAV_FILE)],
      'files.move': [dav('MOVE', DAV_FILE)],
      'docs.search': [get('confluence.internal', '/rest/api/search', 'cql=type%3Dpage')],
    },
    rare: [],
    chain: {
      start: [['files.list', 0.45], ['files.search', 0.35], ['docs.search', 0.2]],
      'files.search': [['files.get', 0.6], ['files.list', 0.3], ['end', 0.1]],
      'docs.search': [['files.list', 0.5], ['files.search', 0.3], ['end', 0.2]],
      'files.list': [['files.get', 0.6], ['files.mkdir', 0.15], ['end', 0.25]],
      'files.get': [['files.lock', 0.45], ['files.move', 0.1], ['end', 0.45]],
      'files.mkdir': [['files.put', 0.8], ['end', 0.2]],
      'files.lock': [['files.put', 1]],
      'files.put': [['files.unlock', 0.9], ['end', 0.1]],
      'files.unlock': [['end', 1]],
      'files.move': [['end', 1]],
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
