/**
 * Ways around the detectors a compromised agent could take, each closed: backdating an action (or a
 * retry storm) past `time.lateness`, hiding a secret read behind a learned flow read just before the egress, and running
 * the exfiltration through a delegated callee (another identity, with or without a baseline of its own).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { action as act, engineHarness, type EngineHarness } from './harness.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const config = configSchema.parse({ zones: { secrets: ['vault.*'], internal: ['*.internal'] }, sensitive: { zones: ['secrets'] } });
const hex = (n: number, len: number) => n.toString(16).padStart(len, '0');

let h: EngineHarness;
beforeEach(() => {
  h = engineHarness(config, () => T0);
});
afterEach(() => h.close());
const feed: EngineHarness['feed'] = (actions) => h.feed(actions);

/** 30 hours of crm.search calls, 320 actions: judged against itself afterwards. Returns the next time. */
function learnSearch(identity: string, peerGroup = 'agents'): number {
  let t = T0;
  for (let i = 0; i < 320; i++, t += 6 * MIN) feed([act({ identity, peerGroup, time: t })]);
  return t;
}

const summary = () => h.alerts.map((a) => `${a.detector} ${a.identity} ${a.evidence.subject}`);

it('an action backdated past time.lateness is judged, and what it raised is not learned', () => {
  const t = learnSearch('agent-a');
  feed([act({ identity: 'agent-a', time: t + 10 * MIN })]);
  // Starts 10 minutes before the identity's latest action: late by twice the 5 minute lateness.
  feed([act({ identity: 'agent-a', time: t, target: 'shell.exec', access: 'execute' })]);
  expect(h.engine.late).toBe(1);
  expect(summary()).toEqual(['unexpected_write agent-a shell.exec|execute']);
  h.engine.finish(); // the new tool was held for a possible rollout; none came
  expect(summary()).toContain('scope_drift agent-a tool:shell.exec');
  expect(h.engine.baselines.peek('agent-a')!.counters.has('tool\u0000shell.exec')).toBe(false);
});

// Regression (review18 F3): late actions skipped retry_storm, so a storm backdated past time.lateness was
// never judged, and its failures were learned into the usual share that hides the next one.
it('a retry storm backdated past time.lateness is judged in its own event time, and not learned', () => {
  const t = learnSearch('agent-s');
  feed([act({ identity: 'agent-s', time: t + 10 * MIN })]);
  const usualBad = h.engine.baselines.peek('agent-s')!.outcome.bad.c;
  // 40 failed logins, 6 to 10 minutes behind the identity's latest action.
  for (let i = 0; i < 40; i++) feed([act({ identity: 'agent-s', time: t + i * 6_000, target: 'sso.login', failed: true })]);
  expect(h.engine.late).toBe(40);
  expect(summary()).toContain('retry_storm agent-s sso.login');
  // Its first failures, below the storm's minimum, were learned as any in-order ones are; the storm's were not.
  expect(h.engine.baselines.peek('agent-s')!.outcome.bad.c - usualBad).toBeLessThan(12);
});

// Regression (review19 F11): the late window slid with the last late action, so one later late call between
// the storm's failures flushed it each time.
it('a backdated retry storm interleaved with later late calls is still judged', () => {
  const t = learnSearch('agent-i');
  feed([act({ identity: 'agent-i', time: t + 2 * HOUR })]);
  for (let i = 0; i < 40; i++) {
    feed([act({ identity: 'agent-i', time: t + i * 6_000, target: 'sso.login', failed: true })]);
    feed([act({ identity: 'agent-i', time: t + 40 * MIN + i * 1000 })]); // late too, 40 minutes after the storm
  }
  expect(h.engine.late).toBe(80);
  expect(summary()).toContain('retry_storm agent-i sso.login');
});

