/**
 * What the alert probe (alert-probe.ts) and its parent exchange over IPC: the config it runs with, the
 * result it sends back, and the latency statistics in it.
 */

export interface ProbeConfig {
  mode: 'latency' | 'webhooks';
  token: string;
  /** OTLP/HTTP and API host:port; webhooks mode gets them in the `target` message. */
  http?: string;
  api?: string;
  identities: number;
  baselineTraces: number;
  probes: number;
  /** latency: gap between probe exports. */
  intervalMs: number;
  /** webhooks: probe exports in flight, and probe traces per export (alerts raised faster than delivered). */
  concurrency: number;
  probesPerExport: number;
  alertTimeoutMs: number;
  /** webhooks: how long after the last probe to wait for every delivery. */
  deliveryTimeoutMs: number;
}

export interface Stats {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface ProbeCommon {
  baseline: { identities: number; spans: number; requests: number; ms: number; alertsRaised: number; matureChecked: number };
  probes: number;
  probeErrors: number;
  errorSamples: string[];
  ws: { alertFrames: number; updateFrames: number; otherIdentityAlerts: number; reconnects: number; closeCodes: number[] };
  /** This process's CPU while the probes ran (latency: from `go`; webhooks: from `target`), ms. */
  clientCpuMs: number;
}

export interface LatencyResult extends ProbeCommon {
  mode: 'latency';
  /** Export call start -> first matching websocket `alert` frame, ms. */
  latencyMs: Stats;
  /** Export call start -> HTTP response, ms. */
  exportMs: Stats;
  alerted: number;
  missing: number;
  /** Probes whose alert frame arrived before the export's response. */
  alertBeforeAck: number;
  windowMs: number;
}

export interface WebhookResult extends ProbeCommon {
  mode: 'webhooks';
  /** Export requests the probes went out in. */
  exports: number;
  /** Alerts in the store (GET /v1/alerts) once the probes were answered, learning included. */
  alertsInStore: number;
  alertsFromProbes: number;
  delivered: number;
  duplicates: number;
  missing: number;
  unexpected: number;
  badSignatures: number;
  /** First websocket alert frame -> last delivery (ms), and deliveries per second over it. */
  endToEndMs: number;
  deliveriesPerSec: number;
  /** First -> last delivery. */
  deliverySpanMs: number;
  /** First probe export -> last probe answered; first -> last websocket alert frame. */
  probeSendMs: number;
  alertSpanMs: number;
  /** TCP connections the daemon opened to the receiver (its delivery concurrency, keep-alive). */
  connections: number;
  /** First websocket alert frame -> its delivery, per alert. */
  alertToDeliveryMs: Stats;
}

export type ProbeResult = LatencyResult | WebhookResult;

/** Nearest-rank p50, p90, p99, the max and the mean of `values`, rounded to 0.01. */
export function stats(values: number[]): Stats {
  const v = values.slice().sort((a, b) => a - b);
  const at = (p: number) => (v.length === 0 ? 0 : v[Math.min(v.length - 1, Math.ceil((p / 100) * v.length) - 1)]);
  const r = (x: number) => Math.round(x * 100) / 100;
  return { n: v.length, p50: r(at(50)), p90: r(at(90)), p99: r(at(99)), max: r(v[v.length - 1] ?? 0), mean: r(v.length ? v.reduce((a, b) => a + b, 0) / v.length : 0) };
}

/** The parent's next message of this type (the probe's `go` or `target`). */
export function waitFor(type: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const on = (msg: { type: string }) => {
      if (msg.type !== type) return;
      process.off('message', on);
      resolve(msg as Record<string, unknown>);
    };
    process.on('message', on);
  });
}
