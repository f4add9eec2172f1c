/**
 * LangChain / LangGraph with `@arizeai/openinference-instrumentation-langchain`: OpenInference spans
 * (CHAIN, LLM, TOOL with `tool.name`). The tools' fetch calls come out parentless, in traces of their
 * own; context repair attributes each to the tool whose interval contains it, so the tools take the
 * calls' access classes and the refused DELETE counts as one failure. Exported over http/json.
 */
import * as CallbackManagerModule from '@langchain/core/callbacks/manager';
import { LangChainInstrumentation } from '@arizeai/openinference-instrumentation-langchain';
import { describe, expect, it } from 'vitest';
import { agentResource, agentTelemetry, finalActions, keepFixture, liveDaemon, summarize } from './harness.js';
import { runLangGraphAgent } from './langchain.js';

const IDENTITY = 'spiffe://acme.example/ns/support/sa/agent-lc-oi';
const env = liveDaemon();

const row = (kind: string, target: string, access: string | null, failed = false, repaired = false) => ({
  identity: 'agent-lc-oi', kind, target, access, failed, retry: false, agent: null, caller: null, repaired,
});

describe('LangGraph + OpenInference LangChain instrumentation', () => {
  it('tools take their lost HTTP calls through context repair; the failed call counts once', async () => {
    const { t, api } = env;
    const otel = agentTelemetry(t, 'http/json', agentResource(IDENTITY));
    new LangChainInstrumentation({ tracerProvider: otel.provider }).manuallyInstrument(CallbackManagerModule);
    await runLangGraphAgent(api.url);
    await otel.finish();
    expect(api.requests).toEqual(['GET /tickets/7', 'DELETE /fail/tickets/7']);

    const actions = await finalActions(t, [IDENTITY]);
    // The HTTP spans really were lost: each sits in a trace of its own, attributed to its tool.
    const http = actions.filter((a) => a.kind === 'http');
    const tools = actions.filter((a) => a.kind === 'tool');
    for (const h of http) {
      expect(h.parentSpanId).toBe('');
      expect(tools.map((x) => x.traceId)).not.toContain(h.traceId);
      expect(h.attributedTo?.traceId).toBe(tools[0].traceId);
    }
    expect(summarize(actions)).toEqual(
      summarize([]).concat([
        row('tool', 'get_ticket', 'read'),
        row('http', '127.0.0.1/tickets/{id}', 'read', false, true),
        row('tool', 'close_ticket', 'delete'),
        row('http', '127.0.0.1/fail/tickets/{id}', 'delete', true, true),
        // A custom chat model names no provider: the model call's target is `unknown`.
        ...Array.from({ length: 3 }, () => row('model', 'unknown', null)),
      ]).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
    );
    keepFixture('langchain-openinference', otel.tee.lines, summarize(actions));
  });
});
