/**
 * `npm run bench`: decode-only throughput, then end-to-end throughput of the real daemon (a separate
 * process) over OTLP/gRPC and OTLP/HTTP-protobuf driven by a separate load-generator process; alert
 * latency (OTLP export -> websocket `alert` frame) at half the HTTP throughput just measured, and webhook
 * deliveries per second (alert-probe.ts, a separate probe client); a short sanity pass with the real
 * OpenTelemetry SDK exporter; then the detection benchmarks (detect-bench.ts: replay throughput with all
 * detectors, and memory for 100k identities in a process of its own started with --expose-gc). Prints a
 * readable report and, last, one JSON line with every figure. Targets are printed next to the figures;
 * missing one is reported, never fatal.
 *
 * Options (after `npm run bench --`): --duration S (measured window, default 10), --warmup S (default 2),
 * --concurrency N (default 16), --only decode,grpc,http,latency,webhooks,sdk,detect, --sdk-spans N
 * (default 20000), --probes N (latency probes, default 200), --probe-interval MS (default 50),
 * --webhook-probes N (default 2000, one new alert each), --profile (daemons and the replay run with
 * --cpu-prof; prints their top self-time functions and keeps the profiles),
 * --daemon-flags="..." (extra node flags for the daemons, e.g. --daemon-flags="--max-old-space-size=256"),
 * --daemon-config='...' (extra top-level YAML for the daemons' config, e.g.
 * --daemon-config='baselines: { checkpointInterval: "1h" }', to measure a setting).
 * Environment: VIGIL_BENCH_CLI=path/to/cli.js runs another build of the daemon (to measure a change).
 */
import { fork, type ChildProcess, type Serializable } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchDecode, makeBenchBatch } from './decode-bench.js';
import { BENCH_TOKEN, DaemonProcess, hostBusySeconds, type Exit } from './daemon-process.js';
import type { LatencyResult, ProbeConfig, Stats, WebhookResult } from './alert-probe.js';
import type { DetectPart, MemoryFigures, ReplayFigures } from './detect-bench.js';
import type { LoadConfig, LoadResult } from './load-generator.js';
import { inclusiveTime, selfTimeByPackage, topSelfTime, type SelfTime } from './profile-summary.js';
import type { SdkConfig, SdkResult } from './sdk-exporter.js';

const TARGETS = { decode: 300_000, grpc: 150_000, http: 200_000, replay: 200_000, memoryMiB: 1024, alertP99Ms: 50 } as const;

const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '16' },
    only: { type: 'string', default: 'decode,grpc,http,latency,webhooks,sdk,detect' },
    'sdk-spans': { type: 'string', default: '20000' },
    probes: { type: 'string', default: '200' },
    'probe-interval': { type: 'string', default: '50' },
    'webhook-probes': { type: 'string', default: '2000' },
    profile: { type: 'boolean', default: false },
    'daemon-flags': { type: 'string', default: '' },
    'daemon-config': { type: 'string', default: '' },
  },
  strict: true,
});
/** A numeric option within [min, max]; the default when it is not a number. */
const num = (v: string, def: number, min: number, max: number) => {
  const n = Number(v);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : def;
};
const DURATION_MS = num(opts.duration, 10, 1, 60) * 1000;
const WARMUP_MS = num(opts.warmup, 2, 0, 30) * 1000;
const CONCURRENCY = Math.round(num(opts.concurrency, 16, 1, 256));
const SDK_SPANS = Math.round(num(opts['sdk-spans'], 20_000, 1000, 200_000));
const ONLY = new Set(opts.only.split(',').map((s) => s.trim()));
const PROBES = Math.round(num(opts.probes, 200, 10, 5000));
const PROBE_INTERVAL_MS = num(opts['probe-interval'], 50, 5, 1000);
const WEBHOOK_PROBES = Math.round(num(opts['webhook-probes'], 2000, 10, 20_000));
/** Identities that learn a baseline and then raise the probes' alerts (each probe a new tool and target). */
const LATENCY_IDENTITIES = 100;
const WEBHOOK_IDENTITIES = 50;
/** Spans of baseline per identity: tool + GET traces over 48 h (> baselines.minActions actions). */
const BASELINE_TRACES = 200;
/** A probe without its alert frame this long after its export is counted as missing. */
const ALERT_TIMEOUT_MS = 5000;

const DAEMON_FLAGS = opts['daemon-flags'].split(/\s+/).filter(Boolean);
const DAEMON_CONFIG = opts['daemon-config'].split('\n').filter((l) => l.trim() !== '');

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const verdict = (value: number, target: number) => `target ≥ ${fmt(target)}  ${value >= target ? 'MET' : 'MISSED'}`;
const verdictAtMost = (value: number, target: number, unit: string) => `target ≤ ${fmt(target)} ${unit}  ${value <= target ? 'MET' : 'MISSED'}`;
const ms = (s: Stats) => `p50 ${s.p50} ms, p90 ${s.p90} ms, p99 ${s.p99} ms, max ${s.max} ms`;
const out = (line = '') => process.stdout.write(line + '\n');

interface E2EFigures {
  transport: 'grpc' | 'http';
  spansPerSec: number;
  requestsPerSec: number;
  target: number;
  met: boolean;
  latencyMs: LoadResult['window']['latencyMs'];
  window: { ms: number; requests: number; spansAcked: number; spansRejected: number; backpressure: number; errors: number };
  total: LoadResult['total'];
  batchBytes: number;
  daemon: { cpuPctOfCore: number; rssEndMb: number; rssPeakMb: number; hwmMb: number; exitCode: number | null; exitSignal: string | null; stopMs: number };
  /** Share of the window each daemon thread was busy (event-loop utilisation, from /metrics), %. */
  threadsBusyPct: { main: number; ingest: number } | null;
  clientCpuPct: number;
  /** CPU used by everything else on the host in the window (other test runs...), % of one core. */
  otherCpuPct: number;
  metrics: {
    spansReceived: number; spansAccepted: number; spansRejected: number; requestsRejected: number; spansIgnored: number; actions: number;
    traceBufferSpans: number; queueSpans: number; identities: number; alerts: number;
    /** Group commits over the whole run and their total duration (s). */
    commits: number; commitSec: number;
    /** Main-thread GC pause time over the whole run (s), and the V8 heap in use after the run (MB). */
    gcSec: number; heapUsedMb: number; workerHeapUsedMb: number; workerHeapTotalMb: number;
  };
  warnings: string[];
  errorSamples: string[];
  profile?: { file: string; totalMs: number; top: SelfTime[]; inclusive: SelfTime[]; byPackage: SelfTime[] };
}

type ChildMessage = { type: string; result?: unknown; error?: string } & Record<string, unknown>;

/**
 * A forked compiled child entry: sent {type:'run', config} at once; its progress messages go to
 * `onMessage`; `result` settles with its {type:'result'} (or rejects on {type:'failed'}, an exit without a
 * result, or the time limit, which kills it). `send` talks back to it (the probe's `go`, the load's `stop`).
 */
class Child<R> {
  readonly result: Promise<R>;
  /** Resolves once the process has exited (a --cpu-prof profile is written by then). */
  readonly exited: Promise<void>;
  private readonly proc: ChildProcess;

