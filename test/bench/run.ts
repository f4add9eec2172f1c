/**
 * `npm run bench`: decode-only throughput, then end-to-end throughput of the real daemon (a separate
 * process) over OTLP/gRPC and OTLP/HTTP-protobuf driven by a separate load-generator process, then a short
 * sanity pass with the real OpenTelemetry SDK exporter. Prints a readable report and, last, one JSON line
 * with every figure. Targets are printed next to the figures; missing one is reported, never fatal.
 *
 * Options (after `npm run bench --`): --duration S (measured window, default 10), --warmup S (default 2),
 * --concurrency N (default 16), --only decode,grpc,http,sdk, --sdk-spans N (default 20000),
 * --profile (daemons run with --cpu-prof; prints their top self-time functions and keeps the profiles),
 * --daemon-flags="..." (extra node flags for the daemons, e.g. --daemon-flags="--max-old-space-size=256").
 * Environment: VIGIL_BENCH_CLI=path/to/cli.js runs another build of the daemon (to measure a change).
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchDecode, makeBenchBatch } from './decode-bench.js';
import { DaemonProcess, hostBusySeconds, type Exit } from './daemon-process.js';
import type { LoadConfig, LoadResult } from './load-generator.js';
import { inclusiveTime, selfTimeByPackage, topSelfTime, type SelfTime } from './profile-summary.js';
import type { SdkConfig, SdkResult } from './sdk-exporter.js';

const TARGETS = { decode: 300_000, grpc: 150_000, http: 200_000 } as const;

const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '16' },
    only: { type: 'string', default: 'decode,grpc,http,sdk' },
    'sdk-spans': { type: 'string', default: '20000' },
    profile: { type: 'boolean', default: false },
    'daemon-flags': { type: 'string', default: '' },
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

const DAEMON_FLAGS = opts['daemon-flags'].split(/\s+/).filter(Boolean);

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const verdict = (value: number, target: number) => `target ≥ ${fmt(target)}  ${value >= target ? 'MET' : 'MISSED'}`;
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
  clientCpuPct: number;
  /** CPU used by everything else on the host in the window (other test runs...), % of one core. */
  otherCpuPct: number;
  metrics: {
    spansReceived: number; spansAccepted: number; spansRejected: number; requestsRejected: number; spansIgnored: number; actions: number;
    traceBufferSpans: number; queueSpans: number; identities: number; alerts: number;
    /** Group commits over the whole run and their total duration (s). */
    commits: number; commitSec: number;
    /** Main-thread GC pause time over the whole run (s), and the V8 heap in use after the run (MB). */
    gcSec: number; heapUsedMb: number;
  };
  warnings: string[];
  errorSamples: string[];
  profile?: { file: string; totalMs: number; top: SelfTime[]; inclusive: SelfTime[]; byPackage: SelfTime[] };
}

