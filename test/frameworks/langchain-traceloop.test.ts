/**
 * LangChain / LangGraph with `@traceloop/instrumentation-langchain` (OpenLLMetry): every span is the
 * root of a trace of its own (`workflow …`, `chat <model>`, `execute_tool DynamicStructuredTool`), and
 * the tool spans name the tool's class, not the tool. Vigil therefore sees two calls of tool `unknown`
 * (counted as `unknown_tool_name`) — still with their access classes, through context repair. Exported
 * over gRPC.
 */
import * as CallbackManagerModule from '@langchain/core/callbacks/manager';
import { LangChainInstrumentation } from '@traceloop/instrumentation-langchain';
import { describe, expect, it } from 'vitest';
import { agentResource, agentTelemetry, finalActions, keepFixture, liveDaemon, summarize } from './harness.js';
import { runLangGraphAgent } from './langchain.js';

const IDENTITY = 'spiffe://acme.example/ns/support/sa/agent-lc-tl';
const env = liveDaemon();

const row = (kind: string, target: string, access: string | null, failed = false, repaired = false) => ({
  identity: 'agent-lc-tl', kind, target, access, failed, retry: false, agent: null, caller: null, repaired,
});

describe('LangGraph + Traceloop LangChain instrumentation', () => {
  it('unnamed tools still take their lost HTTP calls through context repair; the failed call counts once', async () => {
    const { t, api } = env;
    const otel = agentTelemetry(t, 'grpc', agentResource(IDENTITY));
    const lc = new LangChainInstrumentation();
    lc.setTracerProvider(otel.provider);
    lc.manuallyInstrument({ callbackManagerModule: CallbackManagerModule });
    await runLangGraphAgent(api.url);
    await otel.finish();
    expect(api.requests).toEqual(['GET /tickets/7', 'DELETE /fail/tickets/7']);

    const actions = await finalActions(t, [IDENTITY]);
    // The HTTP spans really were lost: each sits in a trace of its own, attributed to its tool.
    const http = actions.filter((a) => a.kind === 'http');
    const tools = actions.filter((a) => a.kind === 'tool');
    expect(http).toHaveLength(2);
    for (const [i, h] of http.entries()) {
      expect(h.parentSpanId).toBe('');
      expect(tools.map((x) => x.traceId)).not.toContain(h.traceId);
      expect(h.attributedTo).toEqual({ traceId: tools[i].traceId, spanId: tools[i].spanId });
    }
    expect(summarize(actions)).toEqual(
      summarize([]).concat([
        row('tool', 'unknown', 'read'), // get_ticket: the instrumentation records `DynamicStructuredTool`
        row('http', '127.0.0.1/tickets/{id}', 'read', false, true),
        row('tool', 'unknown', 'delete'), // close_ticket
        row('http', '127.0.0.1/fail/tickets/{id}', 'delete', true, true),
        // `gen_ai.provider.name` is `langchain` for every chat model.
        ...Array.from({ length: 3 }, () => row('model', 'langchain', null)),
      ]).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
    );
    keepFixture('langchain-traceloop', otel.tee.lines, summarize(actions));
  });
});