  constructor(file: string, config: unknown, timeoutMs: number, onMessage: (msg: ChildMessage) => void = () => {}, execArgv: string[] = []) {
    this.proc = fork(here(file), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [...process.execArgv, ...execArgv] });
    running.add(this.proc);
    this.exited = new Promise((r) => this.proc.once('exit', () => (running.delete(this.proc), r())));
    this.result = new Promise<R>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      const timer = setTimeout(() => {
        this.proc.kill('SIGKILL');
        settle(() => reject(new Error(`${file} did not finish within ${timeoutMs} ms`)));
      }, timeoutMs);
      this.proc.on('message', (msg: ChildMessage) => {
        if (msg.type === 'result') settle(() => resolve(msg.result as R));
        else if (msg.type === 'failed') settle(() => reject(new Error(`${file}: ${msg.error}`)));
        else onMessage(msg);
      });
      this.proc.once('exit', (code, signal) => settle(() => reject(new Error(`${file} exited (code ${code}, signal ${signal}) without a result`))));
    });
    this.result.catch(() => undefined); // awaited by the caller; never an unhandled rejection meanwhile
    this.proc.send({ type: 'run', config } as Serializable);
  }

  send(msg: Serializable): void {
    if (this.proc.connected) this.proc.send(msg);
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}

/** Children not yet exited: killed if the benchmark itself dies first. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/** Forks a compiled child entry, sends it {type:'run', config}, relays its progress, resolves its result. */
function runChild<R>(file: string, config: unknown, timeoutMs: number, onMessage: (type: string) => void = () => {}): Promise<R> {
  return new Child<R>(file, config, timeoutMs, (msg) => onMessage(msg.type)).result;
}

function profileOptions(label: string): { nodeArgs: string[]; dir: string } | null {
  if (!opts.profile) return null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `vigil-prof-${label}-`));
  return { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir], dir };
}

function daemonArgs(prof: { nodeArgs: string[] } | null): string[] {
  return [...DAEMON_FLAGS, ...(prof?.nodeArgs ?? [])];
}

/** Waits until the daemon has no queued spans and no buffered trace (bounded), so its counters are final. */
async function settled(daemon: DaemonProcess, timeoutMs = 6000): Promise<Map<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await daemon.metrics();
    const busy = (m.get('vigil_ingest_queue_spans') ?? 0) + (m.get('vigil_trace_buffer_spans') ?? 0);
    if (busy === 0 || Date.now() > deadline) return m;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function endToEnd(transport: 'grpc' | 'http'): Promise<E2EFigures> {
  const prof = profileOptions(transport);
  const daemon = await DaemonProcess.start({ label: transport, nodeArgs: daemonArgs(prof), extraConfig: DAEMON_CONFIG });
  const warnings: string[] = [];
  let exit: Exit | null = null;
  try {
    daemon.watchRss();
    const config: LoadConfig = {
      transport,
      target: transport === 'grpc' ? daemon.grpc : daemon.http,
      concurrency: CONCURRENCY,
      channels: 4,
      warmupMs: WARMUP_MS,
      durationMs: DURATION_MS,
      requestTimeoutMs: 10_000,
      batches: Math.max(32, 2 * CONCURRENCY), // each in-flight request owns its batch until answered
      spansPerBatch: 512,
      spansPerTrace: 16,
      identities: 1000,
    };
    let cpuStart = daemon.cpu();
    let cpuEnd = cpuStart;
    const busy = (m: Map<string, number> | null) => ({ main: m?.get('vigil_main_thread_busy_seconds_total') ?? NaN, ingest: m?.get('vigil_ingest_worker_busy_seconds_total') ?? NaN });
    let busyStart: Promise<Map<string, number> | null> = Promise.resolve(null);
    let busyEnd = busyStart;
    let memEnd = daemon.memory();
    let host0 = hostBusySeconds();
    let host1 = host0;
    let self0 = process.cpuUsage();
    let selfUs = 0;
    const result = await runChild<LoadResult>('./load-generator.js', config, WARMUP_MS + DURATION_MS + 45_000, (type) => {
      if (!daemon.alive) return; // reported below
      try {
        if (type === 'window-start') {
          cpuStart = daemon.cpu();
          busyStart = daemon.metrics().catch(() => null);
          host0 = hostBusySeconds();
          self0 = process.cpuUsage();
        }
        if (type === 'window-end') {
          cpuEnd = daemon.cpu();
          busyEnd = daemon.metrics().catch(() => null);
          host1 = hostBusySeconds();
          const self = process.cpuUsage(self0);
          selfUs = self.user + self.system;
          memEnd = daemon.memory();
        }
      } catch {
        // /proc entry gone: the daemon died in between
      }
    });
    if (!daemon.alive) throw new Error(`${daemon.deathNote()}\n  (load generator: acknowledged ${fmt(result.total.spansAcked)} spans, ${result.total.errors} failed requests)`);
    const windowSec = Number(cpuEnd.at - cpuStart.at) / 1e9;
    const cpuPct = windowSec > 0 ? ((cpuEnd.cpuSec - cpuStart.cpuSec) / windowSec) * 100 : 0;
    const [b0, b1] = [busy(await busyStart), busy(await busyEnd)];
    const pctOf = (a: number, b: number) => Math.round(((b - a) / windowSec) * 1000) / 10;
    const threadsBusyPct = windowSec > 0 && Number.isFinite(b1.main - b0.main) ? { main: pctOf(b0.main, b1.main), ingest: pctOf(b0.ingest, b1.ingest) } : null;
    const otherSec = host1 - host0 - (cpuEnd.cpuSec - cpuStart.cpuSec) - (result.window.clientCpuPct / 100) * windowSec - selfUs / 1e6;
    const otherCpuPct = windowSec > 0 ? Math.max(0, Math.round((otherSec / windowSec) * 1000) / 10) : 0;
    if (otherCpuPct > 15) {
      warnings.push(`WARNING: other processes used ${otherCpuPct}% of a core during the window (the host has ${os.cpus().length}): figures are understated`);
    }
    daemon.unwatchRss();
    const hwm = daemon.memory().hwmKb;

    const m = await settled(daemon);
    const metric = (name: string) => m.get(name) ?? 0;
    const metrics = {
      spansReceived: metric('vigil_spans_received_total'),
      spansAccepted: metric('vigil_spans_accepted_total'),
      spansRejected: metric('vigil_spans_rejected_total'),
      requestsRejected: metric('vigil_requests_rejected_total'),
      spansIgnored: metric('vigil_spans_ignored_total'),
      actions: metric('vigil_actions_total'),
      traceBufferSpans: metric('vigil_trace_buffer_spans'),
      queueSpans: metric('vigil_ingest_queue_spans'),
      identities: metric('vigil_identities'),
      alerts: metric('vigil_alerts_total'),
      commits: metric('vigil_store_commit_seconds_count'),
      commitSec: Math.round(metric('vigil_store_commit_seconds_sum') * 1000) / 1000,
      gcSec: Math.round(metric('nodejs_gc_duration_seconds_sum') * 1000) / 1000,
      heapUsedMb: Math.round(metric('nodejs_heap_size_used_bytes') / 2 ** 20),
      workerHeapUsedMb: Math.round(metric('vigil_ingest_worker_heap_used_bytes') / 2 ** 20),
      workerHeapTotalMb: Math.round(metric('vigil_ingest_worker_heap_total_bytes') / 2 ** 20),
    };
    const acked = result.total.spansAcked;
    if (metrics.spansAccepted < acked) {
      warnings.push(`WARNING: the daemon counts ${fmt(metrics.spansAccepted)} spans accepted but ${fmt(acked)} were acknowledged to the client`);
    } else if (metrics.spansAccepted > acked + result.total.errors * config.spansPerBatch) {
      warnings.push(`WARNING: the daemon accepted ${fmt(metrics.spansAccepted - acked)} spans more than the client saw acknowledged`);
    }
    if (metrics.actions + metrics.spansIgnored < metrics.spansAccepted * 0.99) {
      warnings.push(`WARNING: actions + ignored (${fmt(metrics.actions + metrics.spansIgnored)}) fall short of accepted spans (${fmt(metrics.spansAccepted)})`);
    }
    if (metrics.traceBufferSpans + metrics.queueSpans > 0) {
      warnings.push(`WARNING: ${fmt(metrics.traceBufferSpans + metrics.queueSpans)} spans still queued or buffered after the run`);
    }
    if (result.total.errors > 0) warnings.push(`WARNING: ${result.total.errors} requests failed, e.g. ${result.errorSamples[0] ?? '?'}`);
    if (daemon.problems.length > 0) warnings.push(`WARNING: the daemon logged ${daemon.problems.length} warning/error line(s), first: ${daemon.problems[0].slice(0, 300)}`);

    exit = await daemon.stop();
    const spansPerSec = (result.window.spansAcked / result.window.ms) * 1000;
    const figures: E2EFigures = {
      transport,
      spansPerSec: Math.round(spansPerSec),
      requestsPerSec: Math.round((result.window.requests / result.window.ms) * 10_000) / 10,
      target: TARGETS[transport],
      met: spansPerSec >= TARGETS[transport],
      latencyMs: result.window.latencyMs,
      window: {
        ms: result.window.ms,
        requests: result.window.requests,
        spansAcked: result.window.spansAcked,
        spansRejected: result.window.spansRejected,
        backpressure: result.window.backpressure,
        errors: result.window.errors,
      },
      total: result.total,
      batchBytes: result.batchBytes,
      daemon: {
        cpuPctOfCore: Math.round(cpuPct * 10) / 10,
        rssEndMb: Math.round(memEnd.rssKb / 1024),
        rssPeakMb: Math.round(Math.max(daemon.peakRssKb, memEnd.rssKb) / 1024),
        hwmMb: Math.round(hwm / 1024),
        exitCode: exit.code,
        exitSignal: exit.signal,
        stopMs: exit.ms,
      },
      threadsBusyPct,
      clientCpuPct: result.window.clientCpuPct,
      otherCpuPct,
      metrics,
      warnings,
      errorSamples: result.errorSamples,
    };
    if (exit.code !== 0) warnings.push(`WARNING: the daemon exited with code ${exit.code} (signal ${exit.signal}) after SIGTERM`);
    if (prof) {
      const file = fs.readdirSync(prof.dir).find((f) => f.endsWith('.cpuprofile'));
      if (file) {
        const full = path.join(prof.dir, file);
        const { totalMs, top } = topSelfTime(full, 25);
        figures.profile = { file: full, totalMs, top, inclusive: inclusiveTime(full, 15), byPackage: selfTimeByPackage(full, 12) };
      } else {
        warnings.push(`WARNING: no .cpuprofile written in ${prof.dir}`);
      }
    }
    return figures;
  } finally {
    if (exit === null) exit = await daemon.stop();
    daemon.cleanup();
  }
}

