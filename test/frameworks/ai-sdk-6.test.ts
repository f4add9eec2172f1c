/**
 * Vercel AI SDK 6 built-in telemetry (`experimental_telemetry`, installed as the alias `ai6`): its own
 * `ai.*` spans (`ai.generateText`, `ai.generateText.doGenerate`, `ai.toolCall`) with the tools' fetch
 * calls correctly parented. The same scripted run as the AI SDK 7 test, exported over http/protobuf.
 */
import { generateText, stepCountIs, tool } from 'ai6';
import { MockLanguageModelV3 } from 'ai6/test';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agentResource, agentTelemetry, finalActions, keepFixture, liveDaemon, summarize } from './harness.js';
import { aiSdkScript, expectSupportBotRun, ticketOps } from './scripted.js';

const IDENTITY = 'spiffe://acme.example/ns/support/sa/agent-ai6';
const env = liveDaemon();

async function runAgent(): Promise<void> {
  const id = z.object({ id: z.number() });
  await generateText({
    model: new MockLanguageModelV3({ provider: 'scripted.chat', modelId: 'script-1', doGenerate: aiSdkScript('call_').normalRun() }),
    prompt: 'close ticket 7 and tell the customer',
    stopWhen: stepCountIs(6),
    experimental_telemetry: { isEnabled: true, functionId: 'support-bot' },
    tools: Object.fromEntries(Object.entries(ticketOps(env.api.url)).map(([name, op]) => [name, tool({ inputSchema: id, execute: ({ id }) => op(id) })])),
  });
}

describe('Vercel AI SDK 6 built-in telemetry', () => {
  it('tools, their HTTP calls, model calls and a parallel step become the expected actions', async () => {
    const { t, api } = env;
    const otel = agentTelemetry(t, 'http/protobuf', agentResource(IDENTITY));
    await runAgent();
    await otel.finish();
    expect(api.requests).toHaveLength(4);

    const actions = await finalActions(t, [IDENTITY]);
    expectSupportBotRun(actions, 'agent-ai6');
    keepFixture('ai-sdk-6', otel.tee.lines, summarize(actions));
  });
});
