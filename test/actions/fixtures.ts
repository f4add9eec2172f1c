/** Small hand-built spans and configs for the actions tests. */
import { configSchema, type Config } from '../../src/config/schema.js';
import { SpanKind, StatusCode, type Attributes, type DecodedSpan } from '../../src/model.js';
import { ActionBuilder } from '../../src/actions/builder.js';
import { LATE_CALL_GRACE_MS } from '../../src/actions/part.js';
import type { IgnoreReason } from '../../src/actions/facts.js';
import type { Action } from '../../src/actions/types.js';

export { SpanKind, StatusCode };

/** How long a ready trace holding a tool with no call yet waits for one (tests take after it to see such tools). */
export const G = LATE_CALL_GRACE_MS;
export const T1 = '0af7651916cd43dd8448eb211c80319c';
export const T2 = '4bf92f3577b34da6a3ce929d0e0e4736';

/** A 16-hex span id from a small number. */
export function sid(n: number): string {
  return n.toString(16).padStart(16, '0');
}

/** A trace id from a small number. */
export function tid(n: number): string {
  return n.toString(16).padStart(32, '0');
}

/** The default resource: an identity and a peer group. */
export const AGENT_RESOURCE: Attributes = { 'service.name': 'billing-agent', 'nhi.identity': 'spiffe://acme/agent/billing' };

export interface SpanInit {
  traceId?: string;
  id?: number;
  parent?: number | null;
  name?: string;
  kind?: number;
  start?: number;
  end?: number;
  status?: number;
  attrs?: Attributes;
  resource?: Attributes;
}

/** A DecodedSpan with defaults: trace T1, INTERNAL, 10 ms long at t=1000, the default resource. */
export function span(init: SpanInit = {}): DecodedSpan {
  const start = init.start ?? 1000;
  return {
    traceId: init.traceId ?? T1,
    spanId: sid(init.id ?? 1),
    parentSpanId: init.parent === undefined || init.parent === null ? '' : sid(init.parent),
    name: init.name ?? 'span',
    kind: init.kind ?? SpanKind.INTERNAL,
    startMs: start,
    endMs: init.end ?? start + 10,
    statusCode: init.status ?? StatusCode.UNSET,
    attributes: init.attrs ?? {},
    resource: init.resource ?? AGENT_RESOURCE,
  };
}

/** A validated config from a partial YAML-shaped object. */
export function config(partial: Record<string, unknown> = {}): Config {
  return configSchema.parse(partial);
}

/** A builder plus a tally of ignore reasons. */
export function builder(partial: Record<string, unknown> = {}): {
  b: ActionBuilder;
  ignored: Partial<Record<IgnoreReason, number>>;
} {
  const ignored: Partial<Record<IgnoreReason, number>> = {};
  const b = new ActionBuilder(config(partial), (r) => {
    ignored[r] = (ignored[r] ?? 0) + 1;
  });
  return { b, ignored };
}

/** The root agent span `billing` (id 1). */
export const agentRoot = (init: SpanInit = {}): DecodedSpan =>
  span({ id: 1, parent: null, name: 'invoke_agent billing', attrs: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'billing' }, ...init });

/** A gen_ai execute_tool span. */
export const tool = (id: number, parent: number, name: string, init: SpanInit = {}): DecodedSpan =>
  span({ id, parent, name: `execute_tool ${name}`, ...init, attrs: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': name, ...init.attrs } });

/** An HTTP CLIENT span. */
export const http = (id: number, parent: number | null, method: string, url: string, init: SpanInit = {}): DecodedSpan =>
  span({ id, parent, kind: SpanKind.CLIENT, name: method, ...init, attrs: { 'http.request.method': method, 'url.full': url, ...init.attrs } });

/** Actions keyed by target. */
export const byTarget = (actions: Action[]): Record<string, Action> => Object.fromEntries(actions.map((a) => [a.target, a]));
