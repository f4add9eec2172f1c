/**
 * The SDK sanity pass of `npm run bench`: the real OpenTelemetry SDK exporter (sdk-exporter.ts, a process
 * of its own) sends SDK_SPANS spans to a fresh daemon over gRPC. It measures the SDK, not the daemon: it
 * checks that real exporters get through, and the daemon's /metrics that it took every span.
 */
import { DAEMON_CONFIG, daemonArgs, SDK_SPANS } from './bench-options.js';
import { fmt, out } from './bench-format.js';
import { runChild } from './child-runner.js';
import { DaemonProcess, type Exit } from './daemon-process.js';
import type { SdkConfig, SdkResult } from './sdk-exporter.js';

export type SdkFigures = SdkResult & { accepted: number; actions: number; exitCode: number | null; warnings: string[] };

export async function sdkPass(): Promise<SdkFigures> {
  const daemon = await DaemonProcess.start({ label: 'sdk', nodeArgs: daemonArgs(null), extraConfig: DAEMON_CONFIG });
  const warnings: string[] = [];
  let exit: Exit | null = null;
  try {
    const config: SdkConfig = { target: daemon.grpc, spans: SDK_SPANS, spansPerTrace: 16, timeoutMs: 10_000 };
    const result = await runChild<SdkResult>('./sdk-exporter.js', config, 60_000);
    const m = await daemon.settledMetrics();
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

export function printSdkPass(s: SdkFigures): void {
  out(`SDK exporter (client-bound) — @opentelemetry/exporter-trace-otlp-grpc + BatchSpanProcessor (512 spans per export), ${fmt(s.spans)} spans`);
  out(`  exported         ${fmt(s.spansPerSec).padStart(9)} spans/s   (${fmt(s.exportedOk)} ok, ${fmt(s.exportFailed)} failed, ${s.exportCalls} exports in ${fmt(s.ms)} ms; SDK process CPU ${s.clientCpuPct}% of one core)`);
  out(`  note             measures the SDK's span objects and its own protobuf encoder, not the daemon; no target`);
  out(`  check (/metrics) daemon accepted ${fmt(s.accepted)}, actions ${fmt(s.actions)}; daemon exit code ${s.exitCode} after SIGTERM`);
  for (const w of s.warnings) out(`  ${w}`);
  out();
}
