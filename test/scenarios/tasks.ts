/**
 * Turns an agent task (a list of steps) into the spans an instrumented agent would emit: a root
 * `invoke_agent` span, model `chat` calls between steps, `execute_tool` spans each with the HTTP or DB
 * CLIENT call it makes, delegations to other agents (CLIENT invoke_agent, the callee under its own
 * resource) and MCP tools/call hops. Transient errors get one retry (`http.request.resend_count=1`),
 * as real HTTP clients do.
 */
import type { Endpoint, Identity, Remote } from './fleet.js';
import { KIND, type Attrs, type GenSpan, type GenTrace } from './otlp.js';
import type { Rng } from './prng.js';

/** One step of a task. `custom` steps emit whatever an anomaly needs and return their end time. */
export type Step =
  | { t: 'tool'; name: string; endpoint?: Endpoint; variant?: number }
  | { t: 'agent'; role: string; variant?: number }
  | { t: 'mcp'; role: string; tool: string; variant?: number }
  | { t: 'remote'; agent: string }
  | { t: 'rmcp'; server: string; tool: string }
  | { t: 'custom'; emit: (e: Emitter, parent: GenSpan, at: number, who: Identity) => number };

/** Per-call benign error rates (CONTRACT §4 asks for quiet on single retries after transient errors). */
export const ERRORS = {
  /** An HTTP call fails with 429/502/503/504 and is retried once, successfully. */
  httpTransient: 0.014,
  /** A GET of a resource by id answers 404; the tool reports the error; no retry. */
  notFound: 0.004,
  /** A tool call fails and the agent repeats it with the same tool call id. */
  toolRetry: 0.003,
  /** A DB call hits a deadlock and is repeated. */
  dbDeadlock: 0.005,
};

/** Everything a task needs to know about the rest of the fleet. */
export interface World {
  byRole: Map<string, Identity[]>;
  /** Which identity of the callee role a caller delegates to (fixed pairing, like real deployments). */
  callee(caller: Identity, role: string): Identity;
}

function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The credential in force for an identity at a time: short-lived tokens rotate, so ids change. */
export function credentialAttrs(who: Identity, atMs: number, scopes?: string[]): Attrs {
  const role = who.role;
  const attrs: Attrs = { 'nhi.scopes': scopes ?? role.scopes };
  if (role.credentialType === 'none') return attrs;
  const slot = Math.floor(atMs / (role.credentialRotateHours * 3_600_000));
  attrs['nhi.credential.id'] = `${role.credentialType === 'oauth_token' ? 'jti' : 'acc'}-${fnv(`${who.id}|${slot}`).toString(16).padStart(8, '0')}${fnv(`${slot}|${who.id}`).toString(16).padStart(8, '0')}`;
  attrs['nhi.credential.type'] = role.credentialType;
  return attrs;
}

export interface CallOptions {
  /** Force this HTTP status (or DB error) on every attempt; no random errors. */
  status?: number;
  dbError?: string;
  /** Random benign errors off (anomaly spans are exactly what the label says). */
  clean?: boolean;
  /** Override the HTTP method (e.g. a DELETE on a target the identity only reads). */
  method?: string;
  op?: string;
  resend?: number;
  /** The HTTP span is the transport of a remote agent or MCP call (folded into it by Vigil, not an action). */
  transport?: boolean;
}

/** What a successful response answers, by method (WebDAV's listings are 207 Multi-Status). */
const OK_STATUS: Record<string, number> = { POST: 201, PUT: 201, MKCOL: 201, MOVE: 201, COPY: 201, PROPFIND: 207, SEARCH: 207, REPORT: 207, UNLOCK: 204, PURGE: 200 };

/** A parameterised statement for a DB call whose operation is not its endpoint's usual one (an anomaly's UPDATE on a read target). */
function genericStatement(op: string, collection: string): string {
  switch (op.toUpperCase()) {
    case 'INSERT': return `INSERT INTO ${collection} VALUES ($1, $2, $3)`;
    case 'UPDATE': return `UPDATE ${collection} SET status = $1 WHERE id = $2`;
    case 'DELETE': return `DELETE FROM ${collection} WHERE id = $1`;
    default: return `SELECT * FROM ${collection} WHERE id = $1`;
  }
}

