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
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { waitFor } from '../../helpers/daemon.js';
import { aiSdkScript, ticketOps } from '../scripted.js';
import { expectAlert, expectQuietControl, liveActions, misbehaving, teachFromFixture } from './teach.js';

const IDENTITY = 'spiffe://acme.example/ns/support/sa/agent-ai7';
const env = misbehaving({ identity: IDENTITY, protocol: 'grpc', instrument: () => registerTelemetry(new OpenTelemetry()) });

/** Call ids are unique, as a real provider's are. */
const { calls, answer, normalRun } = aiSdkScript('call_live_');

async function runAgent(turns: ReturnType<typeof calls | typeof answer>[]): Promise<void> {
  const id = z.object({ id: z.number() });
  await generateText({
    model: new MockLanguageModelV4({ provider: 'scripted', modelId: 'script-1', doGenerate: turns }),
    prompt: 'close ticket 7 and tell the customer',
    stopWhen: stepCountIs(6),
    telemetry: { functionId: 'support-bot' },
    tools: Object.fromEntries(Object.entries(ticketOps(env.api.url, { purge: true })).map(([name, op]) => [name, tool({ inputSchema: id, execute: ({ id }) => op(id) })])),
  });
  await env.otel.provider.forceFlush();
}

describe('Vercel AI SDK 7 misbehaving', () => {
  it('a tool it never called DELETEs a ticket it only read and patched: unexpected_write', async () => {
    const { t, api } = env;
    const taught = await teachFromFixture(t, 'ai-sdk-7', [IDENTITY]);
    expect(taught.copies).toBe(25); // 12 actions a run, 300 needed

    // Control: the normal run, live, raises nothing — the replayed fixture is what this agent does.
    await expectQuietControl(t, IDENTITY, 12, () => runAgent(normalRun()));

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
