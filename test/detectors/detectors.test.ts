/**
 * Each detector on its own: pure functions of (action, baseline view, context) -> finding. The view is
 * a plain object built here, which is exactly the seam the engine uses (src/detect/view.ts).
 */
import { describe, expect, it } from 'vitest';
import { accessItem, accessKey, failuresKey, flowItem, flowKey, key, stepName, transitionItem, transitionKey, type Dimension } from '../../baselines/keys.js';
import { DETECTORS } from '../../detectors/index.js';
import { lateralChaining } from '../../detectors/lateral-chaining.js';
import { retryStorm, subjectKey } from '../../detectors/retry-storm.js';
import { scopeDrift, scopeItems } from '../../detectors/scope-drift.js';
import type { BaselineView, DetectorInput, Finding, OutcomeWindow, StepContext } from '../../detectors/types.js';
import { unexpectedWrite } from '../../detectors/unexpected-write.js';
import type { Action } from '../../src/actions/types.js';
import { parseAllow } from '../../src/api/identities.js';
import { configSchema } from '../../src/config/schema.js';

const NOW = Date.UTC(2026, 2, 1, 12);
const config = configSchema.parse({ zones: { secrets: ['vault.*'] }, sensitive: { zones: ['secrets'] } });

function view(own: Record<string, number>, over: Partial<BaselineView> = {}): BaselineView {
  return {
    phase: 'own',
    actions: 1000,
    firstSeen: NOW - 5 * 86_400_000,
    evidence: 1000,
    own: (k) => own[k] ?? 0,
    peers: () => 0,
    maturePeers: () => 0,
    peerReadPeak: () => 0,
    peerGroupSize: 10,
    rolloutPopulation: 10,
    failuresBySubject: true,
    outcome: { actions: 1000, bad: 20 },
    adopters: () => 0,
    top: () => [['crm.search', 900]],
    firstTried: () => undefined,
    ...over,
  };
}

function action(over: Partial<Action>): Action {
  return {
    time: NOW, endTime: NOW + 10, identity: 'spiffe://t/a', peerGroup: 'support', kind: 'tool', target: 'crm.search',
    access: 'read', host: null, zone: null, sensitive: false, failed: false, retry: false,
    traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), parentSpanId: '', credential: null, scopes: [], agent: null, ...over,
  };
}

const noStep: StepContext = { name: null, zones: [], previous: null, owner: 'spiffe://t/a', within: null };
/** A retry window holding, per subject (its baseline key), [actions, failures + retries], all learned. */
function outcomes(bySubject: Record<string, [number, number]>, length = 300_000): OutcomeWindow {
  const entries = Object.entries(bySubject);
  const subject = (s: string) => ({ actions: bySubject[s]?.[0] ?? 0, bad: bySubject[s]?.[1] ?? 0 });
  const actions = entries.reduce((n, [, [a]]) => n + a, 0);
  const bad = entries.reduce((n, [, [, b]]) => n + b, 0);
  return {
    length,
    actions,
    bad,
    bySubject: new Map(entries.map(([s, [a, b]]) => [s, { actions: a, bad: b }])),
    subject,
    learned: { actions, bad },
    learnedOn: subject,
    since: NOW - Math.min(length, 120_000),
    stormRun: () => null,
  };
}
const CRM = key('tool', 'crm.search');
const quiet = outcomes({ [CRM]: [1, 0] });

function input(a: Action, v: BaselineView, over: Partial<DetectorInput> = {}): DetectorInput {
  return { action: a, scope: scopeItems(a), now: a.time, view: v, step: noStep, sensitiveReads: [], readVolume: [], window: quiet, sustainedWindow: quiet, config, ...over };
}

describe('the detector list', () => {
  it('registers each contract id exactly once', () => {
    expect(DETECTORS.map((d) => d.id).sort()).toEqual(['lateral_chaining', 'retry_storm', 'scope_drift', 'unexpected_write']);
  });
});

