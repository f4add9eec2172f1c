/**
 * scope_drift's bulk-read rule through the engine (review31 F6): an identity that reads a sensitive source
 * through its usual tool far more in an hour than it ever did. What must stay quiet: bursts of a few times
 * its busiest hour (CONTRACT §4), and an identity whose load grows hour by hour.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Action } from '../../src/actions/types.js';
import { configSchema } from '../../src/config/schema.js';
import { ReadVolume } from '../../src/detect/read-volume.js';
import { action as act, engineHarness, type EngineHarness } from './harness.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const config = configSchema.parse({});
const AGENT = 'spiffe://acme/support-1';

let h: EngineHarness;
beforeEach(() => {
  h = engineHarness(config, () => T0);
});
afterEach(() => h.close());

const lookup = (time: number, identity = AGENT) => act({ identity, time, target: 'crm.lookup', sensitive: true });
const search = (time: number, identity = AGENT) => act({ identity, time, target: 'kb.search' });
const bulk = () => h.alerts.filter((a) => a.detector === 'scope_drift' && a.evidence.rule === 'bulk_read');

/** The calls a lookup makes to the CRM's API. */
const calls = (step: Action, n: number) =>
  Array.from({ length: n }, (_, c) => act({ identity: step.identity, time: step.time + 10 + c, traceId: step.traceId, parentSpanId: step.spanId, kind: 'http', target: 'crm.internal/customers/{id}', host: 'crm.internal', zone: 'internal', sensitive: true }));

/** `n` customer-record lookups spread over the hour from `start` (with a search before each), each making `callsEach` calls. */
function hourOf(start: number, n: number, callsEach = 0, identity = AGENT): void {
  const batch: Action[] = [];
  for (let i = 0; i < n; i++) {
    const t = start + Math.floor((i * HOUR) / n);
    const step = lookup(t + 1000, identity);
    batch.push(search(t, identity), step, ...calls(step, callsEach));
  }
  h.feed(batch);
}

/**
 * Three days of a support agent: 4 lookups an hour at night, 12 by day (busiest hours 12), each with one
 * call to the CRM (the same read). Returns the next hour.
 */
function learn(): number {
  let t = T0;
  for (; t < T0 + 72 * HOUR; t += HOUR) hourOf(t, new Date(t).getUTCHours() >= 8 && new Date(t).getUTCHours() < 18 ? 12 : 4, 1);
  expect(h.alerts).toEqual([]);
  // What `vigil baseline show` says of it.
  expect((h.operator.describe(AGENT) as { sensitiveReadPeaks: Record<string, number> }).sensitiveReadPeaks['crm.lookup']).toBeCloseTo(12, 0);
  return t;
}

it('raises 3,000 customer-record lookups in an hour through the usual tool, once, folding the rest', () => {
  const t = learn();
  hourOf(t, 3000);
  const raised = bulk();
  expect(raised).toHaveLength(1);
  expect(raised[0]).toMatchObject({ severity: 'medium', evidence: { subject: 'bulk:crm.lookup', source: 'crm.lookup' } });
  // Raised at about the 120th lookup (10 times its busiest hour of 12, decayed a little), every later one folded into it.
  const at = raised[0].evidence.count as number;
  expect(at).toBeGreaterThanOrEqual(110);
  expect(at).toBeLessThanOrEqual(120);
  expect(raised[0].count).toBe(3000 - at + 1);
  expect(raised[0].explanation).toMatch(new RegExp(`read sensitive \`crm.lookup\` ${at} times since \\d\\d:00 UTC .* Its busiest hour of such reads was 1[12](\\.\\d)? \\(decayed\\)`));
});

it('stays quiet on a burst of five times its busiest hour, and on load that grows over a day', () => {
  let t = learn();
  hourOf(t, 60);
  t += HOUR;
  // Then twice the hour before, for ten hours: 24, 48 ... its peak follows.
  for (let n = 24, i = 0; i < 6; i++, n *= 2, t += HOUR) hourOf(t, n);
  expect(bulk()).toEqual([]);
});

it('does not learn an hour that raised an alert: the next bulk hour is raised too', () => {
  const t = learn();
  hourOf(t, 400);
  // Learned, the 400 would have doubled its peak (to 24), and 200 would be under 10 times it.
  hourOf(t + HOUR, 200);
  expect(bulk()).toHaveLength(2);
});

