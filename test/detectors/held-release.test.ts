/**
 * A held finding released by the wall clock becomes an alert in a transaction of its own, before the
 * group commit: a commit that fails and rolls back must not take back an alert already announced (its
 * row, its seq, its webhook outbox entry).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { Action } from '../../src/actions/types.js';
import type { Alert } from '../../src/alerts/alert.js';
import { AlertManager } from '../../src/alerts/manager.js';
import { configSchema } from '../../src/config/schema.js';
import { DetectionEngine } from '../../src/detect/engine.js';
import { createMetrics } from '../../src/metrics.js';
import { openDatabase } from '../../src/store/database.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const config = configSchema.parse({});

let seq = 0;
const hex = (n: number, len: number) => n.toString(16).padStart(len, '0');
function tool(time: number, target: string): Action {
  seq++;
  return {
    time, endTime: time + 50, identity: 'agent', peerGroup: 'agents', kind: 'tool', target, access: 'read', host: null, zone: null,
    sensitive: false, failed: false, retry: false, traceId: hex(seq, 32), spanId: hex(seq, 16), parentSpanId: '', credential: null,
    scopes: [], agent: null, caller: null,
  };
}

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

it('is stored and announced outside the group commit, so a failed commit does not roll it back', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-held-'));
  dirs.push(dir);
  const db = openDatabase(path.join(dir, 'vigil.db'));
  let wall = T0;
  const manager = new AlertManager(db, config, createMetrics(), () => wall);
  const announced: Alert[] = [];
  manager.subscribe((e) => e.type === 'alert' && announced.push(e.alert));
  const engine = new DetectionEngine(db, config, manager, () => wall, true);

  let t = T0;
  for (let i = 0; i < 320; i++, t += 6 * MIN) engine.process([tool(t, 'crm.search')]);
  engine.process([tool(t, 'kb.export')]); // new: held for a rollout (rolloutGrace, 1 hour)
  expect(announced).toEqual([]);

  wall = t + 2 * HOUR; // the hold has ended by the wall clock; the identity has gone quiet
  engine.beforeCommit();
  expect(() =>
    db.transaction(() => {
      engine.commit(false);
      throw new Error('disk I/O error'); // the group commit fails and rolls back
    })(),
  ).toThrow('disk I/O error');

  expect(announced.map((a) => a.evidence.subject)).toEqual(['tool:kb.export']);
  const stored = db.prepare('SELECT seq FROM alerts').pluck().all();
  expect(stored).toEqual([announced[0].seq]);
  expect(db.prepare('SELECT count(*) FROM held_findings').pluck().get()).toBe(0);
  db.close();
});