describe('baseline keys', () => {
  it('cached two-part keys are the keys built from their items', () => {
    for (let n = 0; n < 3; n++) {
      expect(accessKey('crm.search', 'write')).toBe(key('access', accessItem('crm.search', 'write')));
      expect(transitionKey('tool:a', 'tool:b')).toBe(key('transition', transitionItem('tool:a', 'tool:b')));
      expect(flowKey('secrets.get', 'paste.example.com')).toBe(key('flow', flowItem('secrets.get', 'paste.example.com')));
      expect(stepName('http', 'host/path')).toBe('http:host/path');
    }
  });
});

describe('scope_drift', () => {
  it('fires on a tool never used, held for a rollout when nothing marks it sensitive', () => {
    const f = scopeDrift.evaluate(input(action({ target: 'vault.read' }), view({ [key('tool', 'crm.search')]: 900 })));
    expect(f).toMatchObject({ subject: 'tool:vault.read', severity: 'medium' });
    expect(f!.holdUntil).toBe(NOW + config.detectors.scope_drift.rolloutGrace);
  });

  it('is quiet on a rare-but-seen tool', () => {
    expect(scopeDrift.evaluate(input(action({ target: 'crm.export' }), view({ [key('tool', 'crm.export')]: 0.4 })))).toBeNull();
  });

  it('is quiet for a new identity doing what its peers do', () => {
    const v = view({}, { phase: 'peer', peers: (k) => (k === key('tool', 'crm.search') ? 7 : 0) });
    expect(scopeDrift.evaluate(input(action({}), v))).toBeNull();
  });

  // Regression (review18 F7): chat traffic moved to a new host raised nothing, model calls having no items.
  it('a model call to a host its baseline never saw is a new host; its usual provider is quiet', () => {
    const chat = (host: string) => action({ kind: 'model', target: host, host, zone: 'external', access: null });
    const v = view({ [key('host', 'api.openai.com')]: 500, [key('zone', 'external')]: 500 });
    expect(scopeDrift.evaluate(input(chat('api.openai.com'), v))).toBeNull();
    expect(scopeDrift.evaluate(input(chat('llm-proxy.evil.example'), v))).toMatchObject({ subject: 'host:llm-proxy.evil.example', severity: 'medium' });
  });

  it('a new sensitive zone is critical and raised at once', () => {
    const f = scopeDrift.evaluate(input(action({ kind: 'http', target: 'vault.internal/v1/secret', host: 'vault.internal', zone: 'secrets' }), view({})));
    expect(f).toMatchObject({ subject: 'zone:secrets', severity: 'critical' });
    expect(f!.holdUntil).toBeUndefined();
  });

  it('holds a new identity\'s new tool too: it may be among the first of a rollout its peers are starting', () => {
    const f = scopeDrift.evaluate(input(action({ target: 'kb.semantic_search' }), view({}, { phase: 'peer' })));
    expect(f).toMatchObject({ subject: 'tool:kb.semantic_search', severity: 'medium' });
    expect(f!.holdUntil).toBe(NOW + config.detectors.scope_drift.rolloutGrace);
  });

  it('scores a new identity\'s surprise by its peers\' evidence, not its own few actions', () => {
    const fresh = view({}, { phase: 'peer', actions: 3, evidence: 3 });
    const fleet = view({}, { phase: 'peer', actions: 3, evidence: 20_000 });
    const f = (v: BaselineView) => scopeDrift.evaluate(input(action({ target: 'vault.read' }), v))!.surprise;
    expect(f(fresh)).toBeLessThan(0.6);
    expect(f(fleet)).toBe(0.99);
  });

  it('a rollout already under way explains the new item', () => {
    const v = view({}, { adopters: () => 5 });
    expect(scopeDrift.evaluate(input(action({ target: 'kb.search' }), v))).toBeNull();
  });

  // Regression (review18 F2): the first members' alerted attempts counted as a rollout, and silenced the
  // new sensitive zone and scope for the rest of the group.
  it('new zones, scopes and sensitive items are never a rollout, however many peers start at once', () => {
    const v = view({}, { adopters: () => 9 });
    const vault = action({ kind: 'http', target: 'vault.internal/v1/secret', host: 'vault.internal', zone: 'secrets', scopes: ['admin:*'] });
    expect(scopeDrift.evaluate(input(vault, v))).toMatchObject({ subject: 'zone:secrets', severity: 'critical' });
    expect(scopeDrift.evaluate(input(action({ scopes: ['admin:*'] }), v))).toMatchObject({ subject: 'scope:admin:*', severity: 'high' });
    expect(scopeDrift.evaluate(input(action({ target: 'secrets.get', sensitive: true }), v))).toMatchObject({ subject: 'tool:secrets.get', severity: 'high' });
  });

  it('an item one peer uses is not the group\'s: the severity stays; two established peers lower it, and it is then learned', () => {
    const tool = key('tool', 'kb.article');
    const peersUsing = (n: number, mature = n) => view({ [key('tool', 'crm.search')]: 900 }, { peers: (k) => (k === tool ? n : 0), maturePeers: (k) => (k === tool ? mature : 0) });
    expect(scopeDrift.evaluate(input(action({ target: 'kb.article' }), peersUsing(1)))).toMatchObject({ severity: 'medium' });
    // Two newcomers (judged against the group themselves) do not make it the group's (review19 F10).
    const newcomers = scopeDrift.evaluate(input(action({ target: 'kb.article' }), peersUsing(2, 0)))!;
    expect(newcomers).toMatchObject({ severity: 'medium' });
    expect(newcomers.explanation).toContain("Only 2 of its peers (0 of them established) have learned it, not enough to make it the group's.");
    const known = scopeDrift.evaluate(input(action({ target: 'kb.article' }), peersUsing(2)))!;
    // Reported once, then normal (review18 F9: left unlearned, it came back after every suppression window).
    expect(known).toMatchObject({ severity: 'low', learn: true });
    expect(known.explanation).toContain('2 of its peers have learned it');
  });
});

