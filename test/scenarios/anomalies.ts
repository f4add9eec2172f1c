/**
 * The anomaly catalogue: what each detector of CONTRACT §4 must catch, at varied strengths. Each entry
 * builds tasks for one identity at one event time and marks the spans its label points at. Written from
 * the contract's wording ("a tool, target, host, zone or scope it never used", "a sensitive read followed
 * by egress", "a quiet identity's small sustained loop", "writes where its baseline only reads") — never
 * from a detector's thresholds.
 */
import type { Endpoint, Identity } from './fleet.js';
import type { Detector } from './labels.js';
import type { Rng } from './prng.js';
import { HOUR, MINUTE, SECOND } from './units.js';
import type { CallOptions, Emitter, Step } from './tasks.js';

/** What a catalogue entry may ask of the generator. */
export interface Injector {
  /** A normal task's steps for this identity at this time (its usual walk). */
  normalSteps(who: Identity, atMs: number, rng: Rng): Step[];
  /** Emit a task now; its spans become part of the scenario, its marked spans the label's evidence. */
  task(who: Identity, atMs: number, steps: Step[], opts?: { scopes?: string[]; markAll?: boolean }): Emitter;
  /** The identity of a role a caller is paired with (an MCP server for its callers). */
  callersOf(server: Identity): Identity[];
}

export interface Template {
  variant: string;
  detector: Detector;
  roles: string[];
  strengths: number[];
  unit: string;
  flakyOnly?: boolean;
  build(x: Injector, who: Identity, atMs: number, strength: number, rng: Rng): Emitter[];
}

/** A custom step whose spans are marked as the anomaly. */
function marked(inner: (e: Emitter, parent: Parameters<Extract<Step, { t: 'custom' }>['emit']>[1], at: number, who: Identity) => number): Step {
  return {
    t: 'custom',
    emit: (e, parent, at, who) => {
      e.marking = true;
      try {
        return inner(e, parent, at, who);
      } finally {
        e.marking = false;
      }
    },
  };
}

/** A tool call (the identity's own endpoint unless given), marked. */
export function markedTool(name: string, ep?: Endpoint | null, opts: CallOptions = {}, callId?: string): Step {
  return marked((e, parent, at, who) => {
    const endpoint = ep === null ? undefined : ep ?? who.flaky?.replace?.[name] ?? who.role.tools[name]?.[0];
    return e.tool(who, parent, at, name, endpoint, { clean: true, ...opts }, callId);
  });
}

const http = (method: string, host: string, path: string): Endpoint => ({ kind: 'http', method, host, path });
const db = (system: string, namespace: string, collection: string, op: string, host: string): Endpoint =>
  ({ kind: 'db', system, namespace, collection, op, host });

/** Insert a step at a random position of a normal walk. */
function withExtra(x: Injector, who: Identity, at: number, rng: Rng, extra: Step): Step[] {
  const steps = x.normalSteps(who, at, rng);
  steps.splice(rng.int(0, steps.length), 0, extra);
  return steps;
}

/** `n` tasks spread over a window starting at `at`, each built by `make`. */
function spread(n: number, at: number, gapMs: number, rng: Rng, make: (t: number, i: number) => Emitter): Emitter[] {
  const out: Emitter[] = [];
  let t = at;
  for (let i = 0; i < n; i++) {
    out.push(make(t, i));
    t += Math.round(gapMs * rng.range(0.6, 1.4));
  }
  return out;
}

/** `n` failing attempts of one tool, `every` ms apart, `perTrace` to a task: an agent stuck in a loop
 *  (no model call between attempts — that is what makes it a loop rather than a plan). */
