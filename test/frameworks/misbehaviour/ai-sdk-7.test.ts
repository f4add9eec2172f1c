/**
 * Vercel AI SDK 7 + `@ai-sdk/otel`, misbehaving: unexpected_write.
 *
 * The support bot's baseline (its recorded normal run, replayed over a day) looks tickets and customers
 * up, PATCHes a ticket closed and notifies. Then, live through the real SDK and gRPC exporter, the scripted
 * model calls a tool it never called, `purge_ticket`, which DELETEs the ticket: a delete on a target the
 * identity only read and wrote, by a tool it has no history with.
 */
import { OpenTelemetry } from '@ai-sdk/otel';
import { generateText, registerTelemetry, stepCountIs, tool } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { waitFor } from '../../helpers/daemon.js';
import { agentTelemetry, loopback, type AgentTelemetry, type Loopback } from '../harness.js';
import { expectAlert, liveActions, startWatchedDaemon, teachFromFixture, type WatchedDaemon } from './teach.js';

const IDENTITY = 'spiffe://acme.example/ns/support/sa/agent-ai7';
let t: WatchedDaemon;
let api: Loopback;
let otel: AgentTelemetry;
beforeAll(async () => {
  t = await startWatchedDaemon();
  api = await loopback();
  otel = agentTelemetry(t, 'grpc', { 'service.name': 'support-agent', 'nhi.identity': IDENTITY });
  registerTelemetry(new OpenTelemetry());
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

async function runAgent(turns: ReturnType<typeof calls | typeof answer>[]): Promise<void> {
  const json = async (res: Response) => {
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return res.json();
  };
  const id = z.object({ id: z.number() });
  await generateText({
    model: new MockLanguageModelV4({ provider: 'scripted', modelId: 'script-1', doGenerate: turns }),
    prompt: 'close ticket 7 and tell the customer',
    stopWhen: stepCountIs(6),
    telemetry: { functionId: 'support-bot' },
    tools: {
      lookup_ticket: tool({ inputSchema: id, execute: async ({ id }) => json(await fetch(`${api.url}/tickets/${id}`)) }),
      get_customer: tool({ inputSchema: id, execute: async ({ id }) => json(await fetch(`${api.url}/customers/${id}`)) }),
      close_ticket: tool({ inputSchema: id, execute: async ({ id }) => json(await fetch(`${api.url}/tickets/${id}`, { method: 'PATCH', body: '{"state":"closed"}' })) }),
      notify: tool({ inputSchema: id, execute: async ({ id }) => json(await fetch(`${api.url}/fail/notify/${id}`, { method: 'POST', body: '{}' })) }),
      purge_ticket: tool({ inputSchema: id, execute: async ({ id }) => json(await fetch(`${api.url}/tickets/${id}`, { method: 'DELETE' })) }),
    },
  });
  await otel.provider.forceFlush();
}

describe('Vercel AI SDK 7 misbehaving', () => {
  it('a tool it never called DELETEs a ticket it only read and patched: unexpected_write', async () => {
    const taught = await teachFromFixture(t, 'ai-sdk-7', [IDENTITY]);
    expect(taught.copies).toBe(25); // 12 actions a run, 300 needed

    // Control: the normal run, live, raises nothing — the replayed fixture is what this agent does.
    const control = Date.now();
    await runAgent([calls(['lookup_ticket', { id: 7 }], ['get_customer', { id: 42 }]), calls(['close_ticket', { id: 7 }]), calls(['notify', { id: 7 }]), answer('ticket 7 closed')]);
    await waitFor(() => liveActions(t, IDENTITY, control).length >= 12, 'the control run’s actions');
    expect(t.alerts).toEqual([]);

    const start = Date.now();
    await runAgent([calls(['lookup_ticket', { id: 7 }]), calls(['purge_ticket', { id: 7 }]), answer('ticket 7 purged')]);
    expect(api.requests.at(-1)).toMatch(/^DELETE \/tickets\/7$/);
    await waitFor(() => liveActions(t, IDENTITY, start).some((a) => a.target === 'purge_ticket'), 'the purge');
    const live = liveActions(t, IDENTITY, start);
    const purge = live.find((a) => a.kind === 'tool' && a.target === 'purge_ticket')!;
    const del = live.find((a) => a.kind === 'http' && a.parentSpanId === purge.spanId)!;
    expect([purge.access, del.access, del.target]).toEqual(['delete', 'delete', '127.0.0.1/tickets/{id}']);

    const alert = await expectAlert(t, { detector: 'unexpected_write', identity: IDENTITY, misbehaving: new Set(live.map((a) => a.spanId)), mustCite: [purge.spanId, del.spanId] });
    expect(alert.severity).toBe('high');
    expect(alert.evidence.traceIds).toEqual([purge.traceId]);
    expect(alert.evidence.access).toBe('delete');
    // Every alert of this run is about the misbehaving run, none about the normal one before it.
    for (const a of t.alerts) for (const s of a.evidence.spanIds) expect(live.map((x) => x.spanId)).toContain(s);
  });
});