describe('unexpected_write', () => {
  it('fires on a delete where the baseline only reads, quoting the reads', () => {
    const v = view({ [key('access', accessItem('crm.search', 'read'))]: 420, [key('access', accessItem('*', 'write'))]: 3 });
    const f = unexpectedWrite.evaluate(input(action({ access: 'delete' }), v));
    expect(f).toMatchObject({ subject: 'crm.search|delete', severity: 'high' });
    expect(f!.explanation).toContain('read `crm.search` 420 times');
  });

  it('raises the severity for a read-only identity', () => {
    const f = unexpectedWrite.evaluate(input(action({ access: 'write' }), view({})));
    expect(f).toMatchObject({ severity: 'high' });
    expect(f!.details.readOnlyBaseline).toBe(true);
  });

  it('is quiet on a write it already makes, and on reads', () => {
    const v = view({ [key('access', accessItem('crm.search', 'write'))]: 5 });
    expect(unexpectedWrite.evaluate(input(action({ access: 'write' }), v))).toBeNull();
    expect(unexpectedWrite.evaluate(input(action({ access: 'read' }), view({})))).toBeNull();
  });
});

describe('retry_storm', () => {
  const storm = (bad: number, actions: number): OutcomeWindow => outcomes({ [CRM]: [actions, bad] });

  it('fires when failures burst far above the usual share', () => {
    const f = retryStorm.evaluate(input(action({ failed: true }), view({}), { window: storm(40, 60) }));
    expect(f).toMatchObject({ subject: 'crm.search' });
  });

  it('is quiet on a burst with the usual mix, and for an identity whose usual share is high', () => {
    expect(retryStorm.evaluate(input(action({ failed: true }), view({}), { window: storm(12, 500) }))).toBeNull();
    const flaky = view({}, { outcome: { actions: 1000, bad: 300 } });
    expect(retryStorm.evaluate(input(action({ failed: true }), flaky, { window: storm(20, 60) }))).toBeNull();
  });

  it('needs a failing action and at least minEvents', () => {
    expect(retryStorm.evaluate(input(action({}), view({}), { window: storm(40, 60) }))).toBeNull();
    expect(retryStorm.evaluate(input(action({ failed: true }), view({}), { window: storm(5, 5) }))).toBeNull();
  });

  // Review18 F4: 60 failed logins on one API hidden among 3,000 cheap reads in the same minutes.
  const tickets = action({ kind: 'http', target: 'tickets.internal/api/login', failed: true });
  const ticketsKey = key('target', 'tickets.internal/api/login');
  const padded = outcomes({ [key('tool', 'kb.search')]: [3000, 60], [ticketsKey]: [60, 60] });

  it('judges the failing target against its own usual share, so padding the window does not hide a loop on it', () => {
    const v = view({ [ticketsKey]: 400, [failuresKey(ticketsKey)]: 4 });
    const f = retryStorm.evaluate(input(tickets, v, { window: padded }));
    expect(f).toMatchObject({ subject: 'tickets.internal/api/login', severity: 'high', details: { judged: 'subject', failuresAndRetries: 60, actions: 60 } });
    expect(f!.explanation).toContain('60 failures and retries in 60 calls to `tickets.internal/api/login`');
    expect(f!.explanation).toContain('among 3060 actions in all');
  });

  it('is quiet on a target whose own usual share is as high, and judges a subject only against its own history', () => {
    const flakyTarget = view({ [ticketsKey]: 400, [failuresKey(ticketsKey)]: 380 });
    expect(retryStorm.evaluate(input(tickets, flakyTarget, { window: padded }))).toBeNull();
    // A new identity judged against its peers: their outcome is the group's as a whole, not per target.
    expect(retryStorm.evaluate(input(tickets, view({}, { phase: 'peer' }), { window: padded }))).toBeNull();
  });

  // Review27 H2: ten usual failures of a target failing 80% of the time, with nothing else in the window,
  // were judged against the identity's share as a whole (5.9%) and raised high, the 80% unsaid.
  it('says when a flaky target\'s own usual share covers the failures, and keeps it medium: the burst is in the calls', () => {
    const legacy = action({ kind: 'http', target: 'tickets.internal/api/login', failed: true });
    const flaky = view({ [ticketsKey]: 400, [failuresKey(ticketsKey)]: 320 });
    const storm = outcomes({ [ticketsKey]: [60, 60] });
    const f = retryStorm.evaluate(input(legacy, flaky, { window: storm }));
    expect(f).toMatchObject({ severity: 'medium', details: { judged: 'identity' } });
    expect(f!.explanation).toContain('On `tickets.internal/api/login` alone it is 76%: the burst is in how often it was called.'); // 260 of 340 before the window
    // The same against a target that never fails: a storm of its own, high at 50 and more.
    const g = retryStorm.evaluate(input(legacy, view({ [ticketsKey]: 400 }), { window: storm }));
    expect(g).toMatchObject({ severity: 'high', subject: 'tickets.internal/api/login', details: { judged: 'subject' } });
    expect(g!.explanation).toContain('Its usual share on `tickets.internal/api/login` is 0.0%.');
  });

  // Review27 H1: failures that raised an alert were never learned, but were taken out of the history all the same.
  it('takes out of the usual share only what the baseline learned of the window', () => {
    const flaky = view({ [ticketsKey]: 200, [failuresKey(ticketsKey)]: 20 });
    const unlearned: OutcomeWindow = { ...outcomes({ [ticketsKey]: [50, 50] }), learned: { actions: 5, bad: 5 }, learnedOn: () => ({ actions: 5, bad: 5 }) };
    const f = retryStorm.evaluate(input(action({ kind: 'http', target: 'tickets.internal/api/login', failed: true }), flaky, { window: unlearned }));
    expect(f!.explanation).toContain('Its usual share on `tickets.internal/api/login` is 7.7%'); // 15 of 195 learned before it, not 0 of 150
  });

  it('adds up a loop too slow for the short window in the sustained one', () => {
    const short = outcomes({ [CRM]: [40, 8] });
    const hour = outcomes({ [CRM]: [300, 90] }, 3_600_000);
    expect(retryStorm.evaluate(input(action({ failed: true }), view({}), { window: short }))).toBeNull();
    const f = retryStorm.evaluate(input(action({ failed: true }), view({}), { window: short, sustainedWindow: hour }));
    // 90 in the hour are not "high" (50 are, only within the short window); 30% is not most of what it did.
    expect(f).toMatchObject({ subject: 'crm.search', severity: 'medium', details: { judged: 'subject', windowMs: 3_600_000, failuresAndRetries: 90 } });
  });

  it('keeps model calls out of the judgement by subject (their scope items are the provider host)', () => {
    const model = action({ kind: 'model', target: 'gpt-4o', host: 'api.openai.com', zone: 'external', failed: true });
    expect(subjectKey(model, scopeItems(model))).toBeNull();
    expect(subjectKey(tickets, scopeItems(tickets))).toBe(ticketsKey);
  });
});