describe('sensitive read, then egress', () => {
  const IDENTITY = 'mailer';
  const vault = (time: number, traceId: string) =>
    act({ identity: IDENTITY, time, traceId, kind: 'http', target: 'vault.corp/v1/secret/data/{id}', host: 'vault.corp', zone: 'secrets', sensitive: true });
  const crm = (time: number, traceId: string) =>
    act({ identity: IDENTITY, time, traceId, kind: 'db', target: 'postgresql/crm/customers', host: 'db.internal', zone: 'internal', sensitive: true });
  const mail = (time: number, traceId: string) =>
    act({ identity: IDENTITY, time, traceId, kind: 'http', target: 'api.sendgrid.com/v3/mail/send', host: 'api.sendgrid.com', zone: 'external', access: 'write' });

  /** 33 hours: reads a secret on its own, and mails what it read from the CRM (a learned flow). */
  function learnMailer(): number {
    let t = T0;
    for (let i = 0; i < 80; i++, t += 25 * MIN) {
      feed([vault(t, hex(800_000 + i, 32)), act({ identity: IDENTITY, time: t + 1000 }), act({ identity: IDENTITY, time: t + 2000 })]);
      const trace = hex(900_000 + i, 32);
      feed([crm(t + 12 * MIN, trace), mail(t + 12 * MIN + 1000, trace)]);
    }
    // While it learned (its own group of one, not judged yet), only the flow's first time was recorded, at low.
    expect(h.alerts.map((a) => [a.severity, a.evidence.subject, a.evidence.learning])).toEqual([['low', 'postgresql/crm/customers => api.sendgrid.com', true]]);
    h.alerts.length = 0;
    return t;
  }

  it('a learned flow read last does not cover a secret read before it', () => {
    const t = learnMailer();
    const trace = hex(999_999, 32);
    feed([vault(t, trace), crm(t + 1000, trace), mail(t + 2000, trace)]);
    const lateral = h.alerts.filter((a) => a.detector === 'lateral_chaining');
    // The chain into the CRM is new as well: the secret read, 80 times before, was always alone in its trace.
    expect(lateral.map((a) => a.evidence.subject)).toEqual(['http:vault.corp/v1/secret/data/{id} -> db:postgresql/crm/customers', 'vault.corp/v1/secret/data/{id} => api.sendgrid.com']);
    expect(h.engine.baselines.peek(IDENTITY)!.counters.has('flow\u0000vault.corp/v1/secret/data/{id} => api.sendgrid.com')).toBe(false);
  });

  it('the learned flow alone stays quiet', () => {
    const t = learnMailer();
    const trace = hex(999_999, 32);
    feed([crm(t, trace), mail(t + 1000, trace)]);
    expect(h.alerts).toEqual([]);
  });

  // Regression (review31 F4): the window applied within a trace too, so a session that waited 11 minutes
  // between the read and the egress sent the secret unseen. CONTRACT §4: within a trace, no window.
  it('a secret read and sent in one trace is raised however long apart', () => {
    const t = learnMailer();
    const trace = hex(999_999, 32);
    feed([vault(t, trace), act({ identity: IDENTITY, time: t + 1000, traceId: trace })]);
    feed([mail(t + 60 * MIN, trace)]);
    expect(summary()).toEqual([`lateral_chaining ${IDENTITY} vault.corp/v1/secret/data/{id} => api.sendgrid.com`]);
    expect(h.alerts[0].explanation).toContain('(same trace)');
  });

  // Regression (review31 F5): 32 reads were kept in arrival order, so re-reading one routinely read source
  // (whose flow is learned) 33 times pushed the secret read out before the egress.
  it('re-reading a learned source does not push a secret read out', () => {
    const t = learnMailer();
    feed([vault(t, hex(999_990, 32))]);
    for (let i = 0; i < 40; i++) feed([crm(t + 1000 + i * 2000, hex(990_000 + i, 32))]);
    const trace = hex(999_999, 32);
    feed([crm(t + 2 * MIN, trace), mail(t + 2 * MIN + 1000, trace)]);
    expect(summary()).toEqual([`lateral_chaining ${IDENTITY} vault.corp/v1/secret/data/{id} => api.sendgrid.com`]);
    expect(h.alerts[0].explanation).toContain('(another of its traces)');
  });
});

// Regression (review31 F1): a read in one trace and an egress in another within the window were learned as
// the flow itself, so an agent busy enough that unrelated tasks fell within the window learned every
// (sensitive source -> external host) pair, and a customer record sent out within one task raised nothing.
describe('sensitive flows met only across tasks', () => {
  const IDENTITY = 'support';
  const lookup = (time: number, traceId: string) =>
    act({ identity: IDENTITY, time, traceId, target: 'crm.lookup', sensitive: true });
  const post = (time: number, traceId: string) =>
    act({ identity: IDENTITY, time, traceId, kind: 'http', target: 'hooks.slack.com/services/{id}', host: 'hooks.slack.com', zone: 'external', access: 'write' });

  /** 33 hours of tasks 5 minutes apart: a customer lookup in one, a Slack post in the next, never both in one. */
  function learnBusy(): number {
    let t = T0;
    for (let i = 0; i < 200; i++, t += 10 * MIN) {
      feed([lookup(t, hex(100_000 + i, 32))]);
      feed([post(t + 5 * MIN, hex(200_000 + i, 32))]);
    }
    // Not judged yet while it learned: only the flow's first time was recorded, at low.
    expect(h.alerts.map((a) => [a.severity, a.evidence.subject, a.evidence.learning])).toEqual([['low', 'crm.lookup => hooks.slack.com', true]]);
    h.alerts.length = 0;
    const counters = h.engine.baselines.peek(IDENTITY)!.counters;
    expect(counters.has('xflow\u0000crm.lookup => hooks.slack.com')).toBe(true);
    expect(counters.has('flow\u0000crm.lookup => hooks.slack.com')).toBe(false);
    return t;
  }

  it('stay quiet across tasks, and are raised within one', () => {
    const t = learnBusy();
    feed([lookup(t, hex(300_000, 32))]);
    feed([post(t + 5 * MIN, hex(300_001, 32))]);
    expect(h.alerts).toEqual([]);
    const trace = hex(300_002, 32);
    feed([lookup(t + 20 * MIN, trace), post(t + 20 * MIN + 2000, trace)]);
    expect(summary()).toEqual([`lateral_chaining ${IDENTITY} crm.lookup => hooks.slack.com`]);
    expect(h.alerts[0].severity).toBe('high');
  });
});