/** Systems whose instrumentations record the statement text (`db.query.text`); MongoDB's record none. */
const RECORDS_TEXT = new Set(['postgresql', 'clickhouse', 'mysql']);

/** Builds the spans of one trace. `marking` collects the spans an anomaly's label points at. */
export class Emitter {
  readonly trace: GenTrace;
  marking = false;
  readonly marked: GenSpan[] = [];
  /** Scopes override for this task's spans (the new-scope anomaly). */
  scopes?: string[];

  constructor(readonly rng: Rng, readonly world: World, startMs: number) {
    this.trace = { traceId: rng.hex(32), startMs, spans: [] };
  }

  span(who: Identity, parent: GenSpan | undefined, name: string, kind: number, startMs: number, endMs: number, attrs: Attrs, error = false, act?: GenSpan['act']): GenSpan {
    const s: GenSpan = {
      traceId: this.trace.traceId, spanId: this.rng.hex(16), parentSpanId: parent?.spanId, name, kind,
      startMs, endMs, attrs, error, resource: who.resource, act,
    };
    this.trace.spans.push(s);
    if (this.marking) this.marked.push(s);
    return s;
  }

  /** A model call between steps; returns its end. */
  model(who: Identity, parent: GenSpan, at: number): number {
    const m = who.role.model;
    const end = at + this.rng.int(300, 1500);
    this.span(who, parent, `chat ${m.model}`, KIND.client, at, end, {
      'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': m.provider, 'gen_ai.request.model': m.model,
      'server.address': m.host, 'gen_ai.usage.input_tokens': this.rng.int(200, 4000), 'gen_ai.usage.output_tokens': this.rng.int(20, 600),
    }, false, 'model');
    return end;
  }

  fillPath(path: string): string {
    return path
      .replace(/\{n\}/g, () => String(this.rng.int(1000, 999_999)))
      .replace(/\{uuid\}/g, () => `${this.rng.hex(8)}-${this.rng.hex(4)}-4${this.rng.hex(3)}-a${this.rng.hex(3)}-${this.rng.hex(12)}`);
  }

  /** One HTTP or DB attempt as a CLIENT span; returns [span, end]. */
  attempt(who: Identity, parent: GenSpan, at: number, ep: Endpoint, failStatus: number | string | undefined, opts: CallOptions, resend: number): [GenSpan, number] {
    if (ep.kind === 'http') {
      const method = opts.method ?? ep.method;
      const status = typeof failStatus === 'number' ? failStatus : OK_STATUS[method] ?? 200;
      const end = at + this.rng.int(15, 280);
      const port = ep.port ?? (ep.host.startsWith('10.') ? 6443 : 443);
      const url = `https://${ep.host}${port === 443 ? '' : `:${port}`}${this.fillPath(ep.path)}${ep.query ? `?${ep.query}` : ''}`;
      // The instrumentations record a method outside their known list as `_OTHER` (span name `HTTP`).
      const other = ep.other === true && opts.method === undefined;
      const attrs: Attrs = {
        'http.request.method': other ? '_OTHER' : method, ...(other ? { 'http.request.method_original': method } : {}),
        'server.address': ep.host, 'server.port': port, 'url.full': url, 'http.response.status_code': status,
      };
      if (resend > 0) attrs['http.request.resend_count'] = resend;
      if (status >= 400) attrs['error.type'] = String(status);
      return [this.span(who, parent, other ? 'HTTP' : method, KIND.client, at, end, attrs, status >= 500, opts.transport ? undefined : 'http'), end];
    }
    const op = opts.op ?? ep.op;
    const end = at + this.rng.int(3, 90);
    // instrumentation-pg names no collection (nor a summary): its spans say the table only in their text.
    const attrs: Attrs = ep.noCollection
      ? { 'db.system.name': ep.system, 'db.namespace': ep.namespace, 'db.operation.name': op, 'server.address': ep.host }
      : {
        'db.system.name': ep.system, 'db.namespace': ep.namespace, 'db.collection.name': ep.collection,
        'db.operation.name': op, 'server.address': ep.host, 'db.query.summary': `${op} ${ep.collection}`,
      };
    if (ep.port !== undefined) attrs['server.port'] = ep.port;
    if (RECORDS_TEXT.has(ep.system)) {
      const text = ep.text !== undefined && op === ep.op ? ep.text : genericStatement(op, ep.collection);
      attrs['db.query.text'] = ep.sqlcommenter ? `${text} /*application='${who.role.role}',traceparent='00-${this.trace.traceId}-${parent.spanId}-01'*/` : text;
    }
    if (typeof failStatus === 'string') attrs['error.type'] = failStatus;
    return [this.span(who, parent, `${op} ${ep.namespace}.${ep.collection}`, KIND.client, at, end, attrs, failStatus !== undefined, 'db'), end];
  }