type Profile = { file: string; totalMs: number; top: SelfTime[]; inclusive: SelfTime[]; byPackage: SelfTime[] };

function summarizeProfile(file: string): Profile {
  const { totalMs, top } = topSelfTime(file, 25);
  return { file, totalMs, top, inclusive: inclusiveTime(file, 15), byPackage: selfTimeByPackage(file, 12) };
}

function printProfile(p: Profile): void {
  out(`  profile (${p.file}, ${fmt(p.totalMs)} ms sampled) — top self time:`);
  for (const e of p.top) out(`    ${String(e.pct).padStart(5)}%  ${String(e.ms).padStart(6)} ms  ${e.fn}  ${e.where}`);
  out('    inclusive time of project functions:');
  for (const e of p.inclusive) out(`    ${String(e.pct).padStart(5)}%  ${String(e.ms).padStart(6)} ms  ${e.fn}  ${e.where}`);
  out('    self time by file/package:');
  for (const e of p.byPackage) out(`    ${String(e.pct).padStart(5)}%  ${String(e.ms).padStart(6)} ms  ${e.where}`);
}

function printE2E(f: E2EFigures): void {
  const name = f.transport === 'grpc' ? 'gRPC' : 'HTTP/protobuf';
  out(`End-to-end over ${name}  (${f.transport === 'grpc' ? '4 channels, ' : 'keep-alive, '}${CONCURRENCY} requests in flight, 512-span batches of ${fmt(f.batchBytes)} B, 32 traces x 16 spans over 1,000 identities, fresh trace ids per send; ${WARMUP_MS / 1000} s warm-up + ${f.window.ms / 1000} s measured)`);
  out(`  acknowledged     ${fmt(f.spansPerSec).padStart(9)} spans/s   ${verdict(f.spansPerSec, f.target)}`);
  out(`  requests         ${String(f.requestsPerSec).padStart(9)} req/s     latency p50 ${f.latencyMs.p50} ms, p90 ${f.latencyMs.p90} ms, p99 ${f.latencyMs.p99} ms, max ${f.latencyMs.max} ms`);
  out(`  refused          backpressure ${f.window.backpressure}, errors ${f.window.errors}, partially rejected spans ${f.window.spansRejected} (window); whole run: backpressure ${f.total.backpressure}, errors ${f.total.errors}`);
  out(`  daemon           CPU ${f.daemon.cpuPctOfCore}% of one core; RSS ${f.daemon.rssEndMb} MB at end of window, peak sampled ${f.daemon.rssPeakMb} MB, VmHWM ${f.daemon.hwmMb} MB`);
  if (f.threadsBusyPct) out(`  daemon threads   busy: main ${f.threadsBusyPct.main}%, ingest worker ${f.threadsBusyPct.ingest}% of the window (the busier one is the ceiling)`);
  out(`  load generator   CPU ${f.clientCpuPct}% of one core; other processes on the host ${f.otherCpuPct}% of one core`);
  const m = f.metrics;
  out(`  check (/metrics) client acknowledged ${fmt(f.total.spansAcked)} of ${fmt(f.total.spansSent)} sent; daemon received ${fmt(m.spansReceived)}, accepted ${fmt(m.spansAccepted)}, rejected ${fmt(m.spansRejected)}; requests refused ${fmt(m.requestsRejected)}`);
  out(`                   actions ${fmt(m.actions)} + ignored ${fmt(m.spansIgnored)} = ${fmt(m.actions + m.spansIgnored)}; identities ${fmt(m.identities)}; alerts ${fmt(m.alerts)}; still buffered ${fmt(m.traceBufferSpans + m.queueSpans)}`);
  const runSec = (WARMUP_MS + f.window.ms) / 1000;
  out(`  daemon internals group commits ${fmt(m.commits)} (${fmt(m.commits / runSec)}/s, mean ${m.commits ? ((m.commitSec / m.commits) * 1000).toFixed(2) : 0} ms); GC pauses ${m.gcSec} s (${Math.round((m.gcSec / runSec) * 100)}% of the run); V8 heap used after the run: main ${m.heapUsedMb} MB, ingest worker ${m.workerHeapUsedMb} MB (of ${m.workerHeapTotalMb} MB held)`);
  out(`  daemon exit      code ${f.daemon.exitCode}${f.daemon.exitSignal ? ` signal ${f.daemon.exitSignal}` : ''}, ${f.daemon.stopMs} ms after SIGTERM`);
  for (const w of f.warnings) out(`  ${w}`);
  if (f.profile) {
    out(`  profile (${f.profile.file}, ${fmt(f.profile.totalMs)} ms sampled) — top self time:`);
    for (const e of f.profile.top) out(`    ${String(e.pct).padStart(5)}%  ${String(e.ms).padStart(6)} ms  ${e.fn}  ${e.where}`);
    out('    inclusive time of project functions:');
    for (const e of f.profile.inclusive) out(`    ${String(e.pct).padStart(5)}%  ${String(e.ms).padStart(6)} ms  ${e.fn}  ${e.where}`);
    out('    self time by file/package:');
    for (const e of f.profile.byPackage) out(`    ${String(e.pct).padStart(5)}%  ${String(e.ms).padStart(6)} ms  ${e.where}`);
  }
  out();
}

