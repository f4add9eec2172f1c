/**
 * Review19 F10: two throw-away identities learn an exfiltration under a `service.name` of their own,
 * where nobody judges them, then join a group with it. Their knowledge must not excuse a real member's
 * same exfiltration; two established (mature) members' knowledge does. Detection engine over a real
 * SQLite file.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MOVE_AFTER_ACTIONS, MOVE_AFTER_MS } from '../../baselines/peer-move.js';
import { flowKey } from '../../baselines/keys.js';
import type { Action } from '../../src/actions/types.js';
import { configSchema } from '../../src/config/schema.js';
import { action, engineHarness, type EngineHarness } from './harness.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const GROUP = 'devops-bot';
const MEMBERS = ['devops-0', 'devops-1', 'devops-2'];
const COLLUDERS = ['canary-0', 'canary-1'];
const config = configSchema.parse({ zones: { secrets: ['vault.*'], crm: ['crm.internal'] }, sensitive: { zones: ['secrets'] } });

let h: EngineHarness;
beforeEach(() => {
  h = engineHarness(config, () => T0);
});
afterEach(() => h.close());

/** A tool step with its HTTP call, in the trace given (a fresh one by default). */
function toolCall(identity: string, peerGroup: string, time: number, tool: string, host: string, zone: string, traceId?: string): Action[] {
  const access = zone === 'external' ? 'write' : 'read';
  const t = action({ identity, peerGroup, time, endTime: time + 50, kind: 'tool', target: tool, access, ...(traceId ? { traceId } : {}) });
  const sensitive = zone === 'secrets';
  const call = action({ identity, peerGroup, time: time + 5, endTime: time + 40, kind: 'http', target: `${host}/api/{id}`, host, zone, access, sensitive, traceId: t.traceId, parentSpanId: t.spanId });
  return [{ ...t, sensitive }, call];
}

/** Reads the CI secret, then posts it to a paste site, in one trace. */
function exfiltrate(identity: string, peerGroup: string, time: number): Action[] {
  const read = toolCall(identity, peerGroup, time, 'secrets.get', 'vault.internal', 'secrets');
  return [...read, ...toolCall(identity, peerGroup, time + 1000, 'paste.post', 'paste.example.com', 'external', read[0].traceId)];
}

/** Two and a half days of the group's work; `flowKnowers` exfiltrate now and then as part of it. */
function groupHistory(flowKnowers: string[] = []): number {
  for (let i = 0; i < 600; i++) {
    const time = T0 + i * 6 * MIN;
    for (const [n, m] of MEMBERS.entries()) {
      h.feed(toolCall(m, GROUP, time + n * 1000, 'crm.search', 'crm.internal', 'crm'));
      if (flowKnowers.includes(m) && i % 20 === 0) h.feed(exfiltrate(m, GROUP, time + 10_000));
    }
  }
  return T0 + 600 * 6 * MIN;
}

const lateral = () => h.alerts.filter((a) => a.detector === 'lateral_chaining' && a.identity === 'devops-0');

it('two newcomers who learned an exfiltration elsewhere do not make it the group\'s', () => {
  let t = groupHistory();
  // Two hours under a group of their own: nobody judges them, everything is learned.
  for (let i = 0; i < 24; i++, t += 5 * MIN) for (const c of COLLUDERS) h.feed(exfiltrate(c, `${GROUP}-canary`, t));
  // Then they name the real group long enough to move in.
  for (let i = 0; i <= MOVE_AFTER_ACTIONS; i++, t += Math.ceil(MOVE_AFTER_MS / MOVE_AFTER_ACTIONS)) {
    for (const c of COLLUDERS) h.feed(toolCall(c, GROUP, t, 'crm.search', 'crm.internal', 'crm'));
  }
  const group = h.engine.baselines.group(GROUP);
  const flow = flowKey('secrets.get', 'paste.example.com');
  expect(COLLUDERS.every((c) => group.members.has(c))).toBe(true);
  expect(group.users(flow)).toBe(2); // what made the old quorum
  expect(group.matureAdopters(flow, 'devops-0')).toBe(0);

  h.feed(exfiltrate('devops-0', GROUP, t + MIN));
  expect(lateral()).toHaveLength(1);
  expect(lateral()[0]).toMatchObject({ severity: 'high', evidence: { subject: 'secrets.get => paste.example.com' } });
  expect(lateral()[0].explanation).toContain('and only 2 of its peers (0 of them established) did');
});

it('two established members who send it there excuse it', () => {
  const t = groupHistory(['devops-1', 'devops-2']);
  h.feed(exfiltrate('devops-0', GROUP, t + MIN));
  expect(lateral()).toHaveLength(0);
});

it('one established member who sends it there does not excuse it', () => {
  const t = groupHistory(['devops-1']);
  h.feed(exfiltrate('devops-0', GROUP, t + MIN));
  expect(lateral()).toMatchObject([{ severity: 'high' }]);
});

// Review19 F15: two new instances using a new tool made a "rollout" of it, silencing a real member's use.
describe('a rollout of an established member\'s new tool takes established adopters', () => {
  const exportCall = (identity: string, time: number) => toolCall(identity, GROUP, time, 'db.export', 'crm.internal', 'crm');
  const drift = () => h.alerts.filter((a) => a.detector === 'scope_drift' && a.identity === 'devops-0');

  it('two newcomers adopting it first do not explain it', () => {
    let t = groupHistory();
    for (const c of COLLUDERS) h.feed(toolCall(c, GROUP, (t += MIN), 'crm.search', 'crm.internal', 'crm'));
    for (const c of COLLUDERS) for (let i = 0; i < 2; i++) h.feed(exportCall(c, (t += MIN)));
    h.feed(exportCall('devops-0', (t += MIN)));
    h.engine.finish(); // ends the hold (rolloutGrace)
    expect(drift()).toMatchObject([{ severity: 'medium', evidence: { subject: 'tool:db.export' } }]);
  });

  it('two established members adopting it do', () => {
    let t = groupHistory();
    for (const m of ['devops-1', 'devops-2']) h.feed(exportCall(m, (t += MIN)));
    h.feed(exportCall('devops-0', (t += MIN)));
    h.engine.finish();
    expect(drift()).toEqual([]);
  });
});