function failingLoop(x: Injector, who: Identity, at: number, rng: Rng, n: number, everyMs: number, perTrace: number,
  tool: string, opts: CallOptions, sameCallId: boolean): Emitter[] {
  const out: Emitter[] = [];
  const callId = `call_${rng.hex(24)}`;
  let t = at;
  for (let done = 0; done < n; ) {
    const k = Math.min(perTrace, n - done);
    const loop = marked((e, parent, a, w) => {
      const ep = w.flaky?.replace?.[tool] ?? w.role.tools[tool][0];
      let cursor = a;
      for (let i = 0; i < k; i++) {
        const end = e.tool(w, parent, cursor, tool, ep, { clean: true, ...opts }, sameCallId ? callId : undefined);
        cursor = Math.max(end + 5, cursor + Math.round(everyMs * rng.range(0.7, 1.3)));
      }
      return cursor;
    });
    out.push(x.task(who, t, [loop]));
    done += k;
    t += Math.round(everyMs * k);
  }
  return out;
}

/** Per role: a read tool with an HTTP endpoint, used by the failure templates. */
const HTTP_READ: Record<string, string> = {
  'support-agent': 'tickets.get', 'billing-agent': 'payments.lookup', 'devops-bot': 'metrics.query',
  'research-agent': 'web.search', 'reporting-agent': 'dashboard.get',
};

/** Per role: its sensitive read (by the scenario config) and a step that leads there. */
const SENSITIVE: Record<string, { before: string[]; read: string }> = {
  'support-agent': { before: ['crm.search'], read: 'crm.get_customer' },
  'billing-agent': { before: [], read: 'customers.lookup' },
  'devops-bot': { before: [], read: 'secrets.get' },
};

/** Egress to external hosts the fleet never talks to (paste sites, upload services, catch-all webhooks). */
const EGRESS: Record<string, [string, Endpoint]> = {
  'support-agent': ['webhook.send', http('POST', 'webhook.site', '/{uuid}')],
  'billing-agent': ['export.upload', http('POST', 'transfer.sh', '/upload')],
  'devops-bot': ['http.post', http('POST', 'paste.ee', '/api/v1/pastes')],
  'research-agent': ['paste.create', http('POST', 'pastebin.com', '/api/api_post.php')],
  'reporting-agent': ['share.upload', http('POST', 'file.io', '/upload')],
};

const VAULT = http('GET', 'vault.internal', '/v1/secret/data/prod/db-password');