async function sdkPass(): Promise<SdkResult & { accepted: number; actions: number; exitCode: number | null; warnings: string[] }> {
  const daemon = await DaemonProcess.start({ label: 'sdk', nodeArgs: daemonArgs(null), extraConfig: DAEMON_CONFIG });
  const warnings: string[] = [];
  let exit: Exit | null = null;
  try {
    const config: SdkConfig = { target: daemon.grpc, spans: SDK_SPANS, spansPerTrace: 16, timeoutMs: 10_000 };
    const result = await runChild<SdkResult>('./sdk-exporter.js', config, 60_000);
    const m = await settled(daemon);
    const accepted = m.get('vigil_spans_accepted_total') ?? 0;
    const actions = m.get('vigil_actions_total') ?? 0;
    if (accepted < result.exportedOk) warnings.push(`WARNING: daemon accepted ${fmt(accepted)} < ${fmt(result.exportedOk)} acknowledged to the SDK`);
    if (result.exportFailed > 0) warnings.push(`WARNING: ${fmt(result.exportFailed)} spans failed to export: ${result.firstError}`);
    exit = await daemon.stop();
    if (exit.code !== 0) warnings.push(`WARNING: the daemon exited with code ${exit.code} after SIGTERM`);
    return { ...result, accepted, actions, exitCode: exit.code, warnings };
  } finally {
    if (exit === null) exit = await daemon.stop();
    daemon.cleanup();
  }
}

interface LatencyFigures {
  /** The HTTP figure the background load is half of, and where it came from. */
  maxSpansPerSec: number;
  maxSource: string;
  offeredSpansPerSec: number;
  /** What the daemon acknowledged during the probe window (the load generator's measured window). */
  loadSpansPerSec: number;
  load: { windowMs: number; backpressure: number; errors: number; skippedSends: number; latencyMs: LoadResult['window']['latencyMs'] };
  probes: number;
  intervalMs: number;
  identities: number;
  latencyMs: Stats;
  exportMs: Stats;
  alerted: number;
  missing: number;
  alertBeforeAck: number;
  target: number;
  met: boolean;
  baseline: LatencyResult['baseline'];
  ws: LatencyResult['ws'];
  probeErrors: number;
  daemon: { cpuPctOfCore: number; rssEndMb: number; alerts: number; exitCode: number | null };
  internals: ReturnType<typeof probeWindowInternals>;
  profile?: Profile;
  clientCpuPct: number;
  otherCpuPct: number;
  warnings: string[];
}

/**
 * Alert latency at half the maximum sustained load: a fresh daemon; the probe client learns baselines for
 * LATENCY_IDENTITIES identities and opens the websocket; paced HTTP background load at half of `maxHttp`
 * (the HTTP phase's figure, or a quick 3 s closed-loop measurement here) starts; after its warm-up the
 * probes go out, one every PROBE_INTERVAL_MS; the load stops when the probes are done.
 */