it('counts a step and its first call as one read and every further call as one more, and a late read in its own hour', () => {
  const v = new ReadVolume();
  const settled: Array<[string, number, boolean]> = [];
  const settle = (s: string, n: number, raised: boolean) => settled.push([s, n, raised]);
  const count = (step: string, isCall: boolean, time: number, source = 'crm.lookup') => v.count(source, step, isCall, time, settle).map((c) => c.count);
  expect(count('step-1', false, T0 + 10)).toEqual([1, 1]);
  expect(count('step-1', true, T0 + 20)).toEqual([1, 1]); // its HTTP call
  expect(count('step-1', true, T0 + 21)).toEqual([2, 2]); // a second call of the same step (review33 H1)
  expect(count('step-2', true, T0 + 30)).toEqual([3, 3]); // a call whose tool comes later...
  expect(count('step-2', false, T0 + 31)).toEqual([3, 3]); // ...is the tool's read
  expect(count('vault-1', false, T0 + 40, 'vault.read')).toEqual([1, 4]); // another source: its own count, and all of them
  // The next hour settles this one, to be learned.
  expect(v.count('crm.lookup', 'step-3', false, T0 + HOUR, settle)).toEqual([
    { source: 'crm.lookup', count: 1, since: T0 + HOUR },
    { source: '*', count: 1, since: T0 + HOUR },
  ]);
  expect(settled).toEqual([['crm.lookup', 3, false], ['*', 4, false]]);
  // A read from before it is late: counted in a count of its own hour (review33 L2: uncounted, backdated
  // reads passed unseen; review36 M4: counted in the current hour, a replica's late reads raised), never
  // learned; one from more than 48 hours back is not counted.
  expect(v.count('crm.lookup', 'step-4', false, T0 + 50, settle)).toEqual([
    { source: 'crm.lookup', count: 1, since: T0 },
    { source: '*', count: 1, since: T0 },
  ]);
  expect(count('step-5', false, T0 + 60)).toEqual([2, 2]);
  expect(count('step-6', false, T0 + HOUR - 48 * HOUR - 1)).toEqual([]);
  expect(settled).toHaveLength(2);
  // An hour that raised an alert is not learned as a peak but as a raised hour; its reads leave the count
  // of all sources too (they are that alert's), which has nothing left to settle.
  v.alerted('crm.lookup', T0 + HOUR);
  settled.length = 0;
  count('step-7', false, T0 + 2 * HOUR);
  expect(settled).toEqual([['crm.lookup', 1, true]]);
  // A late hour that raised: its later reads are that alert's, not all sources'.
  v.alerted('crm.lookup', T0);
  expect(count('step-8', false, T0 + 70)).toEqual([3]);
});

// Review33 M1: past 32 sources the one first read went, so 33 read in turn each counted 1, however many reads.
it('raises 3,000 lookups backdated into the hour before, arriving after a read of this hour (review33 L2)', () => {
  const t = learn();
  h.feed([lookup(t + 30_000)]);
  hourOf(t - HOUR, 3000);
  const raised = bulk();
  expect(raised).toHaveLength(1);
  expect(raised[0]).toMatchObject({ severity: 'medium', evidence: { subject: 'bulk:crm.lookup', source: 'crm.lookup' } });
  expect(raised[0].count).toBeGreaterThan(2800);
  expect(raised[0].evidence.since).toBe(new Date(t - HOUR).toISOString()); // judged in the hour they are stamped in
});

it('stays quiet on a second replica of one identity whose reads all arrive hours late (review36 M4)', () => {
  let t = learn();
  // Two days of the usual reads from one node, then the same two days from the second replica's node, late.
  const from = t;
  for (; t < from + 48 * HOUR; t += HOUR) hourOf(t, 12);
  for (let late = from; late < from + 47 * HOUR; late += HOUR) hourOf(late + 60_000, 12);
  expect(bulk()).toEqual([]);
});

it('keeps the busiest sources of the hour, and counts every source together too', () => {
  const v = new ReadVolume();
  const settled: Array<[string, number]> = [];
  let last: readonly { source: string; count: number }[] = [];
  for (let round = 0; round < 10; round++) {
    for (let s = 0; s < 33; s++) last = v.count(`secret-${s}`, `step-${round}-${s}`, false, T0 + round * 1000 + s, (x, n) => settled.push([x, n]));
  }
  // Only one slot turns over (secret-0 and secret-32 push each other out): the other 31 keep every read.
  expect(last).toEqual([{ source: 'secret-32', count: 1, since: T0 }, { source: '*', count: 330, since: T0 }]);
  expect(v.count('secret-5', 'step-x', false, T0 + 20_000, () => {})[0].count).toBe(11);
  // A source last read an hour before goes first, and its hour is learned.
  v.count('other', 'step-y', false, T0 + HOUR, (x, n) => settled.push([x, n]));
  expect(settled).toContainEqual(['*', 331]);
  expect(settled.filter(([x]) => x.startsWith('secret-'))).toHaveLength(1);
});