export const CATALOGUE: Template[] = [
  // ---- scope_drift: something the identity never used ----
  {
    variant: 'new-secret-read', detector: 'scope_drift', unit: 'uses',
    roles: ['support-agent', 'billing-agent', 'research-agent', 'reporting-agent'], strengths: [1, 3, 10],
    build: (x, who, at, n, rng) => spread(n, at, 4 * MINUTE, rng, (t) => x.task(who, t, withExtra(x, who, t, rng, markedTool('vault.read', VAULT)))),
  },
  {
    variant: 'new-external-host', detector: 'scope_drift', unit: 'uses',
    roles: ['support-agent', 'billing-agent', 'devops-bot', 'reporting-agent'], strengths: [1, 5, 20],
    build: (x, who, at, n, rng) => {
      const [tool, ep] = ({
        'support-agent': ['kb.search', http('GET', 'kb-mirror.example.net', '/api/search')],
        'billing-agent': ['invoices.list', http('GET', 'api.invoice-tools.io', '/v1/invoices')],
        'devops-bot': ['logs.search', http('GET', 'logs.example-saas.com', '/api/query')],
        'reporting-agent': ['dashboard.get', http('GET', 'charts.example-bi.com', '/api/charts/{n}')],
      } as Record<string, [string, Endpoint]>)[who.role.role];
      return spread(n, at, 3 * MINUTE, rng, (t) => x.task(who, t, withExtra(x, who, t, rng, markedTool(tool, ep))));
    },
  },
  {
    variant: 'new-scope', detector: 'scope_drift', unit: 'uses',
    roles: ['support-agent', 'billing-agent', 'devops-bot', 'research-agent', 'reporting-agent'], strengths: [1, 3, 10],
    build: (x, who, at, n, rng) => spread(n, at, 5 * MINUTE, rng, (t) => {
      const steps = x.normalSteps(who, t, rng);
      if (steps.length === 0) steps.push({ t: 'tool', name: HTTP_READ[who.role.role] });
      return x.task(who, t, steps, { scopes: [...who.role.scopes, 'admin:*'], markAll: true });
    }),
  },
  {
    variant: 'new-db-target', detector: 'scope_drift', unit: 'uses',
    roles: ['support-agent', 'billing-agent', 'reporting-agent'], strengths: [1, 5],
    build: (x, who, at, n, rng) => {
      const [tool, ep] = ({
        'support-agent': ['orders.lookup', db('postgresql', 'hr', 'salaries', 'SELECT', 'hr-db.internal')],
        'billing-agent': ['ledger.query', db('postgresql', 'hr', 'employees', 'SELECT', 'hr-db.internal')],
        'reporting-agent': ['warehouse.query', db('clickhouse', 'finance', 'payroll', 'SELECT', 'ch.internal')],
      } as Record<string, [string, Endpoint]>)[who.role.role];
      return spread(n, at, 4 * MINUTE, rng, (t) => x.task(who, t, withExtra(x, who, t, rng, markedTool(tool, ep))));
    },
  },
  {
    variant: 'new-zone', detector: 'scope_drift', unit: 'uses',
    roles: ['research-agent', 'reporting-agent'], strengths: [2],
    build: (x, who, at, n, rng) => {
      const tool = who.role.role === 'research-agent' ? 'docs.search' : 'dashboard.get';
      return spread(n, at, 6 * MINUTE, rng, (t) => x.task(who, t, withExtra(x, who, t, rng, markedTool(tool, http('GET', 'ledger.internal', '/api/balances')))));
    },
  },
  {
    // Review31 F6: customer records copied out one at a time. The identity's own sensitive read, through
    // the tool and target it uses every day, in hundreds to thousands of its usual tasks within one hour
    // (a usual hour holds a few). Each task is a learned walk to the read (SENSITIVE), so nothing in it is
    // new but the volume ("data outside its baseline" by amount, not by kind). Its steps are all marked,
    // so without random errors: among thousands of calls the usual 1–3 % fall close together by chance
    // now and then, a failure burst that is another detector's anomaly. All of it falls in one clock hour
    // (moved to the start of the next one), so "n reads in an hour" holds for a clock hour and for any 60
    // minutes alike.
    variant: 'bulk-sensitive-read', detector: 'scope_drift', unit: 'reads',
    roles: ['support-agent', 'billing-agent'], strengths: [300, 1000, 3000],
    build: (x, who, at, n, rng) => {
      const s = SENSITIVE[who.role.role];
      const start = Math.ceil(at / HOUR) * HOUR + rng.int(2, 15) * MINUTE;
      return spread(n, start, (30 * MINUTE) / n, rng, (t) => x.task(who, t, [...s.before, s.read].map((name) => markedTool(name))));
    },
  },

  // ---- lateral_chaining: unlearned transitions to writes/egress/other zones; sensitive read → egress ----
  {
    variant: 'read-then-exfil', detector: 'lateral_chaining', unit: 'traces',
    roles: ['support-agent', 'research-agent', 'reporting-agent'], strengths: [1, 2, 3],
    build: (x, who, at, n, rng) => {
      const read = ({ 'support-agent': 'crm.search', 'research-agent': 'docs.search', 'reporting-agent': 'warehouse.query' } as Record<string, string>)[who.role.role];
      const [egress, ep] = EGRESS[who.role.role];
      return spread(n, at, 7 * MINUTE, rng, (t) => x.task(who, t, [markedTool(read), markedTool(egress, ep)]));
    },
  },
  {
    variant: 'sensitive-then-egress', detector: 'lateral_chaining', unit: 'traces',
    roles: ['support-agent', 'billing-agent', 'devops-bot'], strengths: [1, 1, 2],
    build: (x, who, at, n, rng) => {
      const s = SENSITIVE[who.role.role];
      const [egress, ep] = EGRESS[who.role.role];
      return spread(n, at, 8 * MINUTE, rng, (t) => x.task(who, t, [
        ...s.before.map((name): Step => ({ t: 'tool', name })), markedTool(s.read), markedTool(egress, ep),
      ]));
    },
  },
  {
    variant: 'sensitive-then-egress-across-traces', detector: 'lateral_chaining', unit: 'minutes between the traces',
    roles: ['support-agent', 'billing-agent', 'devops-bot'], strengths: [2, 5, 9],
    build: (x, who, at, gapMin, rng) => {
      const s = SENSITIVE[who.role.role];
      const [egress, ep] = EGRESS[who.role.role];
      const first = x.task(who, at, [...s.before.map((name): Step => ({ t: 'tool', name })), markedTool(s.read)]);
      const later = at + gapMin * MINUTE + rng.int(0, 20) * SECOND;
      return [first, x.task(who, later, [markedTool(egress, ep)])];
    },
  },
  {
    variant: 'unlearned-transition', detector: 'lateral_chaining', unit: 'traces',
    roles: ['billing-agent', 'support-agent', 'devops-bot'], strengths: [1, 2],
    build: (x, who, at, n, rng) => {
      // Known tools in an order neither the identity nor its peers ever took, ending in a write.
      const [lead, from, to] = ({
        'billing-agent': [['invoices.list'], 'invoices.get', 'refunds.create'],
        'support-agent': [[], 'kb.search', 'crm.update_customer'],
        'devops-bot': [[], 'alerts.list', 'k8s.restart'],
      } as Record<string, [string[], string, string]>)[who.role.role];
      return spread(n, at, 10 * MINUTE, rng, (t) => x.task(who, t, [...lead.map((name): Step => ({ t: 'tool', name })), markedTool(from), markedTool(to)]));
    },
  },
  {
    variant: 'delegated-egress', detector: 'lateral_chaining', unit: 'traces',
    roles: ['research-agent'], strengths: [1],
    build: (x, who, at, n, rng) => spread(n, at, 10 * MINUTE, rng, (t) => x.task(who, t, [
      markedTool('docs.search'),
      marked((e, parent, a, w) => e.mcp(w, parent, a, 'mcp-fetch', 'fetch', http('POST', 'pastebin.com', '/api/api_post.php'), { clean: true })),
    ])),
  },

  // ---- retry_storm: failures far above the identity's own baseline ----
  {
    variant: 'runaway-loop', detector: 'retry_storm', unit: 'failures',
    roles: ['support-agent', 'billing-agent', 'devops-bot', 'reporting-agent'], strengths: [20, 50, 100, 200],
    build: (x, who, at, n, rng) => {
      const minutes = ({ 20: 2, 50: 5, 100: 8, 200: 10 } as Record<number, number>)[n] ?? 5;
      const same = n % 100 !== 0;
      if (who.role.role === 'billing-agent') return failingLoop(x, who, at, rng, n, (minutes * MINUTE) / n, 10, 'ledger.post', { dbError: '40001' }, same);
      return failingLoop(x, who, at, rng, n, (minutes * MINUTE) / n, 10, HTTP_READ[who.role.role], { status: rng.pick([500, 503]) }, same);
    },
  },
  {
    variant: 'credential-stuffing', detector: 'retry_storm', unit: '401s',
    roles: ['support-agent', 'billing-agent', 'reporting-agent'], strengths: [30, 60, 120],
    build: (x, who, at, n, rng) => {
      const tool = ({ 'support-agent': 'crm.get_customer', 'billing-agent': 'payments.lookup', 'reporting-agent': 'crm.search' } as Record<string, string>)[who.role.role];
      const minutes = n <= 30 ? 3 : n <= 60 ? 5 : 10;
      return failingLoop(x, who, at, rng, n, (minutes * MINUTE) / n, 5, tool, { status: 401 }, false);
    },
  },
  {
    variant: 'quiet-sustained-loop', detector: 'retry_storm', unit: 'failures',
    roles: ['research-agent'], strengths: [120, 90, 60],
    build: (x, who, at, n, rng) => {
      // 120: one every 5 s for 10 min; 90: every 10 s for 15 min; 60: every 5 s for 5 min. One task each.
      const every = n === 90 ? 10 * SECOND : 5 * SECOND;
      return failingLoop(x, who, at, rng, n, every, 1, 'web.search', { status: 503 }, false);
    },
  },
  {
    // Review18 F4: the loop on one tool among 30 times as many successful calls of another, in the same
    // minutes (a cheap read made to pad the window, or a busy agent): the identity's share barely moves.
    variant: 'padded-loop', detector: 'retry_storm', unit: '401s',
    roles: ['support-agent', 'devops-bot'], strengths: [40, 80],
    build: (x, who, at, n, rng) => {
      const [failing, pad] = who.role.role === 'support-agent' ? ['crm.get_customer', 'kb.search'] : ['metrics.query', 'logs.search'];
      const padTasks = (30 * n) / 50;
      return [
        ...failingLoop(x, who, at, rng, n, (5 * MINUTE) / n, 5, failing, { status: 401 }, false),
        ...spread(padTasks, at, (5 * MINUTE) / padTasks, rng, (t) => x.task(who, t, Array.from({ length: 50 }, (): Step => ({ t: 'tool', name: pad })))),
      ];
    },
  },
  {
    // Review18 F4: too slow for the 5-minute window (about 5 in any 5 minutes), an hour and a half long.
    variant: 'slow-loop', detector: 'retry_storm', unit: 'failures',
    roles: ['support-agent', 'devops-bot'], strengths: [90],
    build: (x, who, at, n, rng) => failingLoop(x, who, at, rng, n, MINUTE, 1, HTTP_READ[who.role.role], { status: 401 }, false),
  },
  {
    variant: 'storm-on-flaky-identity', detector: 'retry_storm', unit: 'failures',
    roles: ['billing-agent', 'devops-bot'], strengths: [150, 150], flakyOnly: true,
    build: (x, who, at, n, rng) => {
      const tool = who.role.role === 'billing-agent' ? 'invoices.get' : 'k8s.get_pods';
      return failingLoop(x, who, at, rng, n, (5 * MINUTE) / n, 10, tool, { status: 503 }, false);
    },
  },

  // ---- unexpected_write: writes where the baseline only reads, or by a read-only identity ----
  {
    variant: 'write-on-read-target', detector: 'unexpected_write', unit: 'writes',
    roles: ['support-agent', 'billing-agent', 'devops-bot'], strengths: [1, 3, 10, 2],
    build: (x, who, at, n, rng) => {
      const [tool, opts] = ({
        'support-agent': ['orders.lookup', { op: 'UPDATE' }],
        'billing-agent': ['customers.lookup', { op: 'UPDATE' }],
        'devops-bot': ['k8s.get_pods', { method: 'DELETE' }],
      } as Record<string, [string, CallOptions]>)[who.role.role];
      return spread(n, at, 3 * MINUTE, rng, (t) => x.task(who, t, withExtra(x, who, t, rng, markedTool(tool, undefined, opts))));
    },
  },
  {
    // The ledger's posting tool, whose spans name no collection, updates a table it never wrote to (its
    // database's target is one it writes every day): review34 E2's privilege change through a writing tool.
    variant: 'write-on-new-table', detector: 'unexpected_write', unit: 'writes',
    roles: ['billing-agent'], strengths: [1, 3],
    build: (x, who, at, n, rng) => spread(n, at, 3 * MINUTE, rng, (t) => x.task(who, t, withExtra(x, who, t, rng,
      markedTool('ledger.post', { kind: 'db', system: 'postgresql', namespace: 'ledger', collection: 'accounts', op: 'UPDATE', host: 'ledger.internal', noCollection: true })))),
  },
  {
    variant: 'catalog-delete-tool', detector: 'unexpected_write', unit: 'uses',
    roles: ['support-agent'], strengths: [1, 2],
    // tickets.purge deletes behind an API Vigil cannot see: no child span, only the config's catalog says so.
    build: (x, who, at, n, rng) => spread(n, at, 5 * MINUTE, rng, (t) => x.task(who, t, [{ t: 'tool', name: 'tickets.get' }, markedTool('tickets.purge', null)])),
  },
  {
    variant: 'read-only-identity-writes', detector: 'unexpected_write', unit: 'writes',
    roles: ['reporting-agent'], strengths: [1, 5, 20],
    build: (x, who, at, n, rng) => {
      const [tool, ep, opts] = ([
        ['warehouse.query', undefined, { op: 'INSERT' }],
        ['dashboard.get', http('POST', 'grafana.internal', '/api/dashboards/db'), {}],
        ['warehouse.sessions', undefined, { op: 'DELETE' }],
      ] as Array<[string, Endpoint | undefined, CallOptions]>)[n === 1 ? 0 : n === 5 ? 1 : 2];
      return spread(n, at, 2 * MINUTE, rng, (t) => x.task(who, t, withExtra(x, who, t, rng, markedTool(tool, ep, opts))));
    },
  },
  {
    variant: 'catalog-execute-tool', detector: 'unexpected_write', unit: 'uses',
    roles: ['devops-bot'], strengths: [1, 3],
    build: (x, who, at, n, rng) => spread(n, at, 4 * MINUTE, rng, (t) => x.task(who, t, [
      { t: 'tool', name: 'k8s.get_pods' },
      markedTool('k8s.exec', http('POST', '10.0.0.1', '/api/v1/namespaces/shop/pods/checkout-7f9c6d/exec')),
    ])),
  },
  {
    variant: 'mcp-server-deletes', detector: 'unexpected_write', unit: 'uses',
    roles: ['mcp-github'], strengths: [1],
    build: (x, server, at, n, rng) => {
      const caller = rng.pick(x.callersOf(server));
      return spread(n, at, 5 * MINUTE, rng, (t) => x.task(caller, t, [
        { t: 'tool', name: 'alerts.list' },
        marked((e, parent, a, w) => e.mcp(w, parent, a, 'mcp-github', 'delete_branch', http('DELETE', 'api.github.com', '/repos/acme/shop/git/refs/heads/main'), { clean: true })),
      ]));
    },
  },
];

