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
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/daemon.js';
import { agentResource, agentTelemetry, finalActions, keepFixture, liveDaemon, summarize } from './harness.js';
import { agentsKit, runsExported } from './scripted.js';

const IDENTITY = 'spiffe://acme.example/ns/support/sa/agent-oa';
const env = liveDaemon();

async function runAgents(): Promise<void> {
  const { triage } = agentsKit(agents).supportAgents(env.api.url);
  const result = await agents.run(triage, 'please refund order 9');
  expect(result.finalOutput).toBe('refunded');
}

const row = (kind: string, target: string, access: string | null, agent: string, repaired = false) => ({
  identity: 'agent-oa', kind, target, access, failed: false, retry: false, agent, caller: null, repaired,
});

describe('OpenAI Agents SDK + OpenInference bridge', () => {
  it('tools, repaired HTTP calls and the handoff delegation, each under its agent', async () => {
    const { t, api } = env;
    const otel = agentTelemetry(t, 'http/protobuf', agentResource(IDENTITY));
    new OpenAIAgentsInstrumentation({ tracerProvider: otel.provider }).manuallyInstrument(agents);
    // The SDK turns its tracing off when NODE_ENV is `test` (vitest sets it); an agent in production has it on.
    agents.setTracingDisabled(false);
    await runAgents();
    // Flushed until the run is exported whole: finishing shuts the provider down, and a span ended after that is lost.
    await waitFor(async () => {
      await otel.provider.forceFlush();
      return runsExported(otel) === 1;
    }, 'the run’s spans exported');
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