  /** The downstream call of a tool, with benign errors and one retry; returns [end, failed]. */
  downstream(who: Identity, parent: GenSpan, at: number, ep: Endpoint, opts: CallOptions): [number, boolean] {
    const rng = this.rng;
    if (opts.status !== undefined || opts.dbError !== undefined) {
      const [, end] = this.attempt(who, parent, at, ep, opts.status ?? opts.dbError, opts, opts.resend ?? 0);
      return [end, (opts.status ?? 0) >= 400 || opts.dbError !== undefined];
    }
    const flaky = who.flaky && ep.kind === 'http' && (who.flaky.host === '*' || ep.host === who.flaky.host) ? who.flaky.failRate : 0;
    if (ep.kind === 'db') {
      if (!opts.clean && rng.chance(ERRORS.dbDeadlock)) {
        const [, e1] = this.attempt(who, parent, at, ep, '40P01', opts, 0);
        const [, e2] = this.attempt(who, parent, e1 + rng.int(20, 200), ep, undefined, opts, 0);
        return [e2, false];
      }
      const [, end] = this.attempt(who, parent, at, ep, undefined, opts, 0);
      return [end, false];
    }
    const method = opts.method ?? ep.method;
    if (!opts.clean && method === 'GET' && ep.path.includes('{n}') && rng.chance(ERRORS.notFound)) {
      const [, end] = this.attempt(who, parent, at, ep, 404, opts, 0);
      return [end, true];
    }
    if (!opts.clean && (rng.chance(ERRORS.httpTransient) || rng.chance(flaky))) {
      const [, e1] = this.attempt(who, parent, at, ep, rng.pick([429, 502, 503, 504]), opts, 0);
      // The retry of a flaky downstream can fail too: that is what makes its failure rate high.
      const again = rng.chance(flaky) ? rng.pick([502, 503]) : undefined;
      const [, e2] = this.attempt(who, parent, e1 + rng.int(100, 800), ep, again, opts, 1);
      return [e2, again !== undefined];
    }
    const [, end] = this.attempt(who, parent, at, ep, undefined, opts, 0);
    return [end, false];
  }

  /** An execute_tool span and its downstream call; returns its end. */
  tool(who: Identity, parent: GenSpan, at: number, name: string, ep: Endpoint | undefined, opts: CallOptions = {}, callId?: string): number {
    const rng = this.rng;
    const id = callId ?? `call_${rng.hex(24)}`;
    const attrs = (): Attrs => ({
      'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': name, 'gen_ai.tool.call.id': id, 'gen_ai.tool.type': 'function',
      ...credentialAttrs(who, at, this.scopes),
    });
    if (!ep) {
      const end = at + rng.int(2, 30);
      this.span(who, parent, `execute_tool ${name}`, KIND.internal, at, end, attrs(), false, 'tool');
      return end;
    }
    const retryWhole = !opts.clean && opts.status === undefined && opts.dbError === undefined && rng.chance(ERRORS.toolRetry);
    if (retryWhole) {
      // The agent sees the tool fail and calls it again with the same call id: one call, retried.
      const t = this.span(who, parent, `execute_tool ${name}`, KIND.internal, at, at, attrs(), true, 'tool');
      const [end] = this.downstream(who, t, at + rng.int(1, 3), ep, ep.kind === 'http' ? { ...opts, status: 500 } : { ...opts, dbError: '57014' });
      t.endMs = end + rng.int(1, 5);
      at = t.endMs + rng.int(200, 900);
    }
    const t = this.span(who, parent, `execute_tool ${name}`, KIND.internal, at, at, attrs(), false, 'tool');
    const [end, failed] = this.downstream(who, t, at + rng.int(1, 3), ep, opts);
    t.endMs = end + rng.int(1, 5);
    t.error = failed;
    if (failed) t.attrs['error.type'] = 'tool_error';
    return t.endMs;
  }