// Review33 H1: a tool and its calls counted as one read, so 3,000 records read as the calls of 30 usual steps raised nothing.
it('raises 3,000 records read as the calls of 30 usual lookups', () => {
  const t = learn();
  hourOf(t, 30, 100);
  expect(bulk().map((a) => [a.evidence.subject, a.evidence.count])).toEqual([['bulk:crm.lookup', expect.any(Number)]]);
  expect(bulk()[0].evidence.count as number).toBeLessThanOrEqual(120);
});

/** Two days of 4 secrets an hour, each of 33 read in turn (about 3 reads of each a day). Returns the next hour. */
function learnSecrets(): number {
  let t = T0;
  for (let i = 0; t < T0 + 50 * HOUR; i++, t += 15 * MIN) h.feed([act({ identity: AGENT, time: t, target: `vault.read/secret-${i % 33}`, sensitive: true })]);
  expect(h.alerts).toEqual([]);
  return Math.ceil(t / HOUR) * HOUR;
}

// Review33 M1: 33 sources read in turn pushed each other out of the 32 counted, each count staying at 1.
it('raises reads spread over more sources than it counts one by one', () => {
  const t = learnSecrets();
  const batch: Action[] = [];
  for (let i = 0; i < 33 * 120; i++) batch.push(act({ identity: AGENT, time: t + i * 900, target: `vault.read/secret-${i % 33}`, sensitive: true }));
  h.feed(batch);
  // 3,960 reads against a busiest hour of 4: raised as a whole at the 100th, and only so (not once more per
  // secret as each reaches 100), every later read folded into it.
  expect(bulk().map((a) => [a.evidence.subject, a.evidence.count, a.count])).toEqual([['bulk:*', 100, 33 * 120 - 99]]);
  expect(bulk()[0].title).toBe('Bulk read of sensitive data, across sources');
});

// Review33 M3: a recurring legitimate bulk job (a nightly export) was raised every night, with no way to allow it.
describe('an operator allowing a bulk read', () => {
  const allowBulk = (source: string) => [{ dimension: 'bulk' as const, item: source }];
  const shown = () => h.operator.describe(AGENT) as { sensitiveReadPeaks: Record<string, number>; bulkReadsRaised: Record<string, number> };

  it('the day after: the hour that raised becomes its peak, so the next night passes and ten times it does not', () => {
    let t = learn();
    hourOf(t, 3000);
    expect(bulk()).toHaveLength(1);
    expect(bulk()[0].evidence.allow).toEqual(allowBulk('crm.lookup'));
    expect(bulk()[0].explanation).toContain('allowing `bulk crm.lookup` makes this hour');
    // A usual hour settles the raised one: remembered as raised, not learned as the peak.
    hourOf((t += HOUR), 12);
    expect(shown().bulkReadsRaised['crm.lookup']).toBeCloseTo(3000, -2);
    expect(shown().sensitiveReadPeaks['crm.lookup']).toBeLessThan(13);
    expect(h.operator.unseen(AGENT, allowBulk('crm.lookup'))).toEqual([]);
    expect(h.operator.allow(AGENT, allowBulk('crm.lookup'))).toBe(true);
    expect(shown().sensitiveReadPeaks['crm.lookup']).toBeCloseTo(3000, -2);
    t += 23 * HOUR;
    hourOf(t, 3000);
    expect(bulk()).toHaveLength(1);
    hourOf(t + 24 * HOUR, 31_000);
    expect(bulk().map((a) => a.evidence.subject)).toEqual(['bulk:crm.lookup', 'bulk:crm.lookup']);
  });

  it('while its hour lasts: later reads of that hour fold into nothing new, and the hour is learned as the peak', () => {
    let t = learn();
    hourOf(t, 3000); // its last read is a second before the hour ends: the hour is still the current one
    expect(h.operator.allow(AGENT, allowBulk('crm.lookup'))).toBe(true);
    h.feed([lookup(t + HOUR - 500)]);
    expect(bulk()[0].count).toBe(3000 - (bulk()[0].evidence.count as number) + 1); // not folded: allowed
    hourOf((t += HOUR), 12);
    expect(shown().sensitiveReadPeaks['crm.lookup']).toBeCloseTo(3001, -2);
    expect(shown().bulkReadsRaised['crm.lookup']).toBeUndefined();
    hourOf(t + 23 * HOUR, 2500);
    expect(bulk()).toHaveLength(1);
  });

  it('reads spread over sources: `bulk *` is allowed the same way', () => {
    let t = learnSecrets();
    const batch: Action[] = [];
    for (let i = 0; i < 33 * 20; i++) batch.push(act({ identity: AGENT, time: t + i * 5000, target: `vault.read/secret-${i % 33}`, sensitive: true }));
    h.feed(batch);
    expect(bulk().map((a) => [a.evidence.subject, a.evidence.allow])).toEqual([['bulk:*', allowBulk('*')]]);
    expect(h.operator.allow(AGENT, allowBulk('*'))).toBe(true);
    hourOf((t += HOUR), 12);
    batch.length = 0;
    for (let i = 0; i < 33 * 20; i++) batch.push(act({ identity: AGENT, time: t + 23 * HOUR + i * 5000, target: `vault.read/secret-${i % 33}`, sensitive: true }));
    h.feed(batch);
    expect(bulk()).toHaveLength(1);
  });

  it('with no bulk read of the source raised, nothing is allowed and the operator is told', () => {
    const t = learn();
    expect(h.operator.unseen(AGENT, allowBulk('crm.lookup'))).toEqual(allowBulk('crm.lookup'));
    expect(h.operator.allow(AGENT, allowBulk('crm.lookup'))).toBe(true);
    expect(shown().sensitiveReadPeaks['crm.lookup']).toBeLessThan(13);
    hourOf(t, 3000);
    expect(bulk()).toHaveLength(1);
  });
});

