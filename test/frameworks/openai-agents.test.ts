/**
 * `@openai/agents` through the OpenInference bridge (`@arizeai/openinference-instrumentation-openai-agents`,
 * a TracingProcessor turning the SDK's own trace events into OpenInference spans). A triage agent looks
 * an order up, hands off to a billing agent, which issues a refund. Each agent runs on its own scripted
 * Model. The tools' fetch calls come out parentless (the SDK's spans are not the active OTel context),
 * so context repair attributes them; the handoff is a TOOL span `handoff to billing`, a delegation.
 * A custom Model yields no generation spans, so this run has no model actions. Exported over http/protobuf.
 */
import * as agents from '@openai/agents';
import { OpenAIAgentsInstrumentation } from '@arizeai/openinference-instrumentation-openai-agents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { agentTelemetry, keepFixture, loopback, finalActions, summarize, type Loopback } from './harness.js';

const IDENTITY = 'spiffe://acme.example/ns/support/sa/agent-oa';
let t: TestDaemon;
let api: Loopback;
beforeAll(async () => {
  t = await startTestDaemon();
  api = await loopback();
});
afterAll(async () => {
  await api.close();
  await t.close();
});

type Output = agents.ModelResponse['output'];

/** A Model that returns the next scripted output, whatever it is asked. */
function scripted(turns: Output[]): agents.Model {
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

async function runAgents(): Promise<void> {
  const get = async (path: string, init?: RequestInit) => JSON.stringify(await (await fetch(`${api.url}${path}`, init)).json());
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
  const result = await agents.run(triage, 'please refund order 9');
  expect(result.finalOutput).toBe('refunded');
}

const row = (kind: string, target: string, access: string | null, agent: string, repaired = false) => ({
  identity: 'agent-oa', kind, target, access, failed: false, retry: false, agent, caller: null, repaired,
});

describe('OpenAI Agents SDK + OpenInference bridge', () => {
  it('tools, repaired HTTP calls and the handoff delegation, each under its agent', async () => {
    const otel = agentTelemetry(t, 'http/protobuf', { 'service.name': 'support-agent', 'nhi.identity': IDENTITY });
    new OpenAIAgentsInstrumentation({ tracerProvider: otel.provider }).manuallyInstrument(agents);
    // The SDK turns its tracing off when NODE_ENV is `test` (vitest sets it); an agent in production has it on.
    agents.setTracingDisabled(false);
    await runAgents();
    // The bridge ends the SDK's spans when its trace ends; give the processor a moment before flushing.
    await new Promise((r) => setTimeout(r, 100));
    await otel.finish();
    expect(api.requests).toEqual(['GET /orders/9', 'POST /refunds/9']);

    const actions = await finalActions(t, [IDENTITY]);
    expect(summarize(actions)).toEqual(
      [
        row('tool', 'lookup_order', 'read', 'triage'),
        row('http', '127.0.0.1/orders/{id}', 'read', 'triage', true),
        row('delegation', 'billing', null, 'triage'),
        row('tool', 'issue_refund', 'write', 'billing'),
        row('http', '127.0.0.1/refunds/{id}', 'write', 'billing', true),
      ].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
    );
    keepFixture('openai-agents', otel.tee.lines, summarize(actions));
  });
});
