/**
 * Repeats of an alert that carry another credential (an agent refreshing its token, replicas taking
 * turns): a credential a rule would revoke and nothing covers yet gets an alert of its own, so it is
 * revoked too; everything else folds. Also for findings waiting to be raised (held for a rollout, or kept
 * while the store refused writes). The broker is a real HTTP receiver verified with `standardwebhooks`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/daemon.js';
import { BROKER_SECRET, raise, report } from '../sinks/fixtures.js';
import { verifyStandardWebhook } from '../sinks/receivers.js';
import { closedAfterEachTest, hookBroker, sleep } from './helpers.js';

const { broker, daemon } = closedAfterEachTest();

describe('revocation engine: repeats with another credential', () => {
  it('a repeat with a new credential (a refreshed token) is an alert of its own, so that credential is revoked too', async () => {
    const b = await broker(() => ({ status: 204 }));
    const t = await daemon({ mode: 'enforce', rules: [{ minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(b)] });
    const subject = 'reports.purge|delete|refreshed';
    const jti = (n: number) => ({ id: `jti-${n}`, type: 'oauth_jti' });
    const first = raise(t.daemon, { subject, credential: jti(0) });
    const second = raise(t.daemon, { subject, credential: jti(1) });
    raise(t.daemon, { subject, credential: jti(1) }); // the same token again: folded into the second alert
    const third = raise(t.daemon, { subject, credential: jti(2) });
    expect(new Set([first.id, second.id, third.id]).size).toBe(3);
    expect([first, second, third].map((a) => a.response?.revocationId)).toEqual([expect.any(String), expect.any(String), expect.any(String)]);
    await waitFor(() => b.received.length === 3, 'three revocations');
    expect(b.received.map((r) => verifyStandardWebhook(BROKER_SECRET, r).data.credentialId).sort()).toEqual(['jti-0', 'jti-1', 'jti-2']);
    t.daemon.alerts.flush();
    const counts = t.daemon.db.prepare('SELECT id, count FROM alerts WHERE subject = ? ORDER BY seq').all(subject);
    expect(counts).toEqual([{ id: first.id, count: 1 }, { id: second.id, count: 2 }, { id: third.id, count: 1 }]);
  });

  // Regression: a finding waiting to be raised (held for a rollout, or kept while the store refused
  // writes) folded every repeat, so a token the agent refreshed meanwhile was never revoked.
  it.each(['held for a rollout', 'kept while the store refused writes'] as const)(
    'a finding %s: the credentials its repeats carried are revoked once it is raised',
    async (waiting) => {
      const b = await broker(() => ({ status: 204 }));
      const t = await daemon({ mode: 'enforce', rules: [{ minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(b)] });
      const subject = `reports.purge|delete|waiting-${waiting.split(' ')[0]}`;
      const jti = (n: number) => ({ id: `jti-${n}`, type: 'oauth_jti' });
      const holdUntil = waiting === 'held for a rollout' ? Date.now() : undefined;
      const refuse = () => t.daemon.db.exec(`CREATE TRIGGER full BEFORE INSERT ON alerts BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
      if (holdUntil === undefined) refuse();
      for (const n of [0, 1, 1, 2, 0]) report(t.daemon, { subject, credential: jti(n), holdUntil });
      expect(t.daemon.db.prepare('SELECT count(*) FROM alerts WHERE subject = ?').pluck().get(subject)).toBe(0);

      if (holdUntil === undefined) {
        t.daemon.db.exec('DROP TRIGGER full');
        t.daemon.alerts.storePending();
      } else {
        const [held] = t.daemon.alerts.dueHeld(holdUntil);
        t.daemon.alerts.release(held, held);
      }
      await waitFor(() => b.received.length === 3, 'three revocations');
      expect(b.received.map((r) => verifyStandardWebhook(BROKER_SECRET, r).data.credentialId).sort()).toEqual(['jti-0', 'jti-1', 'jti-2']);
      // Stored in one transaction, each revocation is still announced (the websocket's revocation frames).
      await waitFor(() => new Set(t.announced.map((r) => r.credentialId)).size === 3, 'the three revocations announced');
      t.daemon.alerts.flush();
      // Every use is counted once, on the alert of its credential: jti-0 twice, jti-1 twice, jti-2 once.
      const alerts = t.daemon.db.prepare('SELECT body FROM alerts WHERE subject = ? ORDER BY seq').pluck().all(subject) as string[];
      expect(alerts.map((body) => JSON.parse(body) as { count: number; response: { revocationId: string } }).map((a) => [a.count, typeof a.response.revocationId])).toEqual([
        [2, 'string'],
        [2, 'string'],
        [1, 'string'],
      ]);
    },
  );

  it('a held finding in dry_run: one alert, announced with every repeat counted, whatever credential each carried', async () => {
    const t = await daemon({ mode: 'dry_run', rules: [{ minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(await broker())] });
    const subject = 'reports.purge|delete|waiting-dry-run';
    const holdUntil = Date.now();
    for (const n of [0, 1, 1, 2, 0]) report(t.daemon, { subject, credential: { id: `jti-${n}`, type: 'oauth_jti' }, holdUntil });
    const announced: number[] = [];
    t.daemon.alerts.subscribe((e) => e.type === 'alert' && announced.push(e.alert.count));
    const [held] = t.daemon.alerts.dueHeld(holdUntil);
    t.daemon.alerts.release(held, held);
    expect(announced).toEqual([5]);
    expect(t.daemon.db.prepare('SELECT count FROM alerts WHERE subject = ?').pluck().all(subject)).toEqual([5]);
  });

  it('the other credentials of a held finding survive a restart, and are revoked when it is raised', async () => {
    const b = await broker(() => ({ status: 204 }));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-held-'));
    const revocation = { mode: 'enforce', rules: [{ minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(b)] };
    const subject = 'reports.purge|delete|waiting-restart';
    const holdUntil = Date.now();
    const first = await daemon(revocation, {}, dir);
    for (const n of [0, 1]) report(first.daemon, { subject, credential: { id: `jti-${n}`, type: 'oauth_jti' }, holdUntil });
    first.daemon.alerts.flush(); // what the group commit does: the repeat is in the held row
    await first.close();
    const t = await daemon(revocation, {}, dir);
    const [held] = t.daemon.alerts.dueHeld(holdUntil);
    t.daemon.alerts.release(held, held);
    await waitFor(() => b.received.length === 2, 'two revocations');
    expect(b.received.map((r) => verifyStandardWebhook(BROKER_SECRET, r).data.credentialId).sort()).toEqual(['jti-0', 'jti-1']);
  });

  it('a held finding dropped as a rollout raises nothing for the other credentials its repeats carried', async () => {
    const b = await broker(() => ({ status: 204 }));
    const t = await daemon({ mode: 'enforce', rules: [{ minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(b)] });
    const subject = 'reports.purge|delete|rollout';
    const holdUntil = Date.now();
    for (const n of [0, 1]) report(t.daemon, { subject, credential: { id: `jti-${n}`, type: 'oauth_jti' }, holdUntil });
    const [held] = t.daemon.alerts.dueHeld(holdUntil);
    t.daemon.alerts.release(held, null);
    await sleep(300);
    expect(t.daemon.db.prepare('SELECT count(*) FROM alerts WHERE subject = ?').pluck().get(subject)).toBe(0);
    expect(b.received).toHaveLength(0);
  });

  it('a held finding lowered when its hold ends: its other credentials are judged at the lowered severity, and fold', async () => {
    const b = await broker(() => ({ status: 204 }));
    const t = await daemon({ mode: 'enforce', rules: [{ minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(b)] });
    const subject = 'reports.purge|delete|lowered';
    const holdUntil = Date.now();
    for (const n of [0, 1]) report(t.daemon, { subject, credential: { id: `jti-${n}`, type: 'oauth_jti' }, holdUntil });
    const [held] = t.daemon.alerts.dueHeld(holdUntil);
    t.daemon.alerts.release(held, { ...held, finding: { ...held.finding, severity: 'low' } });
    t.daemon.alerts.flush();
    await sleep(300);
    const rows = t.daemon.db.prepare('SELECT severity, count FROM alerts WHERE subject = ?').all(subject);
    expect(rows).toEqual([{ severity: 'low', count: 2 }]);
    expect(b.received).toHaveLength(0);
  });

  it('replicas taking turns with credentials already revoked fold: only a credential not yet covered splits', async () => {
    const b = await broker(() => ({ status: 204 }));
    const t = await daemon({ mode: 'enforce', rules: [{ minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(b)] });
    const subject = 'reports.purge|delete|replicas';
    const replica = (n: number) => ({ id: `replica-${n}`, type: 'oauth_jti' });
    const first = raise(t.daemon, { subject, credential: replica(0) });
    const second = raise(t.daemon, { subject, credential: replica(1) });
    for (let i = 0; i < 6; i++) raise(t.daemon, { subject, credential: replica(i % 2) });
    await waitFor(() => b.received.length === 2, 'two revocations');
    t.daemon.alerts.flush();
    const counts = t.daemon.db.prepare('SELECT id, count FROM alerts WHERE subject = ? ORDER BY seq').all(subject);
    expect(counts).toEqual([{ id: first.id, count: 1 }, { id: second.id, count: 7 }]);
  });

  it('in dry_run, repeats fold whatever credential they carry: nothing would be sent for a new one', async () => {
    const t = await daemon({ mode: 'dry_run', rules: [{ minSeverity: 'high', broker: 'hook' }], brokers: [hookBroker(await broker())] });
    const subject = 'reports.purge|delete|dry-run';
    const first = raise(t.daemon, { subject, credential: { id: 'jti-x', type: 'oauth_jti' } });
    raise(t.daemon, { subject, credential: { id: 'jti-y', type: 'oauth_jti' } });
    expect(first.response).toMatchObject({ mode: 'dry_run' });
    t.daemon.alerts.flush();
    expect(t.daemon.db.prepare('SELECT count FROM alerts WHERE subject = ?').pluck().all(subject)).toEqual([2]);
  });

  it('without a matching rule, repeats fold whatever credential they carry', async () => {
    const t = await daemon({ mode: 'enforce', rules: [{ minSeverity: 'critical', broker: 'hook' }], brokers: [hookBroker(await broker())] });
    const subject = 'reports.purge|delete|no-rule';
    const first = raise(t.daemon, { subject, credential: { id: 'jti-a', type: 'oauth_jti' } });
    raise(t.daemon, { subject, credential: { id: 'jti-b', type: 'oauth_jti' } });
    expect(first.response).toBeUndefined();
    t.daemon.alerts.flush();
    expect(t.daemon.db.prepare('SELECT count FROM alerts WHERE subject = ?').pluck().all(subject)).toEqual([2]);
  });
});