  /** Delegation to another agent: CLIENT invoke_agent here, SERVER invoke_agent and its steps there. */
  delegate(who: Identity, parent: GenSpan, at: number, calleeRole: string, steps: Step[]): number {
    const callee = this.world.callee(who, calleeRole);
    const client = this.span(who, parent, `invoke_agent ${calleeRole}`, KIND.client, at, at, {
      'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': calleeRole, ...credentialAttrs(who, at, this.scopes),
    }, false, 'delegation');
    // The callee's SERVER span is its task; Vigil makes the hop itself a delegation edge of the caller.
    const server = this.span(callee, client, `invoke_agent ${calleeRole}`, KIND.server, at + 3, at + 3, {
      'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': calleeRole, ...credentialAttrs(callee, at),
    }, false, 'delegation');
    let t = server.startMs + 1;
    for (const step of steps) t = this.step(callee, server, this.model(callee, server, t) + 5, step) + 5;
    server.endMs = t;
    client.endMs = t + 3;
    return client.endMs;
  }

  /** An MCP tools/call: the caller's CLIENT span (a tool call), the server's SERVER span and its call. */
  mcp(who: Identity, parent: GenSpan, at: number, role: string, tool: string, ep: Endpoint, opts: CallOptions = {}): number {
    const server = this.world.callee(who, role);
    const base = (): Attrs => ({
      'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool, 'mcp.method.name': 'tools/call',
      'mcp.session.id': `sess-${this.trace.traceId.slice(0, 12)}`, 'network.transport': 'tcp',
    });
    const client = this.span(who, parent, `tools/call ${tool}`, KIND.client, at, at, {
      ...base(), 'gen_ai.tool.call.id': `call_${this.rng.hex(24)}`, 'server.address': `${role}.internal`, 'server.port': 8080,
      ...credentialAttrs(who, at, this.scopes),
    }, false, 'tool');
    const srv = this.span(server, client, `tools/call ${tool}`, KIND.server, at + 2, at + 2, { ...base(), ...credentialAttrs(server, at) }, false, 'delegation');
    const [end, failed] = this.downstream(server, srv, at + 4, ep, opts);
    srv.endMs = end + 2;
    srv.error = failed;
    client.endMs = end + 4;
    client.error = failed;
    return client.endMs;
  }