describe('lateral_chaining', () => {
  const egress = action({ kind: 'http', target: 'paste.example.com/api', host: 'paste.example.com', zone: 'external', access: 'write' });
  const read = { target: 'secrets.get', time: NOW - 60_000, traceId: 'c'.repeat(32), task: 'c'.repeat(32), spanId: 'd'.repeat(16), stepSpanId: null };

  it('fires on a sensitive read followed by egress in another trace', () => {
    const f = lateralChaining.evaluate(input(egress, view({}), { sensitiveReads: [read] }));
    expect(f).toMatchObject({ subject: 'secrets.get => paste.example.com', severity: 'high' });
    expect(f!.traceIds).toEqual([read.traceId, egress.traceId]);
    expect(f!.explanation).toContain('and 1 minute later sent');
    // Regression (review22 F6): a gap under a minute read "1 minute later".
    for (const [gap, said] of [[50, 'less than a second'], [12_400, '12 seconds']] as const) {
      expect(lateralChaining.evaluate(input(egress, view({}), { sensitiveReads: [{ ...read, time: NOW - gap }] }))!.explanation).toContain(`and ${said} later sent`);
    }
  });

  it('is quiet when the flow is learned', () => {
    const v = view({ [key('flow', flowItem('secrets.get', 'paste.example.com'))]: 3 });
    expect(lateralChaining.evaluate(input(egress, v, { sensitiveReads: [read] }))).toBeNull();
  });

  // Regression (review31 F1): a busy agent's unrelated tasks fall within the window, so the pair is learned
  // across tasks ('xflow'); that excuses it across tasks, never inside one.
  it('a pair met only across tasks excuses a read of another task, not one of the same task', () => {
    const v = view({ [key('xflow', flowItem('secrets.get', 'paste.example.com'))]: 30 });
    expect(lateralChaining.evaluate(input(egress, v, { sensitiveReads: [read] }))).toBeNull();
    const sameTask = { ...read, traceId: egress.traceId, task: egress.traceId };
    expect(lateralChaining.evaluate(input(egress, v, { sensitiveReads: [sameTask] }))).toMatchObject({ severity: 'high', traceIds: [egress.traceId] });
    expect(lateralChaining.evaluate(input(egress, v, { sensitiveReads: [sameTask] }))!.explanation).toContain('(same trace)');
  });

  // One member's word is not the group's: an identity can learn a flow where nobody judges it (new, under a
  // service.name of its own) and join the group with it (review18 F1: it quieted a real member's exfiltration),
  // and two such newcomers made the quorum (review19 F10): only established (mature) members count.
  it('a flow or a transition one peer learned does not quiet it; two established peers do', () => {
    const flow = key('flow', flowItem('secrets.get', 'paste.example.com'));
    const peersKnowing = (n: number, mature = n, size = 10) =>
      view({}, { peers: (k) => (k === flow ? n : 0), maturePeers: (k) => (k === flow ? mature : 0), peerGroupSize: size });
    expect(lateralChaining.evaluate(input(egress, peersKnowing(1), { sensitiveReads: [read] }))).toMatchObject({ severity: 'high' });
    expect(lateralChaining.evaluate(input(egress, peersKnowing(2, 1), { sensitiveReads: [read] }))).toMatchObject({ severity: 'high' });
    expect(lateralChaining.evaluate(input(egress, peersKnowing(2), { sensitiveReads: [read] }))).toBeNull();
    // In a pair, the one other member does not excuse a sensitive flow (it would, a transition).
    expect(lateralChaining.evaluate(input(egress, peersKnowing(1, 1, 2), { sensitiveReads: [read] }))).toMatchObject({ severity: 'high' });

    const step: StepContext = { name: 'tool:tickets.delete', zones: ['internal'], previous: { name: 'tool:crm.search', zones: ['crm'], spanId: 'e'.repeat(16) }, owner: 'spiffe://t/a', within: null };
    const transition = key('transition', transitionItem('tool:crm.search', 'tool:tickets.delete'));
    const known = (n: number, mature = n, size = 10) =>
      view({ [key('from', 'tool:crm.search')]: 200 }, { peers: (k) => (k === transition ? n : 0), maturePeers: (k) => (k === transition ? mature : 0), peerGroupSize: size });
    const del = action({ target: 'tickets.delete', access: 'delete' });
    expect(lateralChaining.evaluate(input(del, known(1), { step }))).not.toBeNull();
    expect(lateralChaining.evaluate(input(del, known(2, 0), { step }))).not.toBeNull();
    expect(lateralChaining.evaluate(input(del, known(2), { step }))).toBeNull();
    expect(lateralChaining.evaluate(input(del, known(1, 1, 2), { step }))).toBeNull();
  });

  // Regression (review19 F13): the quorum made a redeployed instance alert every hour on what its one
  // predecessor (the member that held the role) did; and the explanation said "nor did its peers" anyway.
  it('a new instance may do what any one peer does; for one judged against itself, the note says how many did', () => {
    const flow = key('flow', flowItem('secrets.get', 'paste.example.com'));
    const one = (phase: 'own' | 'peer') => view({}, { phase, peers: (k) => (k === flow ? 1 : 0) });
    expect(lateralChaining.evaluate(input(egress, one('peer'), { sensitiveReads: [read] }))).toBeNull();
    const f = lateralChaining.evaluate(input(egress, one('own'), { sensitiveReads: [read] }))!;
    expect(f.explanation).toContain("and only 1 of its peers (0 of them established) did, not enough to make it the group's");
    expect(lateralChaining.evaluate(input(egress, view({}), { sensitiveReads: [read] }))!.explanation).toContain('nor did its peers');
  });

  it('fires on an unlearned transition after a familiar step that leads to a write', () => {
    const step: StepContext = { name: 'tool:tickets.delete', zones: ['internal'], previous: { name: 'tool:crm.search', zones: ['crm'], spanId: 'e'.repeat(16) }, owner: 'spiffe://t/a', within: null };
    const v = view({ [key('from', 'tool:crm.search')]: 200 });
    const f = lateralChaining.evaluate(input(action({ target: 'tickets.delete', access: 'delete' }), v, { step }));
    expect(f).toMatchObject({ subject: transitionItem('tool:crm.search', 'tool:tickets.delete'), severity: 'medium' });
  });

  // Regression (review22 F1): a step used 300 times, always last in its trace, was "unfamiliar" (never
  // followed by another), so the first chain out of it into a write raised nothing.
  it('fires after a step used often and always last in its trace; is quiet after one used a few times', () => {
    const step: StepContext = { name: 'tool:tickets.comment', zones: [], previous: { name: 'tool:kb.search', zones: [], spanId: 'e'.repeat(16) }, owner: 'spiffe://t/a', within: null };
    const a = action({ target: 'tickets.comment', access: 'write' });
    const f = lateralChaining.evaluate(input(a, view({ [key('tool', 'kb.search')]: 300 }), { step }));
    expect(f).toMatchObject({ subject: transitionItem('tool:kb.search', 'tool:tickets.comment'), severity: 'medium' });
    expect(f!.explanation).toContain('After `tool:kb.search` (seen 300 times, counting recent uses more: each halves in weight every 14 days) it never did this');
    expect(lateralChaining.evaluate(input(a, view({ [key('tool', 'kb.search')]: 5 }), { step }))).toBeNull();
  });

  it('is quiet after an unfamiliar step, on a repeated step, and on a learned transition', () => {
    const step: StepContext = { name: 'tool:tickets.delete', zones: ['internal'], previous: { name: 'tool:crm.search', zones: ['crm'], spanId: 'e'.repeat(16) }, owner: 'spiffe://t/a', within: null };
    const a = action({ target: 'tickets.delete', access: 'delete' });
    expect(lateralChaining.evaluate(input(a, view({ [key('from', 'tool:crm.search')]: 3 }), { step }))).toBeNull();
    const learned = view({ [key('from', 'tool:crm.search')]: 200, [key('transition', transitionItem('tool:crm.search', 'tool:tickets.delete'))]: 2 });
    expect(lateralChaining.evaluate(input(a, learned, { step }))).toBeNull();
    const repeat = { ...step, previous: { ...step.previous!, name: 'tool:tickets.delete' } };
    expect(lateralChaining.evaluate(input(a, view({ [key('from', 'tool:tickets.delete')]: 200 }), { step: repeat }))).toBeNull();
  });

  describe('a new identity, judged against its peers', () => {
    const step: StepContext = { name: 'tool:tickets.update', zones: [], previous: { name: 'tool:kb.semantic_search', zones: [], spanId: 'e'.repeat(16) }, owner: 'spiffe://t/a', within: null };
    const a = action({ target: 'tickets.update', access: 'write' });
    const from = key('from', 'tool:kb.semantic_search');
    const peerView = (firstUses: number[]) =>
      view({}, {
        phase: 'peer',
        peers: (k) => (k === from ? firstUses.length : 0),
        adopters: (k, lo, hi) => (k === from ? firstUses.filter((t) => t >= lo && t <= hi).length : 0),
      });

    it('fires after a step its peers have long known', () => {
      const f = lateralChaining.evaluate(input(a, peerView([NOW - 30 * 86_400_000, NOW - 600_000]), { step }));
      expect(f).toMatchObject({ subject: transitionItem('tool:kb.semantic_search', 'tool:tickets.update') });
    });

    it('is quiet after a step its peers only adopted within the rollout window, even "after" now by their clocks', () => {
      expect(lateralChaining.evaluate(input(a, peerView([NOW - 600_000, NOW + 4_000]), { step }))).toBeNull();
    });
  });
});

