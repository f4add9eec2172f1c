/**
 * Vercel AI SDK 7 with `@ai-sdk/otel`: GenAI-convention spans (`invoke_agent`, `agent_step`, `chat`,
 * `execute_tool`) with the tools' fetch calls correctly parented. A scripted model asks for two tools at
 * once (a parallel step), then a write, then a call that fails; exported over gRPC.
 *
 * Node 20 note: `ai@7` declares `engines: node >=22`; it runs here unchanged (no Node 22 API on this
 * path), so it is pinned exactly and tested rather than skipped.
 */
import { OpenTelemetry } from '@ai-sdk/otel';
import { generateText, registerTelemetry, stepCountIs, tool } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agentResource, agentTelemetry, finalActions, keepFixture, liveDaemon, summarize } from './harness.js';
import { aiSdkScript, expectSupportBotRun, ticketOps } from './scripted.js';

const IDENTITY = 'spiffe://acme.example/ns/support/sa/agent-ai7';
const env = liveDaemon();

async function runAgent(): Promise<void> {
  const id = z.object({ id: z.number() });
  await generateText({
    model: new MockLanguageModelV4({ provider: 'scripted', modelId: 'script-1', doGenerate: aiSdkScript('call_').normalRun() }),
    prompt: 'close ticket 7 and tell the customer',
    stopWhen: stepCountIs(6),
    telemetry: { functionId: 'support-bot' },
    tools: Object.fromEntries(Object.entries(ticketOps(env.api.url)).map(([name, op]) => [name, tool({ inputSchema: id, execute: ({ id }) => op(id) })])),
  });
}

describe('Vercel AI SDK 7 + @ai-sdk/otel', () => {
  it('tools, their HTTP calls, model calls and a parallel step become the expected actions', async () => {
    const { t, api } = env;
    const otel = agentTelemetry(t, 'grpc', agentResource(IDENTITY));
    registerTelemetry(new OpenTelemetry());
    await runAgent();
    await otel.finish();
    expect(api.requests).toHaveLength(4);

    const actions = await finalActions(t, [IDENTITY]);
    expectSupportBotRun(actions, 'agent-ai7');
    keepFixture('ai-sdk-7', otel.tee.lines, summarize(actions));
  });
});
