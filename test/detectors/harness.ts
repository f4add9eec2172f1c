/**
 * The detection engine over a real SQLite file, with the alerts it raises collected: the set-up the
 * engine-level detector tests share, and a builder of actions with fresh ids.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ActionBuilder } from '../../src/actions/builder.js';
import type { Action } from '../../src/actions/types.js';
import type { Alert } from '../../src/alerts/alert.js';
import { AlertManager } from '../../src/alerts/manager.js';
import type { Config } from '../../src/config/schema.js';
import { DetectionEngine } from '../../src/detect/engine.js';
import { BaselineOperator } from '../../src/detect/operator.js';
import { createMetrics } from '../../src/metrics.js';
import type { DecodedSpan } from '../../src/model.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import { IdentityStore } from '../../src/store/identities.js';

export interface EngineHarness {
  db: Db;
  engine: DetectionEngine;
  /** An operator's allow, reset and show, on this engine (not on a restarted one). */
  operator: BaselineOperator;
  /** What this engine and any restarted one raised. */
  alerts: Alert[];
  /** Judges and learns, then commits as the pipeline does after every batch. */
  feed(actions: Action[]): void;
  /** A group commit as the pipeline makes it (`final` at shutdown): the transaction, then afterCommit. */
  commit(final: boolean): void;
  /** A new engine over what was committed, as after a `kill -9` and a start (the harness keeps its own). */
  restart(): DetectionEngine;
  /** Closes the database and deletes its folder. */
  close(): void;
}

/** @param wallClock the engine's and the alert manager's clock; `live` as in serve mode. */
export function engineHarness(config: Config, wallClock: () => number, live = false): EngineHarness {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-engine-'));
  const db = openDatabase(path.join(dir, 'vigil.db'));
  const alerts: Alert[] = [];
  const newManager = () => {
    const manager = new AlertManager(db, config, createMetrics(), wallClock, () => Number.NEGATIVE_INFINITY);
    manager.subscribe((e) => e.type === 'alert' && alerts.push(e.alert));
    return manager;
  };
  const manager = newManager();
  const engine = new DetectionEngine(db, config, manager, wallClock, live);
  return {
    db,
    engine,
    operator: new BaselineOperator(engine, manager, new IdentityStore(db, 1000)),
    alerts,
    feed(actions) {
      engine.process(actions);
      this.commit(false);
    },
    commit(final) {
      db.transaction(() => engine.commit(final))();
      engine.afterCommit(true);
    },
    restart() {
      return new DetectionEngine(db, config, newManager(), wallClock, live);
    },
    close() {
      db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

let seq = 0;
const hex = (n: number, len: number) => n.toString(16).padStart(len, '0');

/** An action with its own trace and span ids: a read-only tool call unless `over` says otherwise. */
export function action(over: Partial<Action> & Pick<Action, 'identity' | 'time'>): Action {
  seq++;
  return {
    endTime: over.time + 50,
    peerGroup: 'agents',
    kind: 'tool',
    target: 'crm.search',
    access: 'read',
    host: null,
    zone: null,
    sensitive: false,
    failed: false,
    retry: false,
    traceId: hex(seq, 32),
    spanId: hex(seq, 16),
    parentSpanId: '',
    credential: null,
    scopes: [],
    agent: null,
    caller: null,
    ...over,
  };
}

/**
 * Spans -> actions -> the engine, which then finishes (held findings decided). Each export is a batch of its
 * own, everything it holds emitted, through one builder (so a later export finds the trace's earlier spans).
 */
export function replaySpans(h: EngineHarness, config: Config, ...exports: DecodedSpan[][]): void {
  const b = new ActionBuilder(config, () => {});
  for (const spans of exports) {
    b.add(spans, 0);
    h.feed(b.drain());
  }
  h.engine.finish();
}

/** The sensitive-egress alerts raised: who, the flow, and the evidence spans. */
export function sensitiveFlows(h: EngineHarness) {
  return h.alerts
    .filter((a) => a.detector === 'lateral_chaining' && a.evidence.rule === 'sensitive_egress')
    .map((a) => ({ identity: a.identity, subject: a.evidence.subject, spanIds: a.evidence.spanIds }));
}
