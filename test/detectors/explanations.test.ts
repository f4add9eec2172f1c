/**
 * What alerts say must be true of the input (review27): a repeat is not "the first time", a tool used
 * without access classes has a history, a new instance of a writing group is not "read-only", and names
 * cannot forge the text around them.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { buildAlert } from '../../src/alerts/alert.js';
import { configSchema } from '../../src/config/schema.js';
import { code } from '../../detectors/severity.js';
import { action as act, engineHarness, type EngineHarness } from './harness.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const config = configSchema.parse({});
const ID = 'spiffe://acme/agent-p';

let h: EngineHarness;
beforeEach(() => {
  h = engineHarness(config, () => T0);
});
afterEach(() => h.close());

/** Two days of crm.search every 5 minutes (576 actions): judged against itself afterwards. */
function learn(over: Partial<Parameters<typeof act>[0]> = {}): number {
  let t = T0;
  for (; t < T0 + 48 * HOUR; t += 5 * MIN) h.feed([act({ identity: ID, time: t, ...over })]);
  return t;
}

// Review27 H3: uses that raised an alert are not learned, so every later alert said "for the first time".
it('says a repeat of an unlearned tool is not its first use, with when the first was', () => {
  const t = learn();
  h.feed([act({ identity: ID, time: t, target: 'export.csv' })]);
  h.feed([act({ identity: ID, time: t + 3 * HOUR, target: 'export.csv' })]); // past the hold and the suppression window
  h.engine.finish(); // ends the second's hold
  const drift = h.alerts.filter((a) => a.detector === 'scope_drift');
  expect(drift).toHaveLength(2);
  expect(drift[0].explanation).toMatch(/^spiffe:\/\/acme\/agent-p used tool `export.csv` for the first time\. In 2 days and 576 actions it never used this; its most used tools are `crm.search` \(\d{3} times\), counting recent uses more/);
  expect(drift[1].explanation).toContain('used tool `export.csv`, which its baseline does not hold: it first used `export.csv` 3 hours ago');
  expect(drift[1].explanation).not.toMatch(/first time|never used/);
});

// Review27 M3: reads are counted from access classes only, so 500 uses of a tool whose spans name none were "no history".
it('names a tool\'s uses without access classes as history, not "no history"', () => {
  let t = T0;
  for (; t < T0 + 48 * HOUR; t += 5 * MIN) h.feed([act({ identity: ID, time: t, target: 'crm.record', access: null }), act({ identity: ID, time: t + 1000, target: 'notes.add', access: 'write' })]);
  h.feed([act({ identity: ID, time: t, target: 'crm.record', access: 'write' })]);
  h.engine.finish(); // a plain write is held for a rollout first
  const [w] = h.alerts.filter((a) => a.detector === 'unexpected_write');
  expect(w.explanation).toMatch(/It used `crm.record` \d{3} times over 2 days \(counting recent uses more.*\), with no read or write on record/);
  expect(w.explanation).not.toContain('no history');
});

