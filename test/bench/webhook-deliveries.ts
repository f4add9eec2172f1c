/**
 * Webhook deliveries per second of `npm run bench`: the probe client (alert-probe.ts, a process of its
 * own) runs the webhook receiver the daemon is configured with and raises alerts faster than they can be
 * delivered; every stored alert must arrive once, signed. No target.
 */
import os from 'node:os';
import { ALERT_TIMEOUT_MS, BASELINE_TRACES, DAEMON_CONFIG, daemonArgs, WEBHOOK_IDENTITIES, WEBHOOK_PROBES } from './bench-options.js';
import { fmt, ms, out } from './bench-format.js';
import { Child, type ChildMessage } from './child-runner.js';
import { BENCH_TOKEN, DaemonProcess, hostBusySeconds, type Exit } from './daemon-process.js';
import type { ProbeConfig, WebhookResult } from './probe-protocol.js';

export interface WebhookFigures extends Omit<WebhookResult, 'mode'> {
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
export async function webhookDeliveries(): Promise<WebhookFigures> {
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

export function printWebhooks(f: WebhookFigures): void {
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
