/**
 * Alert latency of `npm run bench`: OTLP export call -> websocket `alert` frame, timed by the probe client
 * (alert-probe.ts, a process of its own) while the load generator keeps the daemon at half the HTTP
 * throughput measured before it; target p99 ≤ TARGETS.alertP99Ms with every probe alerted.
 */
import os from 'node:os';
import {
  ALERT_TIMEOUT_MS, BASELINE_TRACES, CONCURRENCY, DAEMON_CONFIG, daemonArgs, LATENCY_IDENTITIES, PROBE_INTERVAL_MS, PROBES, profileOptions, TARGETS,
} from './bench-options.js';
import { fmt, ms, out } from './bench-format.js';
import { Child, runChild } from './child-runner.js';
import { BENCH_TOKEN, DaemonProcess, hostBusySeconds, type Exit } from './daemon-process.js';
import type { LoadConfig, LoadResult } from './load-generator.js';
import type { LatencyResult, ProbeConfig, Stats } from './probe-protocol.js';
import { printProfile, profileIn, type Profile } from './profile-report.js';

export interface LatencyFigures {
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
export async function alertLatency(maxHttp: number | null): Promise<LatencyFigures> {
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
    const m = await daemon.settledMetrics();
    exit = await daemon.stop();
    if (exit.code !== 0) warnings.push(`WARNING: the daemon exited with code ${exit.code} (signal ${exit.signal}) after SIGTERM`);
    let profile: Profile | undefined;
    if (prof) {
      profile = profileIn(prof.dir);
      if (!profile) warnings.push(`WARNING: no .cpuprofile written in ${prof.dir}`);
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
export function latencyVerdict(f: LatencyFigures): string {
  return `target p99 ≤ ${f.target} ms${f.missing > 0 ? `, ${f.missing} probe(s) without an alert` : ''}  ${f.met ? 'MET' : 'MISSED'}`;
}

export function printLatency(f: LatencyFigures): void {
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