// Review27 M2: one read 45 days ago, decayed to ~0.1 (half-life 14 days), was "0 times".
it('says a read long ago was a faded read, not none', () => {
  let t = T0;
  h.feed([act({ identity: ID, time: t, target: 'crm.old', access: 'read' })]);
  for (t += HOUR; t < T0 + 45 * 24 * HOUR; t += HOUR) h.feed([act({ identity: ID, time: t, target: 'notes.add', access: 'write' })]);
  h.feed([act({ identity: ID, time: t, target: 'crm.old', access: 'write' })]);
  h.engine.finish(); // a plain write is held for a rollout first
  const [w] = h.alerts.filter((a) => a.detector === 'unexpected_write');
  expect(w.explanation).toMatch(/It read `crm.old` 0\.1 times over 45 days \(counting recent uses more/);
});

// Review30 H3: the agent an action ran under and the identity that handed it the work were carried to the
// main thread and shown nowhere.
it('names in its evidence the agent the action ran under and the identity that delegated it, when the spans say', () => {
  const t = learn();
  h.feed([act({ identity: ID, time: t, target: 'export.csv', agent: 'billing', caller: 'spiffe://acme/orchestrator' })]);
  h.feed([act({ identity: ID, time: t + 1000, target: 'vault.read' })]);
  h.engine.finish();
  const drift = h.alerts.filter((a) => a.detector === 'scope_drift');
  expect(drift.map((a) => [a.evidence.subject, a.evidence.agent, a.evidence.caller])).toEqual([
    ['tool:export.csv', 'billing', 'spiffe://acme/orchestrator'],
    ['tool:vault.read', undefined, undefined],
  ]);
});

// Review27 M5: a new instance's own two reads made it "read-only", and its first write high, in a group that writes.
it('judges a new instance read-only only when its peers are', () => {
  const peer = (n: number) => `spiffe://acme/writer-${n}`;
  for (let t = T0; t < T0 + 30 * HOUR; t += 10 * MIN) {
    h.feed([1, 2, 3].flatMap((n) => [act({ identity: peer(n), time: t }), act({ identity: peer(n), time: t + 1000, target: 'tickets.update', access: 'write' })]));
  }
  const newcomer = 'spiffe://acme/writer-new';
  const t = T0 + 30 * HOUR;
  h.feed([act({ identity: newcomer, time: t }), act({ identity: newcomer, time: t + 1000 })]);
  h.feed([act({ identity: newcomer, time: t + 2000, target: 'crm.notes', access: 'write' })]);
  h.engine.finish(); // a plain write is held for a rollout first
  const [w] = h.alerts.filter((a) => a.detector === 'unexpected_write' && a.identity === newcomer);
  expect(w).toMatchObject({ severity: 'medium', evidence: { readOnlyBaseline: false } });
  expect(w.explanation).not.toContain('read-only');
});

// Review27 L5: a backtick in a name closed its quote and wrote the rest of the sentence; U+202E reordered a title.
it('quotes names so they cannot forge the explanation, and shows bidirectional controls escaped', () => {
  expect(code('kb.search` (9,999 times). Part of a rollout. `ok')).toBe('`` kb.search` (9,999 times). Part of a rollout. `ok ``');
  expect(code('a``b')).toBe('``` a``b ```');
  const finding = { detector: 'scope_drift' as const, severity: 'medium' as const, surprise: 0.9, subject: 'tool:x', title: 'New tool evil\u202etxt.exe', explanation: `used ${code('evil\u202etxt.exe')}`, traceIds: [], spanIds: [], details: {}, tags: [] };
  const alert = buildAlert(finding, act({ identity: ID, time: T0 }), ID, T0);
  expect(alert.title).toBe('New tool evil\\u202etxt.exe');
  expect(alert.explanation).toBe('used `evil\\u202etxt.exe`');
});

// Review27 M8: scores came from each detector's own scale, so 2,016 pairs of alerts ranked the less severe first.
it('scores every more severe alert above every less severe one, and the more surprising first within a severity', () => {
  const finding = (severity: 'medium' | 'critical', surprise: number) =>
    ({ detector: 'unexpected_write' as const, severity, surprise, subject: 'crm.rec', title: 't', explanation: 'e', traceIds: [], spanIds: [], details: {}, tags: [] });
  const score = (f: ReturnType<typeof finding>) => buildAlert(f, act({ identity: ID, time: T0 }), ID, T0).score;
  // The review's pair: a read-only identity's first delete (critical, 0.875) against a write after reads (medium, 0.979).
  expect(score(finding('critical', 0.875))).toBeGreaterThan(score(finding('medium', 0.979)));
  expect(score(finding('critical', 0))).toBeGreaterThan(score(finding('medium', 0.99)));
  expect(score(finding('medium', 0.979))).toBeGreaterThan(score(finding('medium', 0.875)));
  expect(score(finding('critical', 2))).toBeLessThanOrEqual(1);
});

// Review34 L1: an item raised every week (so never learned) was "for the first time" again in week 3: the
// group forgot its first try a week after it, as of an item nobody uses.
it('says when a weekly item that keeps raising was first used, in its third week too', () => {
  const DAY = 24 * HOUR;
  // Two weeks of an hourly task make it mature; the weekly report runs on days 15, 22 and 29.
  for (let t = T0; t < T0 + 30 * DAY; t += HOUR) {
    h.feed([act({ identity: ID, time: t })]);
    if (t >= T0 + 15 * DAY && (t - T0) % (7 * DAY) === DAY) h.feed([act({ identity: ID, time: t + 1000, target: 'reports.weekly' })]);
  }
  h.engine.finish();
  const drift = h.alerts.filter((a) => a.detector === 'scope_drift').map((a) => a.explanation);
  expect(drift).toHaveLength(3);
  expect(drift[0]).toContain('for the first time');
  expect(drift[2]).toContain('it first used `reports.weekly` 14 days ago');
});
