/**
 * The scripted agents more than one test runs: the AI SDK support bot (AI SDK 6 and 7, normal and
 * misbehaving) and the OpenAI Agents triage and billing agents (normal and misbehaving). The scripts
 * stand in for the model; the tools are real and call the loopback API.
 *
 * Nothing here loads a framework: each test passes its own (`ai` or `ai6` builds its own tools from
 * `ticketOps`; the Agents kit takes the `@openai/agents` module), so a file loads only what it tests.
 */
import type * as Agents from '@openai/agents';
import { expect } from 'vitest';
import { z } from 'zod';
import type { Action } from '../../src/actions/types.js';
import { TraceSteps } from '../../src/detect/steps.js';
import { summarize, type AgentTelemetry } from './harness.js';

// ---- Vercel AI SDK (the V3 and V4 mock models take the same results) ----

const usage = { inputTokens: { total: 10, noCache: 10, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 5, text: 5, reasoning: 0 } };

/** Model turns whose tool call ids are `<idPrefix>1`, `<idPrefix>2`, … in the order they are scripted. */
export function aiSdkScript(idPrefix: string) {
  let seq = 0;
  /** One model turn asking for tools, each `[toolName, input]`; several at once are one parallel step. */
  const calls = (...c: Array<[string, object]>) => ({
    content: c.map(([toolName, input]) => ({ type: 'tool-call' as const, toolCallId: `${idPrefix}${++seq}`, toolName, input: JSON.stringify(input) })),
    finishReason: { unified: 'tool-calls' as const, raw: 'tool_calls' },
    usage,
    warnings: [],
  });
  const answer = (text: string) => ({ content: [{ type: 'text' as const, text }], finishReason: { unified: 'stop' as const, raw: 'stop' }, usage, warnings: [] });
  /** The support bot's usual first turns: a ticket and its customer looked up at once, then the ticket closed. */
  const usualStart = () => [calls(['lookup_ticket', { id: 7 }], ['get_customer', { id: 42 }]), calls(['close_ticket', { id: 7 }])];
  /** The support bot's normal run (the recorded one): the usual start, the customer notified (which fails), the answer. */
  const normalRun = () => [...usualStart(), calls(['notify', { id: 7 }]), answer('ticket 7 closed')];
  return { calls, answer, usualStart, normalRun };
}

/**
 * What the support bot's tools do on the ticket API at `apiUrl`, by tool name (each a tool's `execute`,
 * throwing on an error status): `notify`'s POST is tried up to `attempts` times while it gets a 5xx;
 * `purge_ticket` (a DELETE) is there only when asked for.
 */
export function ticketOps(apiUrl: string, o: { attempts?: number; purge?: boolean } = {}): Record<string, (id: number) => Promise<unknown>> {
  const json = async (res: Response) => {
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return res.json();
  };
  const post = async (url: string) => {
    let res!: Response;
    for (let i = 0; i < (o.attempts ?? 1); i++) {
      res = await fetch(url, { method: 'POST', body: '{}' });
      if (res.status < 500) break;
    }
    return res;
  };
  return {
    lookup_ticket: async (id) => json(await fetch(`${apiUrl}/tickets/${id}`)),
    get_customer: async (id) => json(await fetch(`${apiUrl}/customers/${id}`)),
    close_ticket: async (id) => json(await fetch(`${apiUrl}/tickets/${id}`, { method: 'PATCH', body: '{"state":"closed"}' })),
    notify: async (id) => json(await post(`${apiUrl}/fail/notify/${id}`)),
    ...(o.purge ? { purge_ticket: async (id: number) => json(await fetch(`${apiUrl}/tickets/${id}`, { method: 'DELETE' })) } : {}),
  };
}

/**
 * The actions of the support bot's normal run (identity `identity`, the short name): every tool, its
 * HTTP call and model call, and the two tools asked for at once as one parallel step.
 */
