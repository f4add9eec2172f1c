/**
 * End-to-end throughput of `npm run bench`: the real daemon in its own process, driven over OTLP/gRPC or
 * OTLP/HTTP-protobuf by the load generator in another (pre-encoded 512-span batches, CONCURRENCY requests
 * in flight); spans/s acknowledged in the measured window, the daemon's CPU, memory and thread load, and a
 * check of its /metrics against what the client saw.
 */
import os from 'node:os';
import { CONCURRENCY, DAEMON_CONFIG, daemonArgs, DURATION_MS, profileOptions, TARGETS, WARMUP_MS } from './bench-options.js';
import { fmt, out, verdict } from './bench-format.js';
import { runChild } from './child-runner.js';
import { DaemonProcess, hostBusySeconds, type Exit } from './daemon-process.js';
import type { LoadConfig, LoadResult } from './load-generator.js';
import { printProfile, profileIn, type Profile } from './profile-report.js';

export interface E2EFigures {
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
  profile?: Profile;
}

export async function endToEnd(transport: 'grpc' | 'http'): Promise<E2EFigures> {
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

    const m = await daemon.settledMetrics();
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
      const profile = profileIn(prof.dir);
      if (profile) figures.profile = profile;
      else warnings.push(`WARNING: no .cpuprofile written in ${prof.dir}`);
    }
    return figures;
  } finally {
    if (exit === null) exit = await daemon.stop();
    daemon.cleanup();
  }
}

export function printE2E(f: E2EFigures): void {
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
  if (f.profile) printProfile(f.profile);
  out();
}