async function alertLatency(maxHttp: number | null): Promise<LatencyFigures> {
  const prof = profileOptions('latency');
  const daemon = await DaemonProcess.start({ label: 'latency', nodeArgs: daemonArgs(prof), extraConfig: DAEMON_CONFIG });
  const warnings: string[] = [];
  let exit: Exit | null = null;
  let probe: Child<LatencyResult> | null = null;
  let load: Child<LoadResult> | null = null;
  const loadShape = { transport: 'http' as const, target: daemon.http, concurrency: CONCURRENCY, channels: 1, requestTimeoutMs: 10_000, batches: Math.max(32, 2 * CONCURRENCY), spansPerBatch: 512, spansPerTrace: 16, identities: 1000 };
  try {
    let max = maxHttp ?? 0;
    let maxSource = 'the HTTP/protobuf phase above';
    if (!(max > 0)) {
      const quick = await runChild<LoadResult>('./load-generator.js', { ...loadShape, warmupMs: 1000, durationMs: 3000 } satisfies LoadConfig, 60_000);
      max = (quick.window.spansAcked / quick.window.ms) * 1000;
      maxSource = 'a 3 s closed-loop HTTP/protobuf run on this daemon (the HTTP phase did not run)';
    }
    const offered = max / 2;
    const probeConfig: ProbeConfig = {
      mode: 'latency', token: BENCH_TOKEN, http: daemon.http, api: daemon.api, identities: LATENCY_IDENTITIES, baselineTraces: BASELINE_TRACES,
      probes: PROBES, intervalMs: PROBE_INTERVAL_MS, concurrency: 1, probesPerExport: 1, alertTimeoutMs: ALERT_TIMEOUT_MS, deliveryTimeoutMs: 0,
    };
    let armed!: () => void;
    const armedP = new Promise<void>((r) => (armed = r));
    probe = new Child<LatencyResult>('./alert-probe.js', probeConfig, 120_000, (m) => m.type === 'armed' && armed());
    await Promise.race([armedP, probe.result.then(() => Promise.reject(new Error('the probe client finished before it was armed')))]);

    let cpuStart = daemon.cpu();
    let host0 = hostBusySeconds();
    let self0 = process.cpuUsage();
    let metrics0: Promise<string> = Promise.resolve('');
    const p = probe;
    const loadConfig: LoadConfig = { ...loadShape, warmupMs: 2000, durationMs: 120_000, spansPerSec: offered };
    load = new Child<LoadResult>('./load-generator.js', loadConfig, 180_000, (m) => {
      if (m.type !== 'window-start') return;
      try {
        cpuStart = daemon.cpu();
        host0 = hostBusySeconds();
        self0 = process.cpuUsage();
        // Also resets prom-client's event-loop delay histogram, so the next scrape covers the probe window.
        metrics0 = daemon.get('/metrics').then((x) => x.body, () => '');
      } catch {
        // the daemon died: reported below
      }
      p.send({ type: 'go' });
    });
    const loadDone = load.result.then(() => Promise.reject(new Error('the background load ended before the probes')));
    const r = await Promise.race([probe.result, loadDone]);
    if (!daemon.alive) throw new Error(daemon.deathNote());
    const cpuEnd = daemon.cpu();
    const host1 = hostBusySeconds();
    const self = process.cpuUsage(self0);
    const memEnd = daemon.memory();
    const internals = probeWindowInternals(await metrics0, (await daemon.get('/metrics')).body);
    load.send({ type: 'stop' });
    const lr = await load.result;

    const windowSec = Number(cpuEnd.at - cpuStart.at) / 1e9;
    const daemonSec = cpuEnd.cpuSec - cpuStart.cpuSec;
    const clientCpuPct = lr.window.clientCpuPct;
    const otherSec = host1 - host0 - daemonSec - (clientCpuPct / 100) * windowSec - (r.clientCpuMs / 1000) - (self.user + self.system) / 1e6;
    const otherCpuPct = windowSec > 0 ? Math.max(0, Math.round((otherSec / windowSec) * 1000) / 10) : 0;
    if (otherCpuPct > 15) warnings.push(`WARNING: other processes used ${otherCpuPct}% of a core during the probes (the host has ${os.cpus().length}): latency is overstated`);
    const loadSpansPerSec = (lr.window.spansAcked / lr.window.ms) * 1000;
    if (loadSpansPerSec < offered * 0.9) warnings.push(`WARNING: the daemon acknowledged ${fmt(loadSpansPerSec)} spans/s of the ${fmt(offered)} offered: it did not sustain half of the maximum here`);
    if (lr.window.skippedSends > 0) warnings.push(`WARNING: ${lr.window.skippedSends} background sends skipped: ${CONCURRENCY} requests were still in flight`);
    if (r.probeErrors > 0) warnings.push(`WARNING: ${r.probeErrors} probe exports failed, e.g. ${r.errorSamples[0]}`);
    if (r.baseline.alertsRaised > 0) warnings.push(`note: learning the baselines raised ${r.baseline.alertsRaised} alert(s)`);
    if (r.ws.reconnects > 0) warnings.push(`WARNING: the websocket was closed ${r.ws.reconnects} time(s) (codes ${r.ws.closeCodes.join(', ')}) and resumed with since`);
    if (lr.total.errors > 0) warnings.push(`WARNING: ${lr.total.errors} background requests failed, e.g. ${lr.errorSamples[0] ?? '?'}`);
    if (daemon.problems.length > 0) warnings.push(`WARNING: the daemon logged ${daemon.problems.length} warning/error line(s), first: ${daemon.problems[0].slice(0, 300)}`);
    const m = await settled(daemon);
    exit = await daemon.stop();
    if (exit.code !== 0) warnings.push(`WARNING: the daemon exited with code ${exit.code} (signal ${exit.signal}) after SIGTERM`);
    let profile: Profile | undefined;
    if (prof) {
      const file = fs.readdirSync(prof.dir).find((x) => x.endsWith('.cpuprofile'));
      if (file) profile = summarizeProfile(path.join(prof.dir, file));
      else warnings.push(`WARNING: no .cpuprofile written in ${prof.dir}`);
    }
    return {
      profile,
      maxSpansPerSec: Math.round(max),
      maxSource,
      offeredSpansPerSec: Math.round(offered),
      loadSpansPerSec: Math.round(loadSpansPerSec),
      load: { windowMs: lr.window.ms, backpressure: lr.window.backpressure, errors: lr.window.errors, skippedSends: lr.window.skippedSends, latencyMs: lr.window.latencyMs },
      probes: r.probes,
      intervalMs: PROBE_INTERVAL_MS,
      identities: LATENCY_IDENTITIES,
      latencyMs: r.latencyMs,
      exportMs: r.exportMs,
      alerted: r.alerted,
      missing: r.missing,
      alertBeforeAck: r.alertBeforeAck,
      target: TARGETS.alertP99Ms,
      met: r.missing === 0 && r.latencyMs.p99 <= TARGETS.alertP99Ms,
      baseline: r.baseline,
      ws: r.ws,
      probeErrors: r.probeErrors,
      daemon: { cpuPctOfCore: windowSec > 0 ? Math.round((daemonSec / windowSec) * 1000) / 10 : 0, rssEndMb: Math.round(memEnd.rssKb / 1024), alerts: m.get('vigil_alerts_total') ?? 0, exitCode: exit.code },
      internals,
      clientCpuPct,
      otherCpuPct,
      warnings,
    };
  } finally {
    probe?.kill();
    load?.kill();
    if (exit === null) exit = await daemon.stop();
    daemon.cleanup();
  }
}

/** What the daemon's /metrics say about the probe window: event-loop delay, GC pauses, group commits. */
function probeWindowInternals(before: string, after: string) {
  const value = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
  const delta = (re: RegExp) => value(after, re) - value(before, re);
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  const commits = delta(/^vigil_store_commit_seconds_count (\S+)/m);
  return {
    // prom-client resets its event-loop delay histogram at every scrape: these cover the window.
    eventLoopDelayMaxMs: Math.round(value(after, /^nodejs_eventloop_lag_max_seconds (\S+)/m) * 1000),
    eventLoopDelayP99Ms: Math.round(value(after, /^nodejs_eventloop_lag_p99_seconds (\S+)/m) * 1000),
    gcMajorCount: delta(/^nodejs_gc_duration_seconds_count\{kind="major"\} (\S+)/m),
    gcMajorSec: r3(delta(/^nodejs_gc_duration_seconds_sum\{kind="major"\} (\S+)/m)),
    gcAllSec: r3(delta(/^nodejs_gc_duration_seconds_sum\{kind="minor"\} (\S+)/m) + delta(/^nodejs_gc_duration_seconds_sum\{kind="major"\} (\S+)/m) + delta(/^nodejs_gc_duration_seconds_sum\{kind="incremental"\} (\S+)/m)),
    commits,
    commitMeanMs: commits > 0 ? Math.round((delta(/^vigil_store_commit_seconds_sum (\S+)/m) / commits) * 100_000) / 100 : 0,
    commitsOver100ms: commits - delta(/^vigil_store_commit_seconds_bucket\{le="0\.1"\} (\S+)/m),
  };
}

/** p99 within the target and every probe alerted (a probe without its alert is not a fast one). */
function latencyVerdict(f: LatencyFigures): string {
  return `target p99 ≤ ${f.target} ms${f.missing > 0 ? `, ${f.missing} probe(s) without an alert` : ''}  ${f.met ? 'MET' : 'MISSED'}`;
}

