/**
 * Detection benchmarks (issue 4): replay throughput with every detector on a generated week of fleet
 * traffic, detector cost per action, and memory with 100k identities (hot set bounded, cold identities
 * in SQLite). Prints figures; asserts nothing.
 *
 * `npm run bench` forks this file twice (IPC: parent -> {type:'run', config: {part}}, child -> {type:'result'}):
 * the replay part, and the memory part in a process of its own started with `--expose-gc`, so the RSS it
 * reports is the engine's alone (not the replay's or the bench runner's). Run on its own,
 * `node dist/test/bench/detect-bench.js` does the same and prints both.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
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

export interface ReplayFigures {
  spans: number;
  actions: number;
  identities: number;
  alerts: number;
  /** OTLP/JSON lines file replayed (MB). */
  fileMb: number;
  seconds: number;
  spansPerSec: number;
  /** Whole replay (read, decode, build actions, detect + learn, commit) per action. */
  usPerAction: number;
  /** `DetectionEngine.process` alone (every detector, then learning) per action, and its share of the replay. */
  engineUsPerAction: number;
  engineShare: number;
  /** `DetectionEngine.commit` (baseline checkpoints written in the commit transaction), total seconds. */
  engineCommitSec: number;
  /** CPU of this process over its whole life (scenario generation included), s. */
  cpuSec: number;
}

/**
 * Times DetectionEngine's stage methods while `fn` runs: the replay builds its own engine, so the bench
 * wraps the class's prototype (this process only; restored afterwards). One clock read per batch, not
 * per action, so the wrapper costs nothing measurable.
 */
async function timingEngine<T>(fn: () => Promise<T>): Promise<{ value: T; processSec: number; commitSec: number }> {
  const proto = DetectionEngine.prototype;
  const { process: origProcess, commit: origCommit } = proto;
  let processNs = 0n;
  let commitNs = 0n;
  proto.process = function (this: DetectionEngine, actions) {
    const t = process.hrtime.bigint();
    try {
      return origProcess.call(this, actions);
    } finally {
      processNs += process.hrtime.bigint() - t;
    }
  };
  proto.commit = function (this: DetectionEngine, final) {
    const t = process.hrtime.bigint();
    try {
      return origCommit.call(this, final);
    } finally {
      commitNs += process.hrtime.bigint() - t;
    }
  };
  try {
    const value = await fn();
    return { value, processSec: Number(processNs) / 1e9, commitSec: Number(commitNs) / 1e9 };
  } finally {
    proto.process = origProcess;
    proto.commit = origCommit;
  }
}