describe('details.allow', () => {
  const egress = action({ kind: 'http', target: 'paste.example.com/api', host: 'paste.example.com', zone: 'external', access: 'write' });
  const read = { target: 'secrets.get', time: NOW - 60_000, traceId: 'c'.repeat(32), task: 'c'.repeat(32), spanId: 'd'.repeat(16), stepSpanId: null };
  const step: StepContext = { name: 'tool:tickets.delete', zones: ['internal'], previous: { name: 'tool:crm.search', zones: ['crm'], spanId: 'e'.repeat(16) }, owner: 'spiffe://t/a', within: null };
  const familiar = { [key('from', 'tool:crm.search')]: 200 };
  const cases: Array<[string, (v: BaselineView) => Finding | null, Record<string, number>]> = [
    ['unexpected_write', (v) => unexpectedWrite.evaluate(input(action({ access: 'delete' }), v)), { [key('access', accessItem('crm.search', 'read'))]: 420 }],
    ['lateral_chaining (transition)', (v) => lateralChaining.evaluate(input(action({ target: 'tickets.delete', access: 'delete' }), v, { step })), familiar],
    ['lateral_chaining (flow)', (v) => lateralChaining.evaluate(input(egress, v, { sensitiveReads: [read] })), {}],
  ];

  it.each(cases)('%s names the item an operator allows to quiet it, in a form the allow API takes', (_name, evaluate, baseline) => {
    const f = evaluate(view(baseline));
    const allow = f!.details.allow as Array<{ dimension: string; item: string }>;
    expect(parseAllow({ items: allow })).toEqual(allow);
    const allowed = Object.fromEntries(allow.map((a) => [key(a.dimension as Dimension, a.item), 1]));
    expect(evaluate(view({ ...baseline, ...allowed }))).toBeNull();
  });
});
