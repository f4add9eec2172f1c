/**
 * Retention's clock against a host clock stepped forward for a moment (review35 H1): one span stamped by
 * the jumped clock made the newest event time a year on, and the next sweep deleted the alerts just raised
 * and forgot every baseline, and again at every restart (the newest event time is reloaded from the store).
 * Retention now runs on the newest event time no later than the wall clock at start carried forward by the
 * monotonic clock. Wired as in src/detection.ts, over a real SQLite file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import { AlertManager } from '../../src/alerts/manager.js';
import { configSchema } from '../../src/config/schema.js';
import { DetectionEngine } from '../../src/detect/engine.js';
import { createMetrics } from '../../src/metrics.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import { IdentityStore } from '../../src/store/identities.js';
import { settledRevocationsSweep } from '../../src/revocation/store.js';
import { Retention, retentionClock } from '../../src/store/retention.js';
import { action } from '../detectors/harness.js';

const DAY = 86_400_000;
const config = configSchema.parse({});
const dirs: string[] = [];
afterEach(() => {
  vi.useRealTimers();
  dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
});

/** A daemon's store and stages: `clock` makes retention's clock from its identities (as detection.ts does). */
function daemonOn(db: Db, clock: (identities: IdentityStore) => () => number) {
  const identities = new IdentityStore(db, 100);
  const now = clock(identities);
  const alerts = new AlertManager(db, config, createMetrics(), Date.now, now);
  const engine = new DetectionEngine(db, config, alerts, Date.now);
  const retention = new Retention({
    identities, now, forgetIdleAfter: config.baselines.forgetIdleAfter, maxIdentities: config.baselines.maxIdentities,
    forget: (id) => engine.forget(id), alerts, alertRetention: config.alerts.retention, settledRevocations: settledRevocationsSweep(db),
  });
  return {
    /** Judges and records `actions`, then commits as the pipeline does. */
    feed(...actions: ReturnType<typeof action>[]) {
      for (const a of actions) identities.record(a);
      engine.process(actions);
      db.transaction(() => {
        identities.flush();
        retention.commit();
        engine.commit(false);
      })();
      identities.afterCommit(true);
      retention.afterCommit(true);
      engine.afterCommit(true);
    },
  };
}

/** Two agents active an hour ago, an alert raised then, and one span from the jumped clock; then a restart. */
function jumpAndRestart(clock: (identities: IdentityStore) => () => number): { alerts: number; identities: string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-retention-clock-'));
  dirs.push(dir);
  const file = path.join(dir, 'vigil.db');
  const db = openDatabase(file);
  const hourAgo = Date.now() - 3_600_000;
  try {
    const daemon = daemonOn(db, clock);
    daemon.feed(action({ identity: 'j0', time: hourAgo }), action({ identity: 'j1', time: hourAgo }));
    db.prepare("INSERT INTO alerts (id, detector, severity, identity, subject, event_time, retain_from, count, body) VALUES ('a1', 'unexpected_write', 'high', 'j0', 's', ?, ?, 1, '{}')").run(hourAgo, hourAgo);
    // The host clock steps 400 days on for a moment: an agent on that host stamps a span with it, accepted.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 400 * DAY });
    daemon.feed(action({ identity: 'j2', time: Date.now() }));
    vi.useRealTimers();
  } finally {
    db.close();
  }
  // A plain restart, the clock right again: the newest event time is still a year on in the store.
  const again = openDatabase(file);
  try {
    daemonOn(again, clock).feed(action({ identity: 'j0', time: Date.now() }));
    return {
      alerts: again.prepare('SELECT count(*) FROM alerts').pluck().get() as number,
      identities: again.prepare('SELECT identity FROM identities ORDER BY identity').pluck().all() as string[],
    };
  } finally {
    again.close();
  }
}

it('a span from a clock stepped a year on deletes no alert and forgets no identity, then or at restart', () => {
  expect(jumpAndRestart((ids) => retentionClock(ids, config.time.maxFutureSkew))).toEqual({ alerts: 1, identities: ['j0', 'j1', 'j2'] });
  // The newest event time alone, as before: the alert was gone, and every identity but j2, j0 even as it came back.
  expect(jumpAndRestart((ids) => () => ids.newest)).toEqual({ alerts: 0, identities: ['j2'] });
});

it('follows the newest event time when it is behind the clock (replay of past traffic)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-retention-clock-'));
  dirs.push(dir);
  const db = openDatabase(path.join(dir, 'vigil.db'));
  try {
    const identities = new IdentityStore(db, 100);
    const now = retentionClock(identities, config.time.maxFutureSkew);
    const past = Date.UTC(2024, 0, 5);
    identities.record(action({ identity: 'j0', time: past }));
    expect(now()).toBe(past);
  } finally {
    db.close();
  }
});