export function expectSupportBotRun(actions: Action[], identity: string): void {
  const row = (kind: string, target: string, access: string | null, failed = false) => ({
    identity, kind, target, access, failed, retry: false, agent: 'support-bot', caller: null, repaired: false,
  });
  const expected = summarize([]).concat([
    row('tool', 'lookup_ticket', 'read'),
    row('http', '127.0.0.1/tickets/{id}', 'read'),
    row('tool', 'get_customer', 'read'),
    row('http', '127.0.0.1/customers/{id}', 'read'),
    row('tool', 'close_ticket', 'write'),
    row('http', '127.0.0.1/tickets/{id}', 'write'),
    row('tool', 'notify', 'write'), // failed because its call failed: counted once, on the call
    row('http', '127.0.0.1/fail/notify/{id}', 'write', true),
    ...Array.from({ length: 4 }, () => row('model', 'scripted', null)),
  ]);
  expect(summarize(actions)).toEqual(summarize(expected as never));

  // The two tools the model asked for at once are one parallel step: no transition between them; the next step follows them.
  const steps = new TraceSteps().annotate(actions);
  const previousOf = (target: string) => steps[actions.findIndex((a) => a.target === target)].previous?.name;
  expect(previousOf('lookup_ticket')).not.toBe('tool:get_customer');
  expect(previousOf('get_customer')).not.toBe('tool:lookup_ticket');
  expect(['tool:lookup_ticket', 'tool:get_customer']).toContain(previousOf('close_ticket'));
}

// ---- OpenAI Agents SDK ----

type Output = Agents.ModelResponse['output'];

/** Scripted Models and the support agents, built with the test's own `@openai/agents` module. */
export function agentsKit(agents: typeof Agents) {
  /** A Model that returns the next scripted output, whatever it is asked. */
  function scripted(turns: Output[]): Agents.Model {
    let turn = 0;
    return {
      async getResponse() {
        return { usage: new agents.Usage(), output: turns[turn++] ?? [], responseId: `resp_${turn}` };
      },
      // eslint-disable-next-line require-yield
      async *getStreamedResponse() {
        throw new Error('the scripted model does not stream');
      },
    };
  }
  const fnCall = (callId: string, name: string, args: object): Output[number] =>
    ({ type: 'function_call', callId, name, arguments: JSON.stringify(args), status: 'completed' }) as Output[number];
  const say = (text: string): Output[number] =>
    ({ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text }] }) as Output[number];

  /**
   * The normal run's agents, their tools calling the API at `apiUrl`: `triage` looks order 9 up and
   * hands off to `billing`, which refunds it and says `refunded`.
   */
  function supportAgents(apiUrl: string) {
    const get = async (path: string, init?: RequestInit) => JSON.stringify(await (await fetch(`${apiUrl}${path}`, init)).json());
    const lookup = agents.tool({ name: 'lookup_order', description: 'Reads an order', parameters: z.object({ order: z.number() }), execute: ({ order }) => get(`/orders/${order}`) });
    const refund = agents.tool({ name: 'issue_refund', description: 'Refunds an order', parameters: z.object({ order: z.number() }), execute: ({ order }) => get(`/refunds/${order}`, { method: 'POST', body: '{}' }) });
    const billing = new agents.Agent({ name: 'billing', instructions: 'Refund orders.', tools: [refund], model: scripted([[fnCall('c2', 'issue_refund', { order: 9 })], [say('refunded')]]) });
    const triage = new agents.Agent({
      name: 'triage',
      instructions: 'Route the customer.',
      tools: [lookup],
      handoffs: [billing],
      model: scripted([[fnCall('c1', 'lookup_order', { order: 9 })], [fnCall('c3', 'transfer_to_billing', {})]]),
    });
    return { lookup, refund, billing, triage };
  }
  return { scripted, fnCall, say, supportAgents };
}

const BRIDGE = '@arizeai/openinference-instrumentation-openai-agents';
type Exported = { resourceSpans: Array<{ scopeSpans: Array<{ scope: { name: string }; spans: Array<{ spanId: string; parentSpanId?: string }> }> }> };

/**
 * Runs whose spans from the bridge the agent has exported whole: their roots (ended as the SDK's trace
 * ends), or 0 while an exported span's parent is not exported yet. The SDK tells the bridge a span has
 * ended without waiting for it, so a run can resolve before the bridge has ended every span.
 */
export function runsExported(otel: AgentTelemetry): number {
  const spans = otel.tee.lines.flatMap((l) => (JSON.parse(l) as Exported).resourceSpans).flatMap((rs) => rs.scopeSpans).filter((ss) => ss.scope.name === BRIDGE).flatMap((ss) => ss.spans);
  const ids = new Set(spans.map((s) => s.spanId));
  return spans.every((s) => !s.parentSpanId || ids.has(s.parentSpanId)) ? spans.filter((s) => !s.parentSpanId).length : 0;
}
