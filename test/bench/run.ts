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
import os from 'node:os';
import { alertLatency, latencyVerdict, printLatency, type LatencyFigures } from './alert-latency.js';
import {
  ALERT_TIMEOUT_MS, CONCURRENCY, DAEMON_CONFIG, DAEMON_FLAGS, DURATION_MS, ONLY, PROBE_INTERVAL_MS, PROBES, TARGETS, WARMUP_MS, WEBHOOK_PROBES,
} from './bench-options.js';
import { fmt, out, verdict, verdictAtMost } from './bench-format.js';
import { hostBusySeconds } from './daemon-process.js';
import { benchDecode, makeBenchBatch } from './decode-bench.js';
import { detection, printDetection, type DetectFigures } from './detection-pass.js';
import { endToEnd, printE2E, type E2EFigures } from './e2e-throughput.js';
import { printSdkPass, sdkPass, type SdkFigures } from './sdk-pass.js';
import { printWebhooks, webhookDeliveries, type WebhookFigures } from './webhook-deliveries.js';

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
      printSdkPass(s);
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
  const s = report.sdk as SdkFigures | { error: string } | undefined;
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
