/**
 * The step history detectors read (src/detect/steps.ts): kept per trace across batches, for the
 * 10,000 most recently seen traces, the least recently seen dropped first.
 */
import { describe, expect, it } from 'vitest';
import { TraceSteps } from '../../src/detect/steps.js';
import { action } from './harness.js';

const ID = 'spiffe://acme/agent/steps';
const TRACE_A = 'a'.repeat(32);
const MAX_TRACES = 10_000;

/** A tool step in `traceId` at `time`, annotated alone (a batch of its own): its previous step's name. */
const previousOf = (steps: TraceSteps, traceId: string, target: string, time: number) =>
  steps.annotate([action({ identity: ID, time, traceId, target })])[0].previous?.name ?? null;

/** One step in each of `n` new traces. */
function others(steps: TraceSteps, n: number, from: number): void {
  for (let i = 0; i < n; i++) steps.annotate([action({ identity: ID, time: 1000 + from + i, target: 'noise' })]);
}

describe('the step history', () => {
  it("a trace's later batch continues its steps", () => {
    const steps = new TraceSteps();
    expect(previousOf(steps, TRACE_A, 'crm.search', 1)).toBeNull();
    expect(previousOf(steps, TRACE_A, 'mail.send', 100)).toBe('tool:crm.search'); // after it ended: not a parallel sibling
  });

  it(`past ${MAX_TRACES} traces the least recently seen is forgotten`, () => {
    const steps = new TraceSteps();
    previousOf(steps, TRACE_A, 'crm.search', 1);
    others(steps, MAX_TRACES, 0);
    expect(previousOf(steps, TRACE_A, 'mail.send', 20_000)).toBeNull();
  });

  it('seeing a trace again keeps it: the least recently seen goes, not the oldest', () => {
    const steps = new TraceSteps();
    previousOf(steps, TRACE_A, 'crm.search', 1);
    others(steps, MAX_TRACES - 1, 0);
    expect(previousOf(steps, TRACE_A, 'crm.update', 15_000)).toBe('tool:crm.search'); // 10,000 held: A is seen again
    others(steps, MAX_TRACES - 1, 20_000); // every other trace goes before A
    expect(previousOf(steps, TRACE_A, 'mail.send', 40_000)).toBe('tool:crm.update');
  });
});