// Review33 M2: a newcomer was not judged (no peak of its own), and its first hour, however large, became its peak.
describe('a new member of the group', () => {
  const NEWCOMER = 'spiffe://acme/support-5';
  const newcomers = () => bulk().filter((a) => a.identity === NEWCOMER);
  /** Three mature members as learn() makes them, then the newcomer's first action in the next hour. */
  function groupThenNewcomer(): number {
    const members = [AGENT, 'spiffe://acme/support-2', 'spiffe://acme/support-3'];
    let t = T0;
    for (; t < T0 + 72 * HOUR; t += HOUR) for (const m of members) hourOf(t, new Date(t).getUTCHours() >= 8 && new Date(t).getUTCHours() < 18 ? 12 : 4, 1, m);
    expect(h.alerts).toEqual([]);
    return t;
  }

  it('is judged against its group\'s busiest hour from its first action', () => {
    const t = groupThenNewcomer();
    hourOf(t, 500, 0, NEWCOMER);
    expect(newcomers().map((a) => [a.evidence.subject, a.evidence.peakOf])).toEqual([['bulk:crm.lookup', 'peerGroup']]);
    expect(newcomers()[0].evidence.count as number).toBeLessThanOrEqual(120);
    expect(newcomers()[0].explanation).toContain(`Its peer group's (its mature members') busiest hour of such reads was 1`);
  });

  it('keeps the group\'s busiest hours across a restart', () => {
    const t = groupThenNewcomer();
    h.commit(true);
    const restarted = h.restart();
    expect(restarted.baselines.group('agents').readPeaks.value('crm.lookup', t, 14 * 24 * HOUR)).toBeCloseTo(12, 0);
  });

  it('learns a first hour under that bar at most twice the group\'s peak, so once mature it is judged by what it did', () => {
    let t = groupThenNewcomer();
    hourOf(t, 90, 0, NEWCOMER); // under 10 times the group's 12: not raised
    t += HOUR;
    for (const end = t + 48 * HOUR; t < end; t += HOUR) hourOf(t, 4, 1, NEWCOMER);
    expect(newcomers()).toEqual([]);
    expect((h.operator.describe(NEWCOMER) as { phase: string; sensitiveReadPeaks: Record<string, number> }).sensitiveReadPeaks['crm.lookup']).toBeLessThanOrEqual(24);
    hourOf(t, 1000, 0, NEWCOMER);
    expect(newcomers().map((a) => a.evidence.peakOf)).toEqual(['identity']);
    expect(newcomers()[0].evidence.count as number).toBeLessThanOrEqual(240);
  });
});