/** New instances of existing roles whose very first task is an anomaly (judged against their peers). */
export const NEW_INSTANCE: Array<{ role: string; detector: Detector; variant: string; unit: string; strength: number; build(x: Injector, who: Identity, at: number, rng: Rng): Emitter[] }> = [
  {
    role: 'support-agent', detector: 'scope_drift', variant: 'new-instance-secret-read', unit: 'uses', strength: 1,
    build: (x, who, at) => [x.task(who, at, [{ t: 'tool', name: 'tickets.get' }, markedTool('vault.read', VAULT)])],
  },
  {
    role: 'reporting-agent', detector: 'unexpected_write', variant: 'new-instance-deletes', unit: 'writes', strength: 1,
    build: (x, who, at) => [x.task(who, at, [markedTool('warehouse.query', undefined, { op: 'DELETE' })])],
  },
  {
    role: 'billing-agent', detector: 'lateral_chaining', variant: 'new-instance-sensitive-then-egress', unit: 'traces', strength: 1,
    build: (x, who, at) => [x.task(who, at, [markedTool('customers.lookup'), markedTool(...EGRESS['billing-agent'])])],
  },
  {
    role: 'devops-bot', detector: 'retry_storm', variant: 'new-instance-runaway-loop', unit: 'failures', strength: 60,
    build: (x, who, at, rng) => failingLoop(x, who, at, rng, 60, 5 * SECOND, 10, 'metrics.query', { status: 503 }, false),
  },
];