describe('a chain through a delegated callee', () => {
  /** The orchestrator reads a secret and hands the egress to an MCP server holding its own lease. */
  function exfiltrateVia(callee: string, at: number): void {
    const traceId = hex(777_777, 32);
    feed([
      act({ identity: 'orchestrator', peerGroup: 'orchestrators', time: at, target: 'vault.read', sensitive: true, traceId }),
      act({
        identity: callee,
        peerGroup: 'mcp-servers',
        caller: 'orchestrator',
        time: at + 1000,
        kind: 'http',
        target: 'paste.example/upload',
        host: 'paste.example',
        zone: 'external',
        access: 'write',
        traceId,
        credential: { id: 'lease-of-the-mcp-server', type: 'vault_lease' },
      }),
    ]);
  }

  it('is the caller\'s alert: its peer group, both names, and not the callee\'s credential', () => {
    learnSearch('orchestrator', 'orchestrators');
    const t = learnSearch('mcp-server', 'mcp-servers');
    exfiltrateVia('mcp-server', t);
    const lateral = h.alerts.filter((a) => a.detector === 'lateral_chaining');
    expect(lateral).toHaveLength(1);
    expect(lateral[0].identity).toBe('orchestrator');
    expect(lateral[0].peerGroup).toBe('orchestrators');
    expect(lateral[0].evidence.credential).toBeUndefined();
    expect(lateral[0].explanation).toMatch(/^In a task of orchestrator, sensitive `vault.read` was read and .* later mcp-server sent to external host `paste.example`/);
  });

  it('is judged when the callee has no baseline of its own yet', () => {
    const t = learnSearch('orchestrator', 'orchestrators');
    exfiltrateVia('fresh-mcp-server', t);
    expect(summary()).toContain('lateral_chaining orchestrator vault.read => paste.example');
  });
});

/** A GET by `identity` to an external host. */
const get = (identity: string, time: number, host: string) => act({ identity, time, kind: 'http', target: `${host}/v1/items`, host, zone: 'external' });

/** Six instances, a1 to a6: 30 hours of a tool call and a GET to the partner API every 12 minutes. Returns the next time. */
function learnFleet(): number {
  let t = T0;
  for (let i = 0; i < 160; i++, t += 12 * MIN) feed(['a1', 'a2', 'a3', 'a4', 'a5', 'a6'].flatMap((id) => [act({ identity: id, time: t }), get(id, t + 1000, 'api.partner.com')]));
  return t;
}

it('a new external host adopted by several instances at once is learned as a rollout, but not silently', () => {
  const t = learnFleet();
  expect(h.alerts).toEqual([]);

  // The same injected instruction reaches three instances within minutes: enough peers for a rollout.
  // The first two were held for one; the third found it under way. Each is raised, at low: the list
  // of instances a new external destination reached is what an analyst needs.
  feed(['a1', 'a2', 'a3'].map((id, i) => get(id, t + i * 5 * MIN, 'evil.example')));
  h.engine.finish();
  const drift = h.alerts.filter((a) => a.detector === 'scope_drift');
  expect(drift.map((a) => [a.identity, a.severity, a.evidence.subject])).toEqual([
    ['a3', 'low', 'host:evil.example'],
    ['a1', 'low', 'host:evil.example'],
    ['a2', 'low', 'host:evil.example'],
  ]);
  expect(drift[0].explanation).toMatch(/2 other identities of its peer group started using it within 24 hours \(a rollout\)/);
  // Learned all the same: using it again raises nothing more.
  feed(['a1', 'a2', 'a3'].map((id, i) => get(id, t + 2 * HOUR + i * MIN, 'evil.example')));
  expect(h.alerts.filter((a) => a.detector === 'scope_drift')).toHaveLength(3);
  expect(drift[1].explanation).toMatch(/2 other identities of its peer group started using it within the hold/);
});