  /**
   * A call to an agent or MCP server outside the fleet, over HTTPS: the caller's CLIENT span (a remote
   * agent's `invoke_agent`, or an MCP `tools/call`) naming the server in `server.address`, with the HTTP
   * POST it rides on beneath (its transport). The remote side's spans are the vendor's, not in our traces.
   */
  remote(who: Identity, parent: GenSpan, at: number, kind: 'agent' | 'mcp', name: string, tool: string | undefined, r: Remote): number {
    const attrs: Attrs = kind === 'agent'
      ? { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': name }
      : {
        'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool!, 'gen_ai.tool.call.id': `call_${this.rng.hex(24)}`,
        'mcp.method.name': 'tools/call', 'mcp.session.id': `sess-${this.rng.hex(16)}`, 'network.transport': 'tcp',
      };
    const client = this.span(who, parent, kind === 'agent' ? `invoke_agent ${name}` : `tools/call ${tool}`, KIND.client, at, at, {
      ...attrs, 'server.address': r.host, 'server.port': 443, ...credentialAttrs(who, at, this.scopes),
    }, false, kind === 'agent' ? 'delegation' : 'tool');
    // A remote agent thinks for a while; a hosted tool answers in well under a second.
    const ep: Endpoint = { kind: 'http', method: 'POST', host: r.host, path: r.path };
    const [end, failed] = this.downstream(who, client, at + 2, ep, { transport: true });
    client.endMs = end + (kind === 'agent' ? this.rng.int(800, 6000) : 3);
    client.error = failed;
    if (failed) client.attrs['error.type'] = 'tool_error';
    return client.endMs;
  }

  /** One step; returns its end. */
  step(who: Identity, parent: GenSpan, at: number, step: Step): number {
    switch (step.t) {
      case 'tool': {
        const eps = who.role.tools[step.name];
        const ep = step.endpoint ?? who.flaky?.replace?.[step.name] ?? (eps ? eps[(step.variant ?? this.rng.int(0, eps.length - 1)) % eps.length] : undefined);
        return this.tool(who, parent, at, step.name, ep);
      }
      case 'mcp': {
        const eps = this.world.byRole.get(step.role)![0].role.serves![step.tool];
        const ep = eps[(step.variant ?? this.rng.int(0, eps.length - 1)) % eps.length];
        return this.mcp(who, parent, at, step.role, step.tool, ep);
      }
      case 'agent': {
        // A delegated task is one of a few short shapes the callee runs for callers (not its whole
        // repertoire), so the caller's view of delegated chains is learnable within the learning period.
        const calleeRole = this.world.byRole.get(step.role)![0].role;
        const shapes = calleeRole.delegated ?? [walk(calleeRole, this.rng, 3, false, calleeRole.rare)];
        const shape = shapes[(step.variant ?? this.rng.int(0, shapes.length - 1)) % shapes.length];
        return this.delegate(who, parent, at, step.role, shape.map((s) => toStep(s)));
      }
      case 'remote':
        return this.remote(who, parent, at, 'agent', step.agent, undefined, who.role.remoteAgents![step.agent]);
      case 'rmcp':
        return this.remote(who, parent, at, 'mcp', step.server, step.tool, who.role.remoteMcp![step.server]);
      case 'custom':
        return step.emit(this, parent, at, who);
    }
  }

  /**
   * The whole task: root invoke_agent span (the agent's own task, not a delegation), steps, answer.
   * `pauses[i]` (ms) is idle time after step i: a long session waiting on the world.
   */
  task(who: Identity, steps: Step[], pauses: number[] = []): GenTrace {
    const rng = this.rng;
    const t0 = this.trace.startMs;
    const root = this.span(who, undefined, `invoke_agent ${who.role.role}`, KIND.internal, t0, t0, {
      'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': who.role.role, ...credentialAttrs(who, t0, this.scopes),
    });
    let t = t0 + rng.int(1, 5);
    steps.forEach((step, i) => {
      t = this.model(who, root, t) + rng.int(2, 20);
      t = this.step(who, root, t, step) + rng.int(2, 20) + (pauses[i] ?? 0);
    });
    t = this.model(who, root, t) + rng.int(1, 5);
    root.endMs = t;
    return this.trace;
  }
}

/**
 * A random walk of the role's chain from `start`. With `delegations` off the walk stops at a delegation
 * state, and it stops before any state in `avoid`.
 */
export function walk(role: { chain: Record<string, Array<[string, number]>> }, rng: Rng, maxSteps: number, delegations = true, avoid: readonly string[] = []): string[] {
  const out: string[] = [];
  let state = 'start';
  while (out.length < maxSteps) {
    const next = role.chain[state];
    if (!next) break;
    const choice = next[rng.weighted(next.map(([, w]) => w))][0];
    if (choice === 'end') break;
    if (!delegations && /^(agent|mcp|remote|rmcp):/.test(choice)) break;
    if (avoid.includes(choice)) break;
    out.push(choice);
    state = choice;
  }
  return out;
}

/** A chain state as a step. */
export function toStep(state: string, variant?: number): Step {
  if (state.startsWith('agent:')) return { t: 'agent', role: state.slice(6), variant };
  if (state.startsWith('remote:')) return { t: 'remote', agent: state.slice(7) };
  if (state.startsWith('rmcp:')) {
    const [, server, tool] = state.split(':');
    return { t: 'rmcp', server, tool };
  }
  if (state.startsWith('mcp:')) {
    const [, role, tool] = state.split(':');
    return { t: 'mcp', role, tool, variant };
  }
  return { t: 'tool', name: state, variant };
}