function printLatency(f: LatencyFigures): void {
  out(`Alert latency (OTLP/HTTP export call -> websocket alert frame) at half of the maximum sustained load`);
  out(`  set-up           ${f.identities} read-only identities learned ${fmt(f.baseline.spans)} spans of baseline (48 h ago to 1 h ago) in ${fmt(f.baseline.ms)} ms; unfiltered websocket subscriber`);
  out(`  background load  ${fmt(f.offeredSpansPerSec)} spans/s offered (half of ${fmt(f.maxSpansPerSec)} from ${f.maxSource}), ${fmt(f.loadSpansPerSec)} acknowledged over ${(f.load.windowMs / 1000).toFixed(1)} s; request latency ${ms({ ...f.load.latencyMs, mean: 0, n: 0 })}`);
  out(`  probes           ${f.probes}, one every ${f.intervalMs} ms, each one trace (a never-written tool + its DELETE) = one new unexpected_write alert`);
  out(`  export -> alert  ${ms(f.latencyMs)}, mean ${f.latencyMs.mean} ms   ${latencyVerdict(f)}`);
  out(`  no alert in ${ALERT_TIMEOUT_MS / 1000} s  ${f.missing} of ${f.probes}`);
  out(`  export answered  ${ms(f.exportMs)}; alert frame before the export's response in ${f.alertBeforeAck} of ${f.alerted}`);
  out(`  websocket        ${fmt(f.ws.alertFrames)} alert frames (${fmt(f.ws.otherIdentityAlerts)} from the background load), ${fmt(f.ws.updateFrames)} update frames, ${f.ws.reconnects} reconnects`);
  out(`  daemon           CPU ${f.daemon.cpuPctOfCore}% of one core during the probes; RSS ${f.daemon.rssEndMb} MB; alerts raised ${fmt(f.daemon.alerts)}; exit code ${f.daemon.exitCode}`);
  const i = f.internals;
  out(`  daemon internals event-loop delay max ${i.eventLoopDelayMaxMs} ms (p99 ${i.eventLoopDelayP99Ms} ms); GC ${i.gcAllSec} s (${i.gcMajorCount} major, ${i.gcMajorSec} s); group commits ${fmt(i.commits)}, mean ${i.commitMeanMs} ms, ${i.commitsOver100ms} over 100 ms`);
  out(`  load generator   CPU ${f.clientCpuPct}% of one core; other processes on the host ${f.otherCpuPct}% of one core`);
  for (const w of f.warnings) out(`  ${w}`);
  if (f.profile) printProfile(f.profile);
  out();
}

interface WebhookFigures extends Omit<WebhookResult, 'mode'> {
  identities: number;
  metrics: { delivered: number; retry: number; disabled: number; pending: number };
  daemon: { exitCode: number | null; cpuPctOfCore: number };
  otherCpuPct: number;
  warnings: string[];
}

/**
 * Webhook deliveries per second: the probe client starts its receiver first (its URL goes into the
 * daemon's config), then learns baselines and sends WEBHOOK_PROBES probes, 50 per export and 4 exports in
 * flight, so alerts are raised faster than they are delivered; every stored alert must arrive once
 * (dedupe by webhook-id).
 */
async function webhookDeliveries(): Promise<WebhookFigures> {
  const warnings: string[] = [];
  const probeConfig: ProbeConfig = {
    mode: 'webhooks', token: BENCH_TOKEN, identities: WEBHOOK_IDENTITIES, baselineTraces: BASELINE_TRACES,
    probes: WEBHOOK_PROBES, intervalMs: 0, concurrency: 4, probesPerExport: 50, alertTimeoutMs: ALERT_TIMEOUT_MS, deliveryTimeoutMs: 30_000,
  };
  let gotReceiver!: (m: ChildMessage) => void;
  const receiverP = new Promise<ChildMessage>((r) => (gotReceiver = r));
  let probing: { cpuSec: number; at: number } | null = null;
  let daemon: DaemonProcess | null = null;
  const probe = new Child<WebhookResult>('./alert-probe.js', probeConfig, 150_000, (m) => {
    if (m.type === 'receiver') gotReceiver(m);
    if (m.type === 'probing' && daemon?.alive) probing = { cpuSec: daemon.cpu().cpuSec, at: performance.now() };
  });
  let exit: Exit | null = null;
  try {
    const rec = await Promise.race([receiverP, probe.result.then(() => Promise.reject(new Error('the probe client finished before its receiver was up')))]);
    daemon = await DaemonProcess.start({
      label: 'webhooks',
      nodeArgs: daemonArgs(null),
      extraConfig: [...DAEMON_CONFIG, 'webhooks:', `  - url: ${JSON.stringify(rec.url)}`, `    secret: ${JSON.stringify(rec.secret)}`],
    });
    const host0 = hostBusySeconds();
    const cpu0 = daemon.cpu();
    const t0 = performance.now();
    probe.send({ type: 'target', http: daemon.http, api: daemon.api });
    const r = await probe.result;
    if (!daemon.alive) throw new Error(daemon.deathNote());
    const sec = (performance.now() - t0) / 1000;
    const cpuEnd = daemon.cpu().cpuSec;
    const daemonSec = cpuEnd - cpu0.cpuSec;
    const p = probing as { cpuSec: number; at: number } | null;
    const deliveryCpuPct = p ? Math.round(((cpuEnd - p.cpuSec) / ((performance.now() - p.at) / 1000)) * 1000) / 10 : 0;
    const otherPct = Math.max(0, Math.round(((hostBusySeconds() - host0 - daemonSec - r.clientCpuMs / 1000) / sec) * 1000) / 10);
    if (otherPct > 15) warnings.push(`WARNING: other processes used ${otherPct}% of a core meanwhile (the host has ${os.cpus().length}): figures may be understated`);
    const text = (await daemon.get('/metrics')).body;
    const outcome = (o: string) => Number(new RegExp(`^vigil_webhook_deliveries_total\\{[^}]*outcome="${o}"[^}]*\\} (\\S+)`, 'm').exec(text)?.[1] ?? 0);
    const pending = Number(/^vigil_webhook_outbox_pending (\S+)/m.exec(text)?.[1] ?? 0);
    if (r.missing > 0) warnings.push(`WARNING: ${r.missing} stored alerts were not delivered within ${probeConfig.deliveryTimeoutMs / 1000} s of the last probe`);
    if (r.unexpected > 0) warnings.push(`WARNING: ${r.unexpected} deliveries carry a webhook-id that is no stored alert`);
    if (r.badSignatures > 0) warnings.push(`WARNING: ${r.badSignatures} deliveries failed signature verification (standardwebhooks)`);
    if (r.probeErrors > 0) warnings.push(`WARNING: ${r.probeErrors} probe exports failed, e.g. ${r.errorSamples[0]}`);
    if (r.ws.reconnects > 0) warnings.push(`note: the websocket was closed ${r.ws.reconnects} time(s) (codes ${r.ws.closeCodes.join(', ')}) and resumed with since`);
    if (r.baseline.alertsRaised > 0) warnings.push(`note: learning the baselines raised ${r.baseline.alertsRaised} alert(s) (delivered too, counted in the store)`);
    if (daemon.problems.length > 0) warnings.push(`WARNING: the daemon logged ${daemon.problems.length} warning/error line(s), first: ${daemon.problems[0].slice(0, 300)}`);
    exit = await daemon.stop();
    if (exit.code !== 0) warnings.push(`WARNING: the daemon exited with code ${exit.code} (signal ${exit.signal}) after SIGTERM`);
    const { mode: _mode, ...rest } = r;
    return {
      ...rest,
      identities: WEBHOOK_IDENTITIES,
      metrics: { delivered: outcome('delivered'), retry: outcome('retry'), disabled: outcome('disabled'), pending },
      daemon: { exitCode: exit.code, cpuPctOfCore: deliveryCpuPct },
      otherCpuPct: otherPct,
      warnings,
    };
  } finally {
    probe.kill();
    if (daemon) {
      if (exit === null) exit = await daemon.stop();
      daemon.cleanup();
    }
  }
}

