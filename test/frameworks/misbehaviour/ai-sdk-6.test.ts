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
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { waitFor } from '../../helpers/daemon.js';
import { aiSdkScript, ticketOps } from '../scripted.js';
import { expectAlert, expectQuietControl, liveActions, misbehaving, teachFromFixture } from './teach.js';

const IDENTITY = 'spiffe://acme.example/ns/support/sa/agent-ai6';
/** Model turns calling the failing tool, and POSTs its client tries per call. */
const LOOPS = 12;
const ATTEMPTS = 3;
const env = misbehaving({ identity: IDENTITY, protocol: 'http/protobuf' });

/** Call ids are unique, as a real provider's are. */
const { calls, answer, usualStart, normalRun } = aiSdkScript('call_live_');

/** `attempts`: how many times `notify`'s HTTP client tries its POST (a 5xx is retried at once). */
async function runAgent(turns: ReturnType<typeof calls | typeof answer>[], attempts = 1): Promise<void> {
  const id = z.object({ id: z.number() });
  await generateText({
    model: new MockLanguageModelV3({ provider: 'scripted.chat', modelId: 'script-1', doGenerate: turns }),
    prompt: 'close ticket 7 and tell the customer',
    stopWhen: stepCountIs(turns.length),
    experimental_telemetry: { isEnabled: true, functionId: 'support-bot' },
    tools: Object.fromEntries(Object.entries(ticketOps(env.api.url, { attempts })).map(([name, op]) => [name, tool({ inputSchema: id, execute: ({ id }) => op(id) })])),
  });
  await env.otel.provider.forceFlush();
}

describe('Vercel AI SDK 6 misbehaving', () => {
  it('a tool failing in a loop, its client retrying each call: retry_storm', async () => {
    const { t, api } = env;
    const taught = await teachFromFixture(t, 'ai-sdk-6', [IDENTITY]);
    expect(taught.copies).toBe(25); // 12 actions a run, 300 needed

    // Control: the normal run, live (one failed notify), raises nothing.
    await expectQuietControl(t, IDENTITY, 12, () => runAgent(normalRun()));

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
