/**
 * Vercel AI SDK 6 built-in telemetry (`experimental_telemetry`, installed as the alias `ai6`): its own
 * `ai.*` spans (`ai.generateText`, `ai.generateText.doGenerate`, `ai.toolCall`) with the tools' fetch
 * calls correctly parented. The same scripted run as the AI SDK 7 test, exported over http/protobuf.
 */
import { generateText, stepCountIs, tool } from 'ai6';
import { MockLanguageModelV3 } from 'ai6/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { agentTelemetry, keepFixture, loopback, finalActions, summarize, type Loopback } from './harness.js';

const IDENTITY = 'spiffe://acme.example/ns/support/sa/agent-ai6';
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

const usage = { inputTokens: { total: 10, noCache: 10, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 5, text: 5, reasoning: 0 } };
const calls = (...c: Array<[string, string, object]>) => ({
  content: c.map(([toolCallId, toolName, input]) => ({ type: 'tool-call' as const, toolCallId, toolName, input: JSON.stringify(input) })),
  finishReason: { unified: 'tool-calls' as const, raw: 'tool_calls' },
  usage,
  warnings: [],
});

async function runAgent(): Promise<void> {
  const model = new MockLanguageModelV3({
    provider: 'scripted.chat',
    modelId: 'script-1',
    doGenerate: [
      calls(['call_1', 'lookup_ticket', { id: 7 }], ['call_2', 'get_customer', { id: 42 }]),
      calls(['call_3', 'close_ticket', { id: 7 }]),
      calls(['call_4', 'notify', { id: 7 }]),
      { content: [{ type: 'text', text: 'ticket 7 closed' }], finishReason: { unified: 'stop', raw: 'stop' }, usage, warnings: [] },
    ],
  });
  const json = async (res: Response) => {
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return res.json();
  };
  await generateText({
    model,
    prompt: 'close ticket 7 and tell the customer',
    stopWhen: stepCountIs(6),
    experimental_telemetry: { isEnabled: true, functionId: 'support-bot' },
    tools: {
      lookup_ticket: tool({ inputSchema: z.object({ id: z.number() }), execute: async ({ id }) => json(await fetch(`${api.url}/tickets/${id}`)) }),
      get_customer: tool({ inputSchema: z.object({ id: z.number() }), execute: async ({ id }) => json(await fetch(`${api.url}/customers/${id}`)) }),
      close_ticket: tool({ inputSchema: z.object({ id: z.number() }), execute: async ({ id }) => json(await fetch(`${api.url}/tickets/${id}`, { method: 'PATCH', body: '{"state":"closed"}' })) }),
      notify: tool({ inputSchema: z.object({ id: z.number() }), execute: async ({ id }) => json(await fetch(`${api.url}/fail/notify/${id}`, { method: 'POST', body: '{}' })) }),
    },
  });
}

const row = (kind: string, target: string, access: string | null, failed = false) => ({
  identity: 'agent-ai6', kind, target, access, failed, retry: false, agent: 'support-bot', caller: null, repaired: false,
});

describe('Vercel AI SDK 6 built-in telemetry', () => {
  it('tools, their HTTP calls, model calls and a parallel step become the expected actions', async () => {
    const otel = agentTelemetry(t, 'http/protobuf', { 'service.name': 'support-agent', 'nhi.identity': IDENTITY });
    await runAgent();
    await otel.finish();
    expect(api.requests).toHaveLength(4);

    const actions = await finalActions(t, [IDENTITY]);
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

    // The two tools the model asked for at once are one parallel step: no transition between them.
    const lookup = actions.find((a) => a.target === 'lookup_ticket')!;
    const customer = actions.find((a) => a.target === 'get_customer')!;
    expect(lookup.parallelGroup).not.toBeNull();
    expect(customer.parallelGroup).toBe(lookup.parallelGroup);
    expect(actions.find((a) => a.target === 'close_ticket')!.parallelGroup).toBeNull();
    keepFixture('ai-sdk-6', otel.tee.lines, summarize(actions));
  });
});