function printWebhooks(f: WebhookFigures): void {
  out(`Webhook deliveries (local node:http receiver answering 200, Standard Webhooks signatures verified, default delivery settings)`);
  out(`  set-up           ${f.identities} identities learned ${fmt(f.baseline.spans)} spans of baseline in ${fmt(f.baseline.ms)} ms; ${fmt(f.probes)} probes in ${f.exports} exports (4 in flight), answered in ${fmt(f.probeSendMs)} ms`);
  out(`  alerts           ${fmt(f.alertsInStore)} stored (${fmt(f.alertsFromProbes)} from the probes), raised over ${fmt(f.alertSpanMs)} ms (first to last websocket frame)`);
  out(`  delivered        ${fmt(f.deliveriesPerSec).padStart(9)} deliveries/s   (${fmt(f.delivered)} in ${fmt(f.endToEndMs)} ms from the first alert frame to the last delivery; deliveries alone spanned ${fmt(f.deliverySpanMs)} ms)`);
  out(`  alert -> webhook ${ms(f.alertToDeliveryMs)} (from its websocket frame)`);
  out(`  check            ${fmt(f.delivered)} of ${fmt(f.alertsInStore)} stored alerts arrived (missing ${f.missing}), duplicates ${f.duplicates}, unknown ids ${f.unexpected}, bad signatures ${f.badSignatures}; the daemon used ${f.connections} connection(s)`);
  out(`  check (/metrics) delivered ${fmt(f.metrics.delivered)}, retry ${fmt(f.metrics.retry)}, disabled ${f.metrics.disabled}, outbox pending ${fmt(f.metrics.pending)}; daemon exit code ${f.daemon.exitCode}`);
  out(`  host             daemon CPU ${f.daemon.cpuPctOfCore}% of one core from the first probe to the last delivery; other processes ${f.otherCpuPct}% of one core`);
  for (const w of f.warnings) out(`  ${w}`);
  out();
}

interface DetectFigures {
  replay?: ReplayFigures & { target: number; met: boolean; otherCpuPct: number; profile?: Profile } | { error: string };
  memory?: MemoryFigures & { target: number; met: boolean; otherCpuPct: number } | { error: string };
}

/** Runs a detect-bench part in its own process; the host's other CPU use over its lifetime. */
async function detectPart<R extends { cpuSec: number }>(part: DetectPart, execArgv: string[], timeoutMs: number): Promise<{ r: R; otherCpuPct: number; child: Child<R> }> {
  const host0 = hostBusySeconds();
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  const child = new Child<R>('./detect-bench.js', part, timeoutMs, undefined, execArgv);
  const r = await child.result;
  await child.exited;
  const sec = (performance.now() - t0) / 1000;
  const self = process.cpuUsage(self0);
  const other = hostBusySeconds() - host0 - r.cpuSec - (self.user + self.system) / 1e6;
  return { r, otherCpuPct: Math.max(0, Math.round((other / sec) * 1000) / 10), child };
}

async function detection(): Promise<DetectFigures> {
  const f: DetectFigures = {};
  try {
    const prof = profileOptions('replay');
    const { r, otherCpuPct } = await detectPart<ReplayFigures>({ part: 'replay' }, prof?.nodeArgs ?? [], 180_000);
    const replay: NonNullable<DetectFigures['replay']> = { ...r, target: TARGETS.replay, met: r.spansPerSec >= TARGETS.replay, otherCpuPct };
    if (prof) {
      const file = fs.readdirSync(prof.dir).find((x) => x.endsWith('.cpuprofile'));
      if (file) (replay as ReplayFigures & { profile?: Profile }).profile = summarizeProfile(path.join(prof.dir, file));
    }
    f.replay = replay;
  } catch (err) {
    f.replay = { error: (err as Error).message };
  }
  try {
    const { r, otherCpuPct } = await detectPart<MemoryFigures>({ part: 'memory' }, ['--expose-gc'], 300_000);
    f.memory = { ...r, target: TARGETS.memoryMiB, met: r.peakRssMiB <= TARGETS.memoryMiB, otherCpuPct };
  } catch (err) {
    f.memory = { error: (err as Error).message };
  }
  return f;
}