// Review34 E5: a poisoned article made three instances call an internal admin API: silently learned.
it('a new internal host adopted by several instances at once is on record too, at low', () => {
  const t = learnFleet();
  feed(['a1', 'a2', 'a3'].map((id, i) => act({ identity: id, time: t + i * 5 * MIN, kind: 'http', target: 'admin.internal/api/users/export', host: 'admin.internal', zone: null })));
  h.engine.finish();
  const drift = h.alerts.filter((a) => a.detector === 'scope_drift');
  expect(drift.map((a) => [a.identity, a.severity, a.evidence.subject]).sort()).toEqual([
    ['a1', 'low', 'host:admin.internal'],
    ['a2', 'low', 'host:admin.internal'],
    ['a3', 'low', 'host:admin.internal'],
  ]);
});

// Regression (review19 F14): an instance that used the new host again during its hold, once the rollout was
// under way, learned it from that use; at the end of the hold "it knows the item now" read as an operator's
// allow, and its held alert was dropped. Only the first instance an injection reached then had none.
it('a new external host: an instance that used it again during its hold is still on record; an operator allow drops its hold', () => {
  const t = learnFleet();
  feed(['a1', 'a2', 'a3'].map((id, i) => get(id, t + i * 5 * MIN, 'evil.example')));
  feed(['a1', 'a2'].map((id, i) => get(id, t + 20 * MIN + i * MIN, 'evil.example'))); // again, within their holds
  // a4 is held for another new host (and its target), which an operator then allows.
  feed([get('a4', t + 21 * MIN, 'eu.partner.com')]);
  expect(h.operator.allow('a4', [{ dimension: 'host', item: 'eu.partner.com' }, { dimension: 'target', item: 'eu.partner.com/v1/items' }])).toBe(true);
  h.engine.finish();
  const drift = h.alerts.filter((a) => a.detector === 'scope_drift').map((a) => [a.identity, a.severity, a.evidence.subject, a.count]);
  expect(drift).toEqual([
    ['a3', 'low', 'host:evil.example', 1],
    ['a1', 'low', 'host:evil.example', 2],
    ['a2', 'low', 'host:evil.example', 2],
  ]);
});

// Regression (review20 F17): findings fold per identity, detector and subject, so a mild one muted a severe one
// on the same subject for the whole suppression window: a write, then a delete on the same tool, stayed one
// alert at the write's severity, and the webhooks and revocation rules waiting for the severe never saw it.
it('a more severe finding on a subject a milder alert holds is raised as an alert of its own; milder repeats still fold', () => {
  const t = learnSearch('agent-w');
  feed([act({ identity: 'agent-w', time: t, access: 'write' })]);
  feed([act({ identity: 'agent-w', time: t + 5 * MIN, access: 'delete' })]);
  feed([act({ identity: 'agent-w', time: t + 6 * MIN, access: 'write' })]);
  const writes = h.alerts.filter((a) => a.detector === 'unexpected_write');
  expect(writes.map((a) => [a.severity, a.title, a.count])).toEqual([
    ['high', 'Unexpected write on crm.search', 2], // the write after the delete folds into the write's alert (review27 M9)
    ['critical', 'Unexpected delete on crm.search', 1],
  ]);
  expect(writes.map((a) => a.evidence.subject)).toEqual(['crm.search|write', 'crm.search|delete']);
});

// Regression (review20 F19): the class another identity's span gave a tool was charged to the tool's identity
// as its own doing, and its credential revoked for it.
it("a tool's write made by the service serving it is raised on the tool, naming the service, with no credential to revoke", () => {
  const t = learnSearch('agent-r');
  feed([act({ identity: 'agent-r', time: t, access: 'delete', accessBy: 'tickets-svc', credential: { id: 'tok-r', type: 'oauth_jti' } })]);
  feed([act({ identity: 'agent-r', time: t + MIN, target: 'crm.update', access: 'write', credential: { id: 'tok-r', type: 'oauth_jti' } })]);
  const writes = h.alerts.filter((a) => a.detector === 'unexpected_write');
  expect(writes.map((a) => [a.evidence.subject, a.evidence.accessBy, a.evidence.credential])).toEqual([
    ['crm.search|delete', 'tickets-svc', undefined],
    ['crm.update|write', undefined, { id: 'tok-r', type: 'oauth_jti' }], // its own write still names its credential
  ]);
  expect(writes[0].explanation).toMatch(/^agent-r's `crm.search` led to a delete by tickets-svc, which served it\./);
});
