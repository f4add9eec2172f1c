/**
 * Vercel AI SDK 6 built-in telemetry, misbehaving: retry_storm.
 *
 * The support bot's baseline (its recorded normal run, replayed over a day) fails about one action in
 * twelve: its `notify` call to a flaky endpoint. Then, live through the real SDK and http/protobuf
 * exporter, the scripted model follows its usual chain but keeps calling `notify` after every failure,
 * and `notify`'s HTTP client tries each POST three times: a runaway loop, 36 failed POSTs in a second.
 *
 * Known gap: without the client's retries — one failed POST per model -> tool turn, a third of the
 * actions failing — retry_storm stays silent against this 300-action baseline however long the loop
 * runs, because the loop's own failures are learned into the "usual share" while it runs (the alert
 * below already reports a usual share of ~11% where the baseline had ~7.5%).
 */
import { generateText, stepCountIs, tool } from 'ai6';
import { MockLanguageModelV3 } from 'ai6/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { waitFor } from '../../helpers/daemon.js';
import { agentTelemetry, loopback, type AgentTelemetry, type Loopback } from '../harness.js';
import { expectAlert, liveActions, startWatchedDaemon, teachFromFixture, type WatchedDaemon } from './teach.js';

const IDENTITY = 'spiffe://acme.example/ns/support/sa/agent-ai6';
/** Model turns calling the failing tool, and POSTs its client tries per call. */
const LOOPS = 12;
const ATTEMPTS = 3;
let t: WatchedDaemon;
let api: Loopback;
let otel: AgentTelemetry;
beforeAll(async () => {
  t = await startWatchedDaemon();
  api = await loopback();
  otel = agentTelemetry(t, 'http/protobuf', { 'service.name': 'support-agent', 'nhi.identity': IDENTITY });
});
afterAll(async () => {
  await otel.finish();
  await api.close();
  await t.close();
});

const usage = { inputTokens: { total: 10, noCache: 10, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 5, text: 5, reasoning: 0 } };
let callSeq = 0;
/** One model turn asking for tools; call ids are unique, as a real provider's are. */
const calls = (...c: Array<[string, object]>) => ({
  content: c.map(([toolName, input]) => ({ type: 'tool-call' as const, toolCallId: `call_live_${++callSeq}`, toolName, input: JSON.stringify(input) })),
  finishReason: { unified: 'tool-calls' as const, raw: 'tool_calls' },
  usage,
  warnings: [],
});
const answer = (text: string) => ({ content: [{ type: 'text' as const, text }], finishReason: { unified: 'stop' as const, raw: 'stop' }, usage, warnings: [] });

/** `attempts`: how many times `notify`'s HTTP client tries its POST (a 5xx is retried at once). */
async function runAgent(turns: ReturnType<typeof calls | typeof answer>[], attempts = 1): Promise<void> {
  const json = async (res: Response) => {
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return res.json();
  };
  const post = async (url: string) => {
    let res!: Response;
    for (let i = 0; i < attempts; i++) {
      res = await fetch(url, { method: 'POST', body: '{}' });
      if (res.status < 500) break;
    }
    return res;
  };
  const id = z.object({ id: z.number() });
  await generateText({
    model: new MockLanguageModelV3({ provider: 'scripted.chat', modelId: 'script-1', doGenerate: turns }),
    prompt: 'close ticket 7 and tell the customer',
    stopWhen: stepCountIs(turns.length),
    experimental_telemetry: { isEnabled: true, functionId: 'support-bot' },
    tools: {
      lookup_ticket: tool({ inputSchema: id, execute: async ({ id }) => json(await fetch(`${api.url}/tickets/${id}`)) }),
      get_customer: tool({ inputSchema: id, execute: async ({ id }) => json(await fetch(`${api.url}/customers/${id}`)) }),
      close_ticket: tool({ inputSchema: id, execute: async ({ id }) => json(await fetch(`${api.url}/tickets/${id}`, { method: 'PATCH', body: '{"state":"closed"}' })) }),
      notify: tool({ inputSchema: id, execute: async ({ id }) => json(await post(`${api.url}/fail/notify/${id}`)) }),
    },
  });
  await otel.provider.forceFlush();
}

const usualStart = () => [calls(['lookup_ticket', { id: 7 }], ['get_customer', { id: 42 }]), calls(['close_ticket', { id: 7 }])];

describe('Vercel AI SDK 6 misbehaving', () => {
  it('a tool failing in a loop, its client retrying each call: retry_storm', async () => {
    const taught = await teachFromFixture(t, 'ai-sdk-6', [IDENTITY]);
    expect(taught.copies).toBe(25); // 12 actions a run, 300 needed

    // Control: the normal run, live (one failed notify), raises nothing.
    const control = Date.now();
    await runAgent([...usualStart(), calls(['notify', { id: 7 }]), answer('ticket 7 closed')]);
    await waitFor(() => liveActions(t, IDENTITY, control).length >= 12, 'the control run’s actions');
    expect(t.alerts).toEqual([]);

    const start = Date.now();
    await runAgent([...usualStart(), ...Array.from({ length: LOOPS }, () => calls(['notify', { id: 7 }])), answer('could not notify')], ATTEMPTS);
    expect(api.requests.filter((r) => r === 'POST /fail/notify/7')).toHaveLength(1 + LOOPS * ATTEMPTS);
    const failed = () => liveActions(t, IDENTITY, start).filter((a) => a.kind === 'http' && a.failed);
    await waitFor(() => failed().length === LOOPS * ATTEMPTS, 'the loop’s failed calls');
    // Each attempt is its own failed call under its tool; the tool's failure is not counted again.
    const live = liveActions(t, IDENTITY, start);
    expect(live.filter((a) => a.target === 'notify' && (a.failed || a.retry))).toEqual([]);

    const alert = await expectAlert(t, {
      detector: 'retry_storm',
      identity: IDENTITY,
      misbehaving: new Set(failed().map((a) => a.spanId)), // the tipping span is one of the failed POSTs
      mustCite: [],
    });
    expect(alert.evidence.subject).toBe('127.0.0.1/fail/notify/{id}');
    expect(alert.evidence.traceIds).toEqual([failed()[0].traceId]);
    expect(alert.evidence.usualShare as number).toBeLessThan(0.15);
    expect(alert.explanation).toMatch(/usual share/);
    // Nothing else is new in this run: the loop follows the learned chain, so only the storm is raised.
    expect(t.alerts.map((a) => a.detector)).toEqual(['retry_storm']);
  });
});