/** Replays one generated scenario (a week of a ~56-identity fleet) in-process with all detectors. */
export async function benchReplay(seed = 11): Promise<ReplayFigures> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-replay-'));
  try {
    const scenario = generateScenario(dir, { seed });
    const { config } = loadConfig({ path: scenario.configFile });
    const fileMb = fs.statSync(scenario.tracesFile).size / 2 ** 20;
    let summary = '';
    const err = new Writable({ write: (c, _e, cb) => ((summary += c), cb()) });
    const started = process.hrtime.bigint();
    const timed = await timingEngine(() => runReplay({ config, files: [scenario.tracesFile], db: ':memory:', printActions: false, out: devNull(), err }));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const spans = Number(/spans\s+(\d+)/.exec(summary)?.[1] ?? 0);
    const actions = Number(/actions\s+(\d+)/.exec(summary)?.[1] ?? 0);
    if (spans === 0 || actions === 0) throw new Error(`replay summary without spans/actions:\n${summary}`);
    const identities = Number(/identities\s+(\d+)/.exec(summary)?.[1] ?? 0);
    const alerts = Number(/alerts\s+(\d+)/.exec(summary)?.[1] ?? 0);
    return {
      spans,
      actions,
      identities,
      alerts,
      fileMb: Math.round(fileMb * 10) / 10,
      seconds,
      spansPerSec: spans / seconds,
      usPerAction: (seconds * 1e6) / actions,
      engineUsPerAction: (timed.processSec * 1e6) / actions,
      engineShare: timed.processSec / seconds,
      engineCommitSec: timed.commitSec,
      cpuSec: cpuSec(),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
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

export interface MemoryFigures {
  identities: number;
  actions: number;
  /** RSS after a full GC at the end (when run with --expose-gc; else without one). */
  rssMiB: number;
  /** Peak RSS of the process over the whole run (VmHWM). */
  peakRssMiB: number;
  heapMiB: number;
  /** V8 heap committed, and memory outside it held by JS objects (Buffers...), after the GC. */
  heapTotalMiB: number;
  externalMiB: number;
  hot: number;
  maxHot: number;
  seconds: number;
  gcExposed: boolean;
  /** CPU of this process over its whole life, s. */
  cpuSec: number;
}

const cpuSec = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** VmHWM (peak RSS since start) of this process, MiB; 0 where /proc is missing. */
function peakRssMiB(): number {
  try {
    const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
    return kb / 1024;
  } catch {
    return 0;
  }
}

/** RSS after 100k identities have each acted a few times (hot baselines bounded by maxHotIdentities). */
export function benchMemory(identities = 100_000, perIdentity = 3): MemoryFigures {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-mem-'));
  const config = configSchema.parse({ zones: { internal: ['*.internal'] } });
  const db = openDatabase(path.join(dir, 'vigil.db'));
  const alerts = new AlertManager(db, config, createMetrics(), Date.now, () => Number.NEGATIVE_INFINITY);
  const engine = new DetectionEngine(db, config, alerts, () => 0);
  const started = process.hrtime.bigint();
  let n = 0;
  // As the pipeline commits: the transaction, then afterCommit (what it wrote is clean only then).
  const commit = () => {
    db.transaction(() => engine.commit(true))();
    engine.afterCommit(true);
  };
  for (const batch of syntheticActions(identities, perIdentity)) {
    engine.process(batch);
    if (++n % 8 === 0) commit();
  }
  commit();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  global.gc?.();
  const mem = process.memoryUsage();
  const hot = engine.baselines.hotCount;
  const peak = peakRssMiB();
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    identities,
    actions: identities * perIdentity * 2,
    rssMiB: mem.rss / 2 ** 20,
    peakRssMiB: Math.max(peak, mem.rss / 2 ** 20),
    heapMiB: mem.heapUsed / 2 ** 20,
    heapTotalMiB: mem.heapTotal / 2 ** 20,
    externalMiB: mem.external / 2 ** 20,
    hot,
    maxHot: config.baselines.maxHotIdentities,
    seconds,
    gcExposed: typeof global.gc === 'function',
    cpuSec: cpuSec(),
  };
}

export type DetectPart = { part: 'replay'; seed?: number } | { part: 'memory'; identities?: number; perIdentity?: number };

function runPart(p: DetectPart): Promise<ReplayFigures | MemoryFigures> {
  return p.part === 'replay' ? benchReplay(p.seed) : Promise.resolve(benchMemory(p.identities, p.perIdentity));
}

if (process.send !== undefined) {
  // Forked by run.ts's detection pass (detection-pass.ts), or by the standalone entry below.
  const last = (msg: unknown) => process.send!(msg, () => process.exit(0));
  process.once('message', (msg: { type: string; config: DetectPart }) => {
    if (msg.type !== 'run') return;
    runPart(msg.config).then(
      (result) => last({ type: 'result', result }),
      (err: unknown) => last({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
} else if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const inChild = <R>(part: DetectPart, execArgv: string[]) =>
    new Promise<R>((resolve, reject) => {
      const child = fork(fileURLToPath(import.meta.url), [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      child.once('message', (m: { type: string; result?: R; error?: string }) => (m.type === 'result' ? resolve(m.result as R) : reject(new Error(m.error))));
      child.once('exit', (code) => reject(new Error(`detect-bench child exited with code ${code}`)));
      child.send({ type: 'run', config: part });
    });
  const replay = await inChild<ReplayFigures>({ part: 'replay' }, []);
  console.log(`replay with all detectors: ${replay.spans} spans, ${replay.actions} actions in ${replay.seconds.toFixed(1)} s -> ${Math.round(replay.spansPerSec).toLocaleString('en-US')} spans/s (${replay.usPerAction.toFixed(1)} µs per action end to end, ${replay.engineUsPerAction.toFixed(1)} µs in the detection engine; target ≥ 200k spans/s)`);
  const mem = await inChild<MemoryFigures>({ part: 'memory' }, ['--expose-gc']);
  console.log(`memory: ${mem.identities.toLocaleString('en-US')} identities -> RSS ${mem.rssMiB.toFixed(0)} MiB after GC, peak ${mem.peakRssMiB.toFixed(0)} MiB (heap ${mem.heapMiB.toFixed(0)} MiB, ${mem.hot} hot baselines) in ${mem.seconds.toFixed(1)} s; target ≤ 1024 MiB`);
}