/** Forks a compiled child entry, sends it {type:'run', config}, relays its progress, resolves its result. */
function runChild<R>(file: string, config: unknown, timeoutMs: number, onMessage: (type: string) => void = () => {}): Promise<R> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = fork(here(file), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      settle(() => reject(new Error(`${file} did not finish within ${timeoutMs} ms`)));
    }, timeoutMs);
    child.on('message', (msg: { type: string; result?: R; error?: string }) => {
      if (msg.type === 'result') settle(() => resolve(msg.result as R));
      else if (msg.type === 'failed') settle(() => reject(new Error(`${file}: ${msg.error}`)));
      else onMessage(msg.type);
    });
    child.once('exit', (code, signal) => settle(() => reject(new Error(`${file} exited (code ${code}, signal ${signal}) without a result`))));
    child.send({ type: 'run', config });
  });
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
  const daemon = await DaemonProcess.start({ label: transport, nodeArgs: daemonArgs(prof) });
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
          host0 = hostBusySeconds();
          self0 = process.cpuUsage();
        }
        if (type === 'window-end') {
          cpuEnd = daemon.cpu();
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

function printE2E(f: E2EFigures): void {
  const name = f.transport === 'grpc' ? 'gRPC' : 'HTTP/protobuf';
  out(`End-to-end over ${name}  (${f.transport === 'grpc' ? '4 channels, ' : 'keep-alive, '}${CONCURRENCY} requests in flight, 512-span batches of ${fmt(f.batchBytes)} B, 32 traces x 16 spans over 1,000 identities, fresh trace ids per send; ${WARMUP_MS / 1000} s warm-up + ${f.window.ms / 1000} s measured)`);
  out(`  acknowledged     ${fmt(f.spansPerSec).padStart(9)} spans/s   ${verdict(f.spansPerSec, f.target)}`);
  out(`  requests         ${String(f.requestsPerSec).padStart(9)} req/s     latency p50 ${f.latencyMs.p50} ms, p90 ${f.latencyMs.p90} ms, p99 ${f.latencyMs.p99} ms, max ${f.latencyMs.max} ms`);
  out(`  refused          backpressure ${f.window.backpressure}, errors ${f.window.errors}, partially rejected spans ${f.window.spansRejected} (window); whole run: backpressure ${f.total.backpressure}, errors ${f.total.errors}`);
  out(`  daemon           CPU ${f.daemon.cpuPctOfCore}% of one core; RSS ${f.daemon.rssEndMb} MB at end of window, peak sampled ${f.daemon.rssPeakMb} MB, VmHWM ${f.daemon.hwmMb} MB`);
  out(`  load generator   CPU ${f.clientCpuPct}% of one core; other processes on the host ${f.otherCpuPct}% of one core`);
  const m = f.metrics;
  out(`  check (/metrics) client acknowledged ${fmt(f.total.spansAcked)} of ${fmt(f.total.spansSent)} sent; daemon received ${fmt(m.spansReceived)}, accepted ${fmt(m.spansAccepted)}, rejected ${fmt(m.spansRejected)}; requests refused ${fmt(m.requestsRejected)}`);
  out(`                   actions ${fmt(m.actions)} + ignored ${fmt(m.spansIgnored)} = ${fmt(m.actions + m.spansIgnored)}; identities ${fmt(m.identities)}; alerts ${fmt(m.alerts)}; still buffered ${fmt(m.traceBufferSpans + m.queueSpans)}`);
  const runSec = (WARMUP_MS + f.window.ms) / 1000;
  out(`  daemon internals group commits ${fmt(m.commits)} (${fmt(m.commits / runSec)}/s, mean ${m.commits ? ((m.commitSec / m.commits) * 1000).toFixed(2) : 0} ms); GC pauses ${m.gcSec} s (${Math.round((m.gcSec / runSec) * 100)}% of the run); V8 heap used after the run ${m.heapUsedMb} MB`);
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
  const daemon = await DaemonProcess.start({ label: 'sdk', nodeArgs: daemonArgs(null) });
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

async function main(): Promise<void> {
  const started = performance.now();
  const cpus = os.cpus();
  if (process.env.VIGIL_BENCH_CLI) out(`daemon build: ${process.env.VIGIL_BENCH_CLI} (VIGIL_BENCH_CLI)`);
  out(`Vigil benchmark — ${cpus.length} cores (${cpus[0]?.model.trim() ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, ${os.platform()} ${os.release()}`);
  out();
  const report: Record<string, unknown> = {
    machine: { cores: cpus.length, cpu: cpus[0]?.model.trim(), node: process.version },
    settings: { durationMs: DURATION_MS, warmupMs: WARMUP_MS, concurrency: CONCURRENCY, batchSpans: 512, spansPerTrace: 16, identities: 1000, daemonFlags: DAEMON_FLAGS },
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
  const s = report.sdk as SdkResult | { error: string } | undefined;
  if (s && !('error' in s)) out(`  SDK exporter (client-bound) ${fmt(s.spansPerSec)} spans/s`);
  out(`  total time ${seconds} s`);
  report.totalSeconds = seconds;
  out(JSON.stringify(report));
  if (failed) process.exitCode = 1;
}

await main();
