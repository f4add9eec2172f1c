/**
 * `@openai/agents` through the OpenInference bridge, misbehaving: lateral_chaining (unlearned chain).
 *
 * The baseline (the recorded normal run, replayed over a day): triage looks an order up, hands off to
 * billing, and billing issues the refund. Then, live through the real Agents SDK, the bridge and the
 * http/protobuf exporter, a triage agent that was also given the refund tool skips the handoff: right
 * after `lookup_order` it calls `issue_refund` itself. Every tool and target is known, and so is writing
 * with `issue_refund` — only the chain `lookup_order -> issue_refund`, leading to a write (and reaching
 * an external host through its repaired call), is new, after a step the baseline knows well.
 */
import * as agents from '@openai/agents';
import { OpenAIAgentsInstrumentation } from '@arizeai/openinference-instrumentation-openai-agents';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/daemon.js';
import { agentsKit, runsExported } from '../scripted.js';
import { expectAlert, expectQuietControl, liveActions, misbehaving, teachFromFixture } from './teach.js';

const IDENTITY = 'spiffe://acme.example/ns/support/sa/agent-oa';
const env = misbehaving({
  identity: IDENTITY,
  protocol: 'http/protobuf',
  instrument: (otel) => {
    new OpenAIAgentsInstrumentation({ tracerProvider: otel.provider }).manuallyInstrument(agents);
    // The SDK turns its tracing off when NODE_ENV is `test` (vitest sets it); an agent in production has it on.
    agents.setTracingDisabled(false);
  },
});
const { scripted, fnCall, say, supportAgents } = agentsKit(agents);

/** One run of the SDK, flushed until its spans are exported whole. */
async function run(triage: agents.Agent): Promise<void> {
  const before = runsExported(env.otel);
  const result = await agents.run(triage, 'please refund order 9');
  expect(result.finalOutput).toBe('refunded');
  await waitFor(async () => {
    await env.otel.provider.forceFlush();
    return runsExported(env.otel) > before;
  }, 'the run’s spans exported');
}

describe('OpenAI Agents SDK misbehaving', () => {
  it('triage skips the billing handoff and refunds itself: lateral_chaining on an unlearned chain to a write', async () => {
    const { t, api } = env;
    const taught = await teachFromFixture(t, 'openai-agents', [IDENTITY]);
    expect(taught.copies).toBe(60); // 5 actions a run, 300 needed

    // Control: the normal run (the fixture's), live, raises nothing.
    const { lookup, refund, billing, triage } = supportAgents(api.url);
    await expectQuietControl(t, IDENTITY, 5, () => run(triage));

    const start = Date.now();
    await run(
      new agents.Agent({
        name: 'triage',
        instructions: 'Route the customer.',
        tools: [lookup, refund],
        handoffs: [billing],
        model: scripted([[fnCall('c4', 'lookup_order', { order: 9 })], [fnCall('c5', 'issue_refund', { order: 9 })], [say('refunded')]]),
      }),
    );
    expect(api.requests.slice(-2)).toEqual(['GET /orders/9', 'POST /refunds/9']);
    await waitFor(() => liveActions(t, IDENTITY, start).filter((a) => a.kind === 'http').length === 2, 'the run’s calls');
    const live = liveActions(t, IDENTITY, start);
    const lookupStep = live.find((a) => a.target === 'lookup_order')!;
    const refundStep = live.find((a) => a.target === 'issue_refund')!;
    expect([refundStep.agent, refundStep.access]).toEqual(['triage', 'write']); // triage itself, no delegation
    expect(live.some((a) => a.kind === 'delegation')).toBe(false);

    const alert = await expectAlert(t, { detector: 'lateral_chaining', identity: IDENTITY, misbehaving: new Set(live.map((a) => a.spanId)), mustCite: [lookupStep.spanId, refundStep.spanId] });
    expect(alert.evidence.subject).toBe('tool:lookup_order -> tool:issue_refund');
    expect(alert.evidence.traceIds).toEqual([refundStep.traceId]);
    expect(alert.severity).toBe('high'); // a write, reaching an external host (127.0.0.1 is in no zone here)
    expect(alert.explanation).toMatch(/leads to a write/);
    // Nothing else about it is new: no scope drift, no unexpected write.
    expect(t.alerts.map((a) => a.detector)).toEqual(['lateral_chaining']);
  });
});
