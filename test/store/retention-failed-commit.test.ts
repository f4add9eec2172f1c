/**
 * `alerts.retention` when the group commit that deleted expired alerts fails (disk full on a later write
 * of the same transaction): the deletion rolls back, and the next commit that succeeds deletes them, with
 * the webhook deliveries still owed for them and the settled revocations as old (a
 * sweep counts as done only once committed; it used to wait another retention / 24 of event time, 15
 * days at 365d). Wired as in src/main.ts (Retention, then the detection engine, in one transaction),
 * over a real SQLite file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { AlertManager } from '../../src/alerts/manager.js';
import { configSchema } from '../../src/config/schema.js';
import { DetectionEngine } from '../../src/detect/engine.js';
import { createMetrics } from '../../src/metrics.js';
import { openDatabase } from '../../src/store/database.js';
import { IdentityStore } from '../../src/store/identities.js';
import { settledRevocationsSweep } from '../../src/revocation/store.js';
import { Retention } from '../../src/store/retention.js';
import { action } from '../detectors/harness.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

it('alerts past alerts.retention are deleted by the next commit that succeeds after one that failed', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-retention-'));
  dirs.push(dir);
  const db = openDatabase(path.join(dir, 'vigil.db'));
  try {
    const config = configSchema.parse({});
    const identities = new IdentityStore(db, 100);
    const alerts = new AlertManager(db, config, createMetrics(), () => T0, () => identities.newest);
    const engine = new DetectionEngine(db, config, alerts, () => T0);
    let deleted = 0;
    const retention = new Retention({
      identities, now: () => identities.newest, forgetIdleAfter: config.baselines.forgetIdleAfter, maxIdentities: config.baselines.maxIdentities, forget: (id) => engine.forget(id),
      alerts, alertRetention: config.alerts.retention, settledRevocations: settledRevocationsSweep(db), onAlertsDeleted: (n) => (deleted += n),
    });
    const stages = [retention, engine];
    const commit = () => {
      let ok = false;
      try {
        for (const s of stages) s.beforeCommit();
        db.transaction(() => {
          identities.flush();
          for (const s of stages) s.commit(false);
        })();
        ok = true;
      } catch {
        // refused: as Pipeline.commit, what was to be written stays for the next commit
      } finally {
        identities.afterCommit(ok);
        for (const s of stages) s.afterCommit(ok);
      }
      return ok;
    };
    // An alert of T0, and (400 days later) an action: the alert is past the 365-day retention.
    db.prepare("INSERT INTO alerts (id, detector, severity, identity, subject, event_time, retain_from, count, body) VALUES ('a1', 'scope_drift', 'high', 'agent', 's', ?, ?, 1, '{}')").run(T0, T0);
    // Owed to an endpoint that never answers, and delivered to another: both go with the alert (review29 #4).
    const outbox = db.prepare("INSERT INTO webhook_outbox (endpoint, msg_id, body, next_at, created_at, delivered_at) VALUES (?, 'a1', '{}', ?, ?, ?)");
    outbox.run('http://down.example/hook', T0, T0, null);
    outbox.run('http://up.example/hook', T0, T0, T0);
    // A revocation settled at T0, with its attempt, goes after the retention too; a pending one stays (review29 #3).
    const revocation = db.prepare(
      "INSERT INTO revocations (id, cred_key, alert_id, identity, broker, mode, status, reason, detector, severity, cause, created_at, at) VALUES (?, ?, 'a1', 'agent', 'b', 'enforce', ?, '', 'scope_drift', 'high', 't', ?, ?)",
    );
    revocation.run('rv_settled', 'k1', 'succeeded', T0, T0);
    revocation.run('rv_pending', 'k2', 'pending', T0, T0);
    db.prepare("INSERT INTO revocation_attempts (revocation_id, attempt, at, outcome) VALUES ('rv_settled', 1, ?, 'succeeded')").run(T0);
    const a = action({ identity: 'agent', time: T0 + 400 * DAY });
    identities.record(a);
    engine.process([a]);

    // The store is full when the engine's checkpoint writes the new baseline: the commit rolls back.
    db.exec(`CREATE TRIGGER full BEFORE INSERT ON identity_baselines BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
    expect(commit()).toBe(false);
    expect(db.prepare('SELECT count(*) FROM alerts').pluck().get()).toBe(1);
    db.exec('DROP TRIGGER full');

    // The store takes writes again; an hour of event time later, commits succeed.
    const b = action({ identity: 'agent', time: T0 + 400 * DAY + 3_600_000 });
    identities.record(b);
    engine.process([b]);
    expect(commit()).toBe(true);
    expect(db.prepare('SELECT count(*) FROM alerts').pluck().get()).toBe(0);
    expect(db.prepare('SELECT count(*) FROM webhook_outbox').pluck().get()).toBe(0);
    expect(db.prepare('SELECT id FROM revocations').pluck().all()).toEqual(['rv_pending']);
    expect(db.prepare('SELECT count(*) FROM revocation_attempts').pluck().get()).toBe(0);
    // ...and the metric counts what was deleted, once.
    expect(deleted).toBe(1);
  } finally {
    db.close();
  }
});