function printDetection(f: DetectFigures): void {
  const r = f.replay;
  if (r && 'error' in r) out(`Replay with all detectors: FAILED — ${r.error}`);
  else if (r) {
    out(`Replay with all detectors (in process, child; generated week of a ${r.identities}-identity fleet, OTLP/JSON lines ${r.fileMb} MB, in-memory SQLite)`);
    out(`  throughput       ${fmt(r.spansPerSec).padStart(9)} spans/s   ${verdict(r.spansPerSec, r.target)}   (${fmt(r.spans)} spans, ${fmt(r.actions)} actions, ${r.alerts} alerts in ${r.seconds.toFixed(2)} s)`);
    out(`  per action       ${r.usPerAction.toFixed(1)} µs end to end (read, decode, build, detect + learn, commit); detection engine ${r.engineUsPerAction.toFixed(1)} µs (${Math.round(r.engineShare * 100)}% of the replay; every detector, then learning); engine commits ${r.engineCommitSec.toFixed(2)} s`);
    out(`  host             other processes ${r.otherCpuPct}% of one core`);
    if (r.otherCpuPct > 15) out(`  WARNING: other processes used ${r.otherCpuPct}% of a core meanwhile: figures may be understated`);
    if (r.profile) printProfile(r.profile);
    out();
  }
  const m = f.memory;
  if (m && 'error' in m) out(`Memory for 100k identities: FAILED — ${m.error}`);
  else if (m) {
    out(`Memory for ${fmt(m.identities)} identities (detection engine + SQLite file, own process with --expose-gc; ${fmt(m.actions)} synthetic actions, 8 peer groups)`);
    out(`  peak RSS         ${fmt(m.peakRssMiB).padStart(9)} MiB       ${verdictAtMost(m.peakRssMiB, m.target, 'MiB')}   (VmHWM over the whole run)`);
    out(`  after full GC    RSS ${fmt(m.rssMiB)} MiB, V8 heap used ${fmt(m.heapMiB)} MiB of ${fmt(m.heapTotalMiB)} committed, external ${fmt(m.externalMiB)} MiB${m.gcExposed ? '' : ' (no gc(): --expose-gc missing)'}; hot baselines ${fmt(m.hot)} (bound ${fmt(m.maxHot)}), the rest in SQLite; ${m.seconds.toFixed(1)} s`);
    out(`  host             other processes ${m.otherCpuPct}% of one core`);
    out();
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const cpus = os.cpus();
  if (process.env.VIGIL_BENCH_CLI) out(`daemon build: ${process.env.VIGIL_BENCH_CLI} (VIGIL_BENCH_CLI)`);
  if (DAEMON_CONFIG.length > 0) out(`daemon config additions: ${DAEMON_CONFIG.join(' / ')}`);
  out(`Vigil benchmark — ${cpus.length} cores (${cpus[0]?.model.trim() ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, ${os.platform()} ${os.release()}`);
  out();
  const report: Record<string, unknown> = {
    machine: { cores: cpus.length, cpu: cpus[0]?.model.trim(), node: process.version },
    settings: {
      durationMs: DURATION_MS, warmupMs: WARMUP_MS, concurrency: CONCURRENCY, batchSpans: 512, spansPerTrace: 16, identities: 1000, daemonFlags: DAEMON_FLAGS, daemonConfig: DAEMON_CONFIG,
      probes: PROBES, probeIntervalMs: PROBE_INTERVAL_MS, webhookProbes: WEBHOOK_PROBES, alertTimeoutMs: ALERT_TIMEOUT_MS,
    },
    targets: TARGETS,
  };
  let failed = false;

  if (ONLY.has('decode')) {
    const batch = makeBenchBatch(42);
    const host0 = hostBusySeconds();
    const self0 = process.cpuUsage();
    const t0 = performance.now();
    const d = await benchDecode();
    const self = process.cpuUsage(self0);
    const sec = (performance.now() - t0) / 1000;
    const otherPct = Math.max(0, Math.round(((hostBusySeconds() - host0 - (self.user + self.system) / 1e6) / sec) * 1000) / 10);
    out(`Decode-only (in process, one 512-span batch: protobuf ${fmt(batch.protobuf.length)} B = ${Math.round(batch.protobuf.length / 512)} B/span, JSON ${fmt(batch.json.length)} B)`);
    out(`  protobuf         ${fmt(d.spansPerSec).padStart(9)} spans/s   ${verdict(d.spansPerSec, TARGETS.decode)}`);
    out(`  JSON             ${fmt(d.jsonSpansPerSec).padStart(9)} spans/s   (no target)`);
    out(`  other processes on the host ${otherPct}% of one core`);
    if (otherPct > 15) out(`  WARNING: other processes used ${otherPct}% of a core meanwhile: figures may be understated`);
    out();
    report.decode = { protobufSpansPerSec: d.spansPerSec, jsonSpansPerSec: d.jsonSpansPerSec, met: d.spansPerSec >= TARGETS.decode, otherCpuPct: otherPct };
  }

  for (const transport of ['grpc', 'http'] as const) {
    if (!ONLY.has(transport)) continue;
    try {
      const f = await endToEnd(transport);
      printE2E(f);
      report[transport] = f;
    } catch (err) {
      failed = true;
      out(`End-to-end over ${transport}: FAILED — ${(err as Error).message}`);
      out();
      report[transport] = { error: (err as Error).message };
    }
  }

  if (ONLY.has('latency')) {
    try {
      const h = report.http as E2EFigures | { error: string } | undefined;
      const f = await alertLatency(h && !('error' in h) ? h.spansPerSec : null);
      printLatency(f);
      report.latency = f;
    } catch (err) {
      failed = true;
      out(`Alert latency: FAILED — ${(err as Error).message}`);
      out();
      report.latency = { error: (err as Error).message };
    }
  }

  if (ONLY.has('webhooks')) {
    try {
      const f = await webhookDeliveries();
      printWebhooks(f);
      report.webhooks = f;
    } catch (err) {
      failed = true;
      out(`Webhook deliveries: FAILED — ${(err as Error).message}`);
      out();
      report.webhooks = { error: (err as Error).message };
    }
  }

  if (ONLY.has('sdk')) {
    try {
      const s = await sdkPass();
      out(`SDK exporter (client-bound) — @opentelemetry/exporter-trace-otlp-grpc + BatchSpanProcessor (512 spans per export), ${fmt(s.spans)} spans`);
      out(`  exported         ${fmt(s.spansPerSec).padStart(9)} spans/s   (${fmt(s.exportedOk)} ok, ${fmt(s.exportFailed)} failed, ${s.exportCalls} exports in ${fmt(s.ms)} ms; SDK process CPU ${s.clientCpuPct}% of one core)`);
      out(`  note             measures the SDK's span objects and its own protobuf encoder, not the daemon; no target`);
      out(`  check (/metrics) daemon accepted ${fmt(s.accepted)}, actions ${fmt(s.actions)}; daemon exit code ${s.exitCode} after SIGTERM`);
      for (const w of s.warnings) out(`  ${w}`);
      out();
      report.sdk = s;
    } catch (err) {
      failed = true;
      out(`SDK exporter pass: FAILED — ${(err as Error).message}`);
      out();
      report.sdk = { error: (err as Error).message };
    }
  }

  if (ONLY.has('detect')) {
    const f = await detection();
    printDetection(f);
    report.detect = f;
    if ((f.replay && 'error' in f.replay) || (f.memory && 'error' in f.memory)) failed = true;
  }

  const seconds = Math.round((performance.now() - started) / 100) / 10;
  out('Summary');
  const d = report.decode as { protobufSpansPerSec: number } | undefined;
  if (d) out(`  decode-only protobuf  ${fmt(d.protobufSpansPerSec).padStart(9)} spans/s   ${verdict(d.protobufSpansPerSec, TARGETS.decode)}`);
  for (const t of ['grpc', 'http'] as const) {
    const f = report[t] as E2EFigures | { error: string } | undefined;
    if (f === undefined) continue;
    const label = t === 'grpc' ? 'end-to-end gRPC     ' : 'end-to-end HTTP/pb  ';
    if ('error' in f) out(`  ${label}  FAILED`);
    else out(`  ${label}  ${fmt(f.spansPerSec).padStart(9)} spans/s   ${verdict(f.spansPerSec, f.target)}   (daemon CPU ${f.daemon.cpuPctOfCore}%, RSS ${f.daemon.rssEndMb} MB)`);
  }
  const l = report.latency as LatencyFigures | { error: string } | undefined;
  if (l && 'error' in l) out('  alert latency          FAILED');
  else if (l) out(`  alert latency p99      ${String(l.latencyMs.p99).padStart(9)} ms        ${latencyVerdict(l)}   (p50 ${l.latencyMs.p50} ms, max ${l.latencyMs.max} ms, ${l.missing} of ${l.probes} without an alert; load ${fmt(l.loadSpansPerSec)} spans/s)`);
  const w = report.webhooks as WebhookFigures | { error: string } | undefined;
  if (w && 'error' in w) out('  webhook deliveries     FAILED');
  else if (w) out(`  webhook deliveries     ${fmt(w.deliveriesPerSec).padStart(9)} /s        (${fmt(w.delivered)} of ${fmt(w.alertsInStore)} alerts delivered, ${w.duplicates} duplicates; no target)`);
  const s = report.sdk as SdkResult | { error: string } | undefined;
  if (s && !('error' in s)) out(`  SDK exporter (client-bound) ${fmt(s.spansPerSec)} spans/s`);
  const det = report.detect as DetectFigures | undefined;
  if (det?.replay && 'error' in det.replay) out('  replay, all detectors  FAILED');
  else if (det?.replay && !('error' in det.replay)) out(`  replay, all detectors  ${fmt(det.replay.spansPerSec).padStart(9)} spans/s   ${verdict(det.replay.spansPerSec, det.replay.target)}   (${det.replay.usPerAction.toFixed(1)} µs/action, engine ${det.replay.engineUsPerAction.toFixed(1)} µs/action)`);
  if (det?.memory && 'error' in det.memory) out('  memory, 100k ids       FAILED');
  else if (det?.memory && !('error' in det.memory)) out(`  memory, 100k ids       ${fmt(det.memory.peakRssMiB).padStart(9)} MiB       ${verdictAtMost(det.memory.peakRssMiB, det.memory.target, 'MiB')}   (peak RSS; ${fmt(det.memory.rssMiB)} MiB after GC)`);
  out(`  total time ${seconds} s`);
  report.totalSeconds = seconds;
  out(JSON.stringify(report));
  if (failed) process.exitCode = 1;
}

await main();
