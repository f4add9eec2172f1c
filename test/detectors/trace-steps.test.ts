/**
 * The step history detectors read (src/detect/steps.ts): kept per trace across batches, for the
 * 10,000 most recently seen traces, the least recently seen dropped first; parallel steps (CONTRACT
 * §3.1) are no transition of each other.
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

  it('a call exported after its tool (a later batch) is made in that step, not a step of its own', () => {
    const steps = new TraceSteps();
    const tool = action({ identity: ID, time: 1, traceId: TRACE_A, target: 'notify' });
    steps.annotate([tool]);
    const call = action({ identity: ID, time: 2, traceId: TRACE_A, kind: 'http', target: 'api.internal/notify/{id}', access: 'write', parentSpanId: tool.spanId });
    expect(steps.annotate([call])[0]).toMatchObject({ name: null, previous: null, within: 'notify' });
    // A call whose parent is no step it knows stays a step of its own.
    const stray = action({ identity: ID, time: 3, traceId: TRACE_A, kind: 'http', target: 'api.internal/x', parentSpanId: 'f'.repeat(16) });
    expect(steps.annotate([stray])[0]).toMatchObject({ name: 'http:api.internal/x', within: null });
  });

  it('a step exported after later steps is placed by its start: it follows the step before it, and the steps after it keep theirs', () => {
    const steps = new TraceSteps();
    expect(previousOf(steps, TRACE_A, 'plan', 1)).toBeNull();
    expect(previousOf(steps, TRACE_A, 'send', 300)).toBe('tool:plan');
    expect(previousOf(steps, TRACE_A, 'lookup', 100)).toBe('tool:plan'); // late: not after send
    expect(previousOf(steps, TRACE_A, 'archive', 500)).toBe('tool:send');
    expect(previousOf(steps, TRACE_A, 'check', 200)).toBe('tool:lookup');
  });

  it('a step placed before steps of earlier batches is told those it is now the previous of (transitions); in order, or beside them, none', () => {
    const steps = new TraceSteps();
    const at = (time: number, target: string, endTime = time + 50) => steps.annotate([action({ identity: ID, time, endTime, traceId: TRACE_A, target })])[0];
    expect(at(1, 'plan').transitions).toBeUndefined();
    expect(at(300, 'send').transitions).toBeUndefined();
    const late = at(100, 'lookup');
    expect(late.previous?.name).toBe('tool:plan');
    expect(late.transitions?.map(([from, to]) => [from.name, to.name, to.access])).toEqual([['tool:lookup', 'tool:send', 'read']]);
    expect(at(250, 'check', 400).transitions).toBeUndefined(); // still running when send started: beside it, no transition
  });

  it('a late step is the previous of every parallel sibling after it (review46 F3), and of no step of its own batch (review46 F1)', () => {
    const steps = new TraceSteps();
    const step = (time: number, target: string, madeIn: string, endTime = time + 50) => action({ identity: ID, time, endTime, traceId: TRACE_A, target, parentSpanId: madeIn });
    const [P, Q] = ['1'.repeat(16), '2'.repeat(16)];
    steps.annotate([step(1, 'plan', P)]);
    steps.annotate([step(300, 'notify', Q, 400), step(310, 'update', Q)]); // two tools at once, made in Q
    const [late] = steps.annotate([step(100, 'lookup', P)]);
    expect(late.transitions?.map(([from, to]) => `${from.name} -> ${to.name}`)).toEqual(['tool:lookup -> tool:notify', 'tool:lookup -> tool:update']);
    // A batch's own later step follows its earlier one as ever: only the step before the old ones is told of them.
    const [first, second] = steps.annotate([step(150, 'fetch', P), step(200, 'sum', P)]);
    expect([first.transitions, second.transitions?.map(([from, to]) => `${from.name} -> ${to.name}`)]).toEqual([undefined, ['tool:sum -> tool:notify', 'tool:sum -> tool:update']]);
  });

  it("a tool exported after a call it made, emitted as a step of its own, takes it: the next step follows the tool, which reached the call's zone", () => {
    const steps = new TraceSteps();
    const tool = action({ identity: ID, time: 100, endTime: 900, traceId: TRACE_A, target: 'sync' });
    const call = action({ identity: ID, time: 110, traceId: TRACE_A, kind: 'http', target: 'api.partner.example/sync', zone: 'external', parentSpanId: tool.spanId });
    expect(steps.annotate([call])[0]).toMatchObject({ name: 'http:api.partner.example/sync', within: null }); // its tool not known yet
    const next = action({ identity: ID, time: 950, traceId: TRACE_A, target: 'notify' });
    const [late, after] = steps.annotate([tool, next]);
    expect(late.zones).toEqual(['external']);
    expect(after.previous).toMatchObject({ name: 'tool:sync', zones: ['external'] });
    // Calls made in another span stay steps of their own.
    const stray = action({ identity: ID, time: 960, traceId: TRACE_A, kind: 'http', target: 'api.internal/x', parentSpanId: 'f'.repeat(16) });
    steps.annotate([stray]);
    expect(previousOf(steps, TRACE_A, 'close', 1000)).toBe('http:api.internal/x');
  });

  it("a delegation exported after a call made in it takes it too (review45 M2); its callee's tools stay steps", () => {
    const steps = new TraceSteps();
    const CALLEE = 'spiffe://acme/agent/billing';
    const hop = action({ identity: ID, time: 100, endTime: 900, traceId: TRACE_A, kind: 'delegation', target: 'billing-agent' });
    const call = action({ identity: ID, time: 110, traceId: TRACE_A, kind: 'http', target: 'api.partner.example/pay', zone: 'external', parentSpanId: hop.spanId });
    const calleeTool = action({ identity: CALLEE, caller: ID, time: 120, traceId: TRACE_A, target: 'invoice.create', parentSpanId: hop.spanId });
    steps.annotate([call, calleeTool]); // the hop not known yet: both are steps
    const next = action({ identity: ID, time: 950, traceId: TRACE_A, target: 'notify' });
    const [late, after] = steps.annotate([hop, next]);
    expect(late.zones).toEqual(['external']);
    expect(after.previous).toMatchObject({ name: 'tool:invoice.create' }); // the callee's tool is still a step
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

describe('parallel steps', () => {
  const PARENT = 'p'.repeat(16);
  /** Tool steps made in one span of one trace, [target, start, end] each: every step's previous step. */
  const previousSteps = (tools: Array<[string, number, number]>, batches: 'one' | 'each' = 'one') => {
    const steps = new TraceSteps();
    const acts = tools.map(([target, time, endTime]) => action({ identity: ID, traceId: TRACE_A, parentSpanId: PARENT, target, time, endTime }));
    const out = batches === 'one' ? steps.annotate(acts) : acts.flatMap((a) => steps.annotate([a]));
    return acts.map((a, i) => [a.target, out[i].previous?.name ?? null]);
  };

  it('overlapping siblings follow the step before them, not each other; a step after one of them follows it', () => {
    expect(previousSteps([['plan', 900, 950], ['get_weather', 1000, 1050], ['get_time', 1001, 1030], ['get_news', 1040, 1060], ['summarise', 1060, 1070]])).toEqual([
      ['plan', null],
      ['get_weather', 'tool:plan'],
      ['get_time', 'tool:plan'],
      ['get_news', 'tool:get_time'], // beside get_weather, but after get_time ended (CONTRACT §3.1: overlapping pairs)
      ['summarise', 'tool:get_news'], // starts as get_news ends
    ]);
  });

  it('a step starting within the clock slack before the previous end follows it; earlier, it runs beside it', () => {
    // Millisecond-stamped starts against finer ends: 1.5 ms of overlap is one clock's rounding, 3 ms is not.
    // Review30 H1: detection had no slack (the builder's grouping had it, and nothing read it).
    expect(previousSteps([['plan', 1000, 1011.5], ['search', 1010, 1030], ['fetch', 1027, 1040]])).toEqual([
      ['plan', null],
      ['search', 'tool:plan'],
      ['fetch', 'tool:plan'],
    ]);
  });

  it('holds across batches: a sibling exported later is still no transition', () => {
    expect(previousSteps([['plan', 900, 950], ['a', 1000, 1050], ['b', 1010, 1040]], 'each')).toEqual([['plan', null], ['a', 'tool:plan'], ['b', 'tool:plan']]);
  });

  it('steps made in different spans are a sequence, even when they overlap', () => {
    const steps = new TraceSteps();
    const a = action({ identity: ID, traceId: TRACE_A, parentSpanId: PARENT, target: 'a', time: 1000, endTime: 1050 });
    const b = action({ identity: ID, traceId: TRACE_A, parentSpanId: 'q'.repeat(16), target: 'b', time: 1001, endTime: 1040 });
    expect(steps.annotate([a, b]).map((s) => s.previous?.name ?? null)).toEqual([null, 'tool:a']);
  });

  it('a call context repair attributed to a tool is made in that tool: two such calls can run in parallel', () => {
    const steps = new TraceSteps();
    const tool = { traceId: 'b'.repeat(32), spanId: 't'.repeat(16) };
    // Foreign-parented delegations attributed to one tool: made in it, whatever parents they name.
    const x = action({ identity: ID, traceId: 'c'.repeat(32), parentSpanId: '1'.repeat(16), kind: 'delegation', target: 'x', time: 1000, endTime: 1050, attributedTo: tool });
    const y = action({ identity: ID, traceId: 'd'.repeat(32), parentSpanId: '2'.repeat(16), kind: 'delegation', target: 'y', time: 1005, endTime: 1040, attributedTo: tool });
    expect(steps.annotate([x, y]).map((s) => s.previous?.name ?? null)).toEqual([null, null]);
  });
});
