/**
 * The detection engine on hand-built action streams: a learned identity, then one departure per
 * detector, each raising the expected alert (validated against the normative schema with ajv), and the
 * benign look-alikes of CONTRACT §4 raising none.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Action } from '../../src/actions/types.js';
import type { Alert } from '../../src/alerts/alert.js';
import { AlertManager } from '../../src/alerts/manager.js';
import { configSchema } from '../../src/config/schema.js';
import { DetectionEngine } from '../../src/detect/engine.js';
import { createMetrics } from '../../src/metrics.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import { action } from './harness.js';
import { validateAlert } from '../helpers/alert-schema.js';


const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);
const ID = 'spiffe://acme/agent-1';

const config = configSchema.parse({
  zones: { secrets: ['vault.*'], crm: ['crm.internal'] },
  sensitive: { zones: ['secrets'], tools: ['*secret*'] },
});

/** An action of the identity under test (no access class unless given). */
const act = (over: Partial<Action> & Pick<Action, 'kind' | 'target'>): Action =>
  action({ identity: ID, time: T0, endTime: T0 + 5, peerGroup: 'support', access: null, ...over });

/** A tool step with its HTTP call, as one trace. */
function toolCall(time: number, tool: string, method: 'GET' | 'POST' | 'DELETE', host: string, zone: string, extra: Partial<Action> = {}): Action[] {
  const access = method === 'GET' ? 'read' : method === 'POST' ? 'write' : 'delete';
  const t = act({ kind: 'tool', target: tool, time, endTime: time + 50, access, ...extra });
  const h = act({ kind: 'http', target: `${host}/api/{id}`, host, zone, access, time: time + 5, endTime: time + 40, traceId: t.traceId, parentSpanId: t.spanId, ...extra });
  return [t, h];
}

let engine: DetectionEngine;
let alerts: Alert[];

function feed(actions: Action[]) {
  engine.process(actions);
}

/** Two and a half days of ordinary work: crm.search (GET crm) and tickets.update (POST tickets). */
function learnNormal() {
  for (let i = 0; i < 600; i++) {
    const time = T0 + i * 6 * 60_000;
    feed(toolCall(time, 'crm.search', 'GET', 'crm.internal', 'crm'));
    if (i % 3 === 0) feed(toolCall(time + 1000, 'tickets.update', 'POST', 'tickets.internal', 'internal'));
  }
}

const END = T0 + 600 * 6 * 60_000;

let dir: string;
let db: Db;

beforeEach(() => {
  // A real SQLite file, as the daemon uses (WAL and all), in a fresh folder per test.
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-engine-'));
  db = openDatabase(path.join(dir, 'vigil.db'));
  const manager = new AlertManager(db, config, createMetrics(), () => END, () => Number.NEGATIVE_INFINITY);
  alerts = [];
  manager.subscribe((e) => e.type === 'alert' && alerts.push(e.alert));
  engine = new DetectionEngine(db, config, manager, () => 0);
  learnNormal();
});

afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('detection engine', () => {
  it('stays quiet while learning and on the learned behaviour', () => {
    feed(toolCall(END + 1000, 'crm.search', 'GET', 'crm.internal', 'crm'));
    engine.finish();
    expect(alerts).toEqual([]);
  });

  it('scope_drift: a tool in a zone never used, explained against what is normal', () => {
    feed(toolCall(END + 1000, 'vault.read', 'GET', 'vault.internal', 'secrets', { sensitive: true }));
    engine.finish();
    const drift = alerts.find((a) => a.detector === 'scope_drift');
    expect(drift).toBeDefined();
    expect(validateAlert(drift), JSON.stringify(validateAlert.errors)).toBe(true);
    expect(drift!.severity).toBe('critical'); // a new zone that config marks sensitive
    expect(drift!.evidence.subject).toBe('zone:secrets');
    expect(drift!.explanation).toMatch(/crm\.search/);
    expect(drift!.explanation).toMatch(/never/);
  });

  it('unexpected_write: a DELETE where the identity only ever read', () => {
    feed(toolCall(END + 1000, 'crm.search', 'DELETE', 'crm.internal', 'crm'));
    engine.finish();
    const w = alerts.filter((a) => a.detector === 'unexpected_write');
    expect(w.length).toBeGreaterThanOrEqual(1);
    expect(w[0].severity).toBe('high');
    // Counts are recency-weighted (half-life 14 days): 600 reads over 2.5 days weigh ~560.
    expect(w[0].explanation).toMatch(/It read `crm.search` 5\d\d times over 3 days \(counting recent uses more: each halves in weight every 14 days\) and never deleted it/);
    for (const a of w) expect(validateAlert(a)).toBe(true);
  });

  it('retry_storm: a runaway loop of failures; a single retry is quiet', () => {
    const single = toolCall(END + 1000, 'crm.search', 'GET', 'crm.internal', 'crm', { failed: true });
    feed(single);
    feed(toolCall(END + 2000, 'crm.search', 'GET', 'crm.internal', 'crm', { retry: true }));
    expect(alerts.filter((a) => a.detector === 'retry_storm')).toEqual([]);
    for (let i = 0; i < 40; i++) feed(toolCall(END + 10_000 + i * 2000, 'crm.search', 'GET', 'crm.internal', 'crm', { failed: true }));
    engine.finish();
    const storm = alerts.filter((a) => a.detector === 'retry_storm');
    expect(storm).toHaveLength(1); // folded: one alert, many findings
    expect(storm[0].explanation).toMatch(/usual share/);
  });

  it('lateral_chaining: a sensitive read followed by egress to an external host', () => {
    const [t1, h1] = toolCall(END + 1000, 'secrets.get', 'GET', 'vault.internal', 'secrets', { sensitive: true });
    const [t2, h2] = toolCall(END + 2000, 'crm.search', 'POST', 'paste.example.com', 'external');
    t2.traceId = h2.traceId = t1.traceId;
    feed([t1, h1, t2, h2]);
    engine.finish();
    const lateral = alerts.find((a) => a.detector === 'lateral_chaining');
    expect(lateral).toBeDefined();
    expect(lateral!.evidence.subject).toBe('secrets.get => paste.example.com');
    expect(lateral!.evidence.spanIds).toContain(h2.spanId);
  });

  it('does not learn what raised an alert: the same drift alerts again after the suppression window', () => {
    feed(toolCall(END + 1000, 'vault.read', 'GET', 'vault.internal', 'secrets'));
    feed(toolCall(END + 2 * HOUR, 'vault.read', 'GET', 'vault.internal', 'secrets'));
    engine.finish();
    expect(alerts.filter((a) => a.detector === 'scope_drift')).toHaveLength(2);
  });

  it('folds findings within the suppression window into one alert', () => {
    for (let i = 0; i < 5; i++) feed(toolCall(END + 1000 + i * 60_000, 'vault.read', 'GET', 'vault.internal', 'secrets'));
    engine.finish();
    expect(alerts.filter((a) => a.detector === 'scope_drift')).toHaveLength(1);
  });

  it('a finding dated well before the open alert (a backfill) is an alert of its own; the newer stays the open one (review40 L1)', () => {
    const read = (time: number) => toolCall(time, 'vault.read', 'GET', 'vault.internal', 'secrets');
    feed(read(END + 48 * HOUR));
    feed(read(END + 1000)); // exported last: a Collector's queue drained after an outage
    feed(read(END + 48 * HOUR + 60_000)); // a repeat of the newer one folds into it
    feed(read(END + 120_000)); // a late repeat of the earlier one folds into that (review42 M3: a third alert)
    engine.finish();
    const drift = alerts.filter((a) => a.detector === 'scope_drift');
    expect(drift.map((a) => [a.eventTime, a.count])).toEqual([
      [new Date(END + 48 * HOUR + 5).toISOString(), 2], // the HTTP call, 5 ms into its tool; the repeat folded in
      [new Date(END + 1005).toISOString(), 2],
    ]);
    expect(drift[1].evidence.spanIds.length).toBeGreaterThan(0); // its own evidence, not a count on the other
    db.transaction(() => engine.commit(true))(); // folded counts are written by the group commit
    const newer = db.prepare('SELECT count FROM alerts WHERE seq = ?').pluck().get(drift[0].seq);
    expect(newer).toBe(2);
  });
});
