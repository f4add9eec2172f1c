/**
 * The alert probe client of `npm run bench` (issue 5 item 5), run as a separate process: it makes a running
 * daemon raise alerts over OTLP and times them where a SOC sees them.
 *
 * Set-up (both modes): `identities` read-only identities (peer group `probe-agent`) learn a baseline of
 * `baselineTraces` traces each, in the past (48 h ago up to 1 h ago: old enough for the default
 * `baselines.minAge`, enough actions for `minActions`): a tool `reports.read` with its `GET`. Then each
 * probe is one small OTLP/HTTP-protobuf export holding one trace: a tool `records.purge.<k>` and its
 * `DELETE https://reports.internal/purge-<letters>/<k>` — a tool and a target never written before, so
 * every probe raises a NEW `unexpected_write` alert (the engine merges a tool's and its call's findings of
 * one detector into one) rather than folding into an earlier one (a folded finding yields an `update`
 * frame, not an `alert` frame).
 *
 * - `latency`: probes go out one every `intervalMs` after the parent says `go` (it starts background load
 *   first); for each, the time from the start of the export call to the first websocket `alert` frame
 *   whose `evidence.spanIds` holds one of the probe's span ids. A probe without such a frame within
 *   `alertTimeoutMs` is counted as missing.
 * - `webhooks`: a local receiver (node:http, 200 OK, signatures checked with the independent
 *   `standardwebhooks` package) is configured as the daemon's webhook endpoint; probes go out
 *   `probesPerExport` traces per export, `concurrency` exports in flight, so alerts are raised faster
 *   than they can be delivered and the delivery path is what is measured; deliveries are deduplicated by
 *   `webhook-id` and checked against every alert in the store (`GET /v1/alerts`).
 *
 * IPC: parent -> {type:'run', config}; latency: child -> {type:'armed'} (baselines learned, websocket
 * open), parent -> {type:'go'}; webhooks: child -> {type:'receiver', url, secret}, parent -> {type:'target',
 * http, api} (the daemon started with that webhook), child -> {type:'probing'} as the probes start;
 * child -> {type:'result', result} and exits.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import WebSocket from 'ws';
import { encodeProtobuf, makeSpans, type SpanSpec } from '../helpers/otlp-payloads.js';
import { rejectedSpans } from './bench-batches.js';

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

interface Common {
  baseline: { identities: number; spans: number; requests: number; ms: number; alertsRaised: number; matureChecked: number };
  probes: number;
  probeErrors: number;
  errorSamples: string[];
  ws: { alertFrames: number; updateFrames: number; otherIdentityAlerts: number; reconnects: number; closeCodes: number[] };
  /** This process's CPU while the probes ran (latency: from `go`; webhooks: from `target`), ms. */
  clientCpuMs: number;
}

export interface LatencyResult extends Common {
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

export interface WebhookResult extends Common {
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

const HOUR = 3_600_000;
const PEER_GROUP = 'probe-agent';
const identityOf = (j: number) => `spiffe://bench.example/ns/probe/sa/agent-${j}`;
const hex = (n: number, chars: number) => n.toString(16).padStart(chars, '0');
/** Letters for k (a path segment with fewer than 4 digits, so the target keeps it rather than `{id}`). */
const letters = (k: number) => {
  let s = '';
  do {
    s = String.fromCharCode(97 + (k % 26)) + s;
    k = Math.floor(k / 26);
  } while (k > 0);
  return s;
};

export function stats(values: number[]): Stats {
  const v = values.slice().sort((a, b) => a - b);
  const at = (p: number) => (v.length === 0 ? 0 : v[Math.min(v.length - 1, Math.ceil((p / 100) * v.length) - 1)]);
  const r = (x: number) => Math.round(x * 100) / 100;
  return { n: v.length, p50: r(at(50)), p90: r(at(90)), p99: r(at(99)), max: r(v[v.length - 1] ?? 0), mean: r(v.length ? v.reduce((a, b) => a + b, 0) / v.length : 0) };
}

/** Baseline exports: traces interleaved over identities in event-time order, ~2,000 spans per request. */
function baselineRequests(cfg: ProbeConfig, nowMs: number): { bodies: Buffer[]; spans: number } {
  const bodies: Buffer[] = [];
  let specs: SpanSpec[] = [];
  let spans = 0;
  const stepMs = (47 * HOUR) / cfg.baselineTraces;
  const flush = () => {
    if (specs.length === 0) return;
    bodies.push(Buffer.from(encodeProtobuf(makeSpans(specs, { scope: '@vigil/bench-probe' }))));
    specs = [];
  };
  for (let i = 0; i < cfg.baselineTraces; i++) {
    for (let j = 0; j < cfg.identities; j++) {
      const start = nowMs - 48 * HOUR + i * stepMs + j * 37;
      const traceId = `0b${hex(j, 8)}${hex(i, 8)}${'0'.repeat(14)}`;
      const toolSpan = hex(0x1000 + i * 2, 16);
      const resource = { 'service.name': PEER_GROUP, 'nhi.identity': identityOf(j) };
      specs.push(
        { traceId, spanId: toolSpan, name: 'execute_tool reports.read', startMs: start, endMs: start + 40, resource, attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'reports.read' } },
        { traceId, spanId: hex(0x1001 + i * 2, 16), parentSpanId: toolSpan, name: 'GET', kind: 'client', startMs: start + 5, endMs: start + 30, resource, attributes: { 'http.request.method': 'GET', 'server.address': 'reports.internal', 'url.full': `https://reports.internal/reports/${i}` } },
      );
      spans += 2;
      if (specs.length >= 2000) flush();
    }
  }
  flush();
  return { bodies, spans };
}

interface Probe {
  k: number;
  body: Buffer;
  spanIds: string[];
  sentAt: number;
  ackAt: number;
  alertAt: number;
}

/**
 * Probe k: identity k % identities; a never-written tool and target, so its alert is new. `perExport`
 * probes share one export body (kept on the first of them; the others' `body` is empty).
 */
function buildProbes(cfg: ProbeConfig, nowMs: number, perExport = 1): Probe[] {
  const out: Probe[] = [];
  let group: SpanSpec[] = [];
  let first = 0;
  for (let k = 0; k < cfg.probes; k++) {
    const j = k % cfg.identities;
    const start = nowMs - 2000 + k * 0.01;
    const traceId = `0c${hex(k, 8)}${'0'.repeat(22)}`;
    const toolSpan = hex(0x2000_0000 + k * 2, 16);
    const httpSpan = hex(0x2000_0001 + k * 2, 16);
    const resource = { 'service.name': PEER_GROUP, 'nhi.identity': identityOf(j) };
    const specs: SpanSpec[] = [
      { traceId, spanId: toolSpan, name: `execute_tool records.purge.${k}`, startMs: start, endMs: start + 40, resource, attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': `records.purge.${k}` } },
      { traceId, spanId: httpSpan, parentSpanId: toolSpan, name: 'DELETE', kind: 'client', startMs: start + 5, endMs: start + 30, resource, attributes: { 'http.request.method': 'DELETE', 'server.address': 'reports.internal', 'url.full': `https://reports.internal/purge-${letters(k)}/${k % 1000}` } },
    ];
    out.push({ k, body: Buffer.alloc(0), spanIds: [toolSpan, httpSpan], sentAt: 0, ackAt: 0, alertAt: 0 });
    group.push(...specs);
    if (group.length >= 2 * perExport || k === cfg.probes - 1) {
      out[first].body = Buffer.from(encodeProtobuf(makeSpans(group, { scope: '@vigil/bench-probe' })));
      group = [];
      first = k + 1;
    }
  }
  return out;
}

const split = (hostPort: string) => {
  const i = hostPort.lastIndexOf(':');
  return { host: hostPort.slice(0, i), port: Number(hostPort.slice(i + 1)) };
};

/** POSTs one OTLP/HTTP-protobuf export; resolves with the time the response ended, or an error text. */
function exportOnce(agent: http.Agent, target: string, body: Buffer, timeoutMs: number): Promise<{ at: number; error: string | null }> {
  const { host, port } = split(target);
  return new Promise((resolve) => {
    let done = false;
    const finish = (error: string | null) => {
      if (!done) {
        done = true;
        resolve({ at: performance.now(), error });
      }
    };
    const req = http.request({ host, port, method: 'POST', path: '/v1/traces', agent, headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => finish(`response: ${err.message}`));
      res.on('end', () => {
        if (res.statusCode !== 200) return finish(`HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString('utf8').slice(0, 200)}`);
        const rejected = rejectedSpans(Buffer.concat(chunks));
        finish(rejected === 0 ? null : `partial success: ${rejected} spans rejected`);
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timed out')));
    req.on('error', (err) => finish(err.message));
    req.end(body);
  });
}

/** GET an API path with the token; parsed JSON. */
function apiGet<T>(api: string, token: string, pathname: string): Promise<T> {
  const { host, port } = split(api);
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: pathname, headers: { Authorization: `Bearer ${token}` }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`GET ${pathname}: HTTP ${res.statusCode} ${body.slice(0, 200)}`));
        try {
          resolve(JSON.parse(body) as T);
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${pathname} timed out`)));
    req.on('error', reject);
  });
}

/** Every alert in the store, paged with `since`. */
async function allAlerts(api: string, token: string): Promise<Array<{ id: string; seq: number; identity: string }>> {
  const out: Array<{ id: string; seq: number; identity: string }> = [];
  let since = 0;
  for (;;) {
    const page = await apiGet<{ alerts: Array<{ id: string; seq: number; identity: string }>; next: number }>(api, token, `/v1/alerts?since=${since}&limit=1000`);
    out.push(...page.alerts);
    if (page.alerts.length < 1000) return out;
    since = page.next;
  }
}

interface AlertFrame {
  type: string;
  alert?: { id: string; seq: number; identity: string; evidence?: { spanIds?: string[] } };
}

/**
 * An unfiltered alert-stream subscriber (what a SOC console runs). Reconnects with `since` = the last
 * alert seq when the server closes it (a slow-consumer close 4008 says so), so nothing is missed.
 */
class StreamWatcher {
  alertFrames = 0;
  updateFrames = 0;
  reconnects = 0;
  readonly closeCodes: number[] = [];
  private lastSeq = 0;
  private ws: WebSocket | null = null;
  private closing = false;

  constructor(
    private readonly api: string,
    private readonly token: string,
    private readonly onAlert: (alert: NonNullable<AlertFrame['alert']>, at: number) => void,
  ) {}

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const query = this.lastSeq > 0 ? `?since=${this.lastSeq}` : '';
      const ws = new WebSocket(`ws://${this.api}/v1/alerts/stream${query}`, ['vigil.v1'], { headers: { Authorization: `Bearer ${this.token}` }, perMessageDeflate: false });
      this.ws = ws;
      ws.on('message', (data) => {
        const at = performance.now(); // first thing: the frame's arrival
        const frame = JSON.parse(String(data)) as AlertFrame;
        if (frame.type === 'alert' && frame.alert) {
          this.alertFrames++;
          this.lastSeq = Math.max(this.lastSeq, frame.alert.seq);
          this.onAlert(frame.alert, at);
        } else if (frame.type === 'update') {
          this.updateFrames++;
        }
      });
      ws.once('open', () => resolve());
      ws.once('error', (err) => reject(err));
      ws.on('close', (code) => {
        if (this.closing) return;
        this.closeCodes.push(code);
        this.reconnects++;
        setTimeout(() => void this.open().catch(() => undefined), 50);
      });
    });
  }

  close(): void {
    this.closing = true;
    this.ws?.close(1000);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Posts the baseline exports (4 in flight) and checks that the identities judge against themselves. */
async function learn(cfg: ProbeConfig, http_: string, api: string, agent: http.Agent): Promise<Common['baseline']> {
  const t0 = performance.now();
  const { bodies, spans } = baselineRequests(cfg, Date.now());
  let next = 0;
  const errors: string[] = [];
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < bodies.length) {
        const r = await exportOnce(agent, http_, bodies[next++], 30_000);
        if (r.error) errors.push(r.error);
      }
    }),
  );
  if (errors.length > 0) throw new Error(`baseline exports failed (${errors.length}): ${errors[0]}`);
  // The identities must be past the learning phase, else the probes would raise nothing (or peer-phase alerts).
  const check = [0, cfg.identities - 1];
  for (const j of check) {
    const shown = await apiGet<{ phase?: string; actions?: number }>(api, cfg.token, `/v1/identities/${encodeURIComponent(identityOf(j))}`);
    if (shown.phase !== 'own') throw new Error(`identity ${identityOf(j)} is in phase ${shown.phase} after its baseline (${shown.actions} actions), not 'own'`);
  }
  const alertsRaised = (await allAlerts(api, cfg.token)).length;
  return { identities: cfg.identities, spans, requests: bodies.length, ms: Math.round(performance.now() - t0), alertsRaised, matureChecked: check.length };
}

function waitFor(type: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const on = (msg: { type: string }) => {
      if (msg.type !== type) return;
      process.off('message', on);
      resolve(msg as Record<string, unknown>);
    };
    process.on('message', on);
  });
}

async function runLatency(cfg: ProbeConfig, notify: (m: unknown) => void): Promise<LatencyResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const baseline = await learn(cfg, cfg.http!, cfg.api!, agent);
  const probes = buildProbes(cfg, Date.now());
  const bySpan = new Map<string, Probe>();
  for (const p of probes) for (const s of p.spanIds) bySpan.set(s, p);
  let otherIdentityAlerts = 0;
  const watcher = new StreamWatcher(cfg.api!, cfg.token, (alert, at) => {
    const p = alert.evidence?.spanIds?.map((s) => bySpan.get(s)).find((x) => x !== undefined);
    if (p === undefined) otherIdentityAlerts++;
    else if (p.alertAt === 0) p.alertAt = at;
  });
  await watcher.open();
  const go = waitFor('go');
  notify({ type: 'armed' });
  await go;
  const cpu0 = process.cpuUsage();

  const errors: string[] = [];
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    let pending = probes.length;
    probes.forEach((p, i) => {
      const fire = () => {
        p.sentAt = performance.now();
        void exportOnce(agent, cfg.http!, p.body, 10_000).then((r) => {
          p.ackAt = r.at;
          if (r.error) errors.push(r.error);
          if (--pending === 0) resolve();
        });
      };
      setTimeout(fire, Math.max(0, t0 + i * cfg.intervalMs - performance.now()));
    });
  });
  // Until every probe has its alert or the last one has waited alertTimeoutMs.
  const lastSent = Math.max(...probes.map((p) => p.sentAt));
  while (probes.some((p) => p.alertAt === 0) && performance.now() < lastSent + cfg.alertTimeoutMs) await sleep(20);
  const windowMs = Math.round(performance.now() - t0);
  const cpu = process.cpuUsage(cpu0);
  watcher.close();
  agent.destroy();

  const alerted = probes.filter((p) => p.alertAt > 0 && p.alertAt - p.sentAt <= cfg.alertTimeoutMs);
  return {
    mode: 'latency',
    baseline,
    probes: probes.length,
    probeErrors: errors.length,
    errorSamples: errors.slice(0, 5),
    ws: { alertFrames: watcher.alertFrames, updateFrames: watcher.updateFrames, otherIdentityAlerts, reconnects: watcher.reconnects, closeCodes: watcher.closeCodes },
    latencyMs: stats(alerted.map((p) => p.alertAt - p.sentAt)),
    exportMs: stats(probes.filter((p) => p.ackAt > 0).map((p) => p.ackAt - p.sentAt)),
    alerted: alerted.length,
    missing: probes.length - alerted.length,
    alertBeforeAck: alerted.filter((p) => p.alertAt < p.ackAt).length,
    windowMs,
    clientCpuMs: Math.round((cpu.user + cpu.system) / 1000),
  };
}

/** The webhook endpoint: 200 OK to everything, signature checked, first arrival per webhook-id kept. */
class WebhookReceiver {
  readonly firstAt = new Map<string, number>();
  duplicates = 0;
  badSignatures = 0;
  connections = 0;
  readonly secret = `whsec_${crypto.randomBytes(24).toString('base64')}`;
  private readonly verifier = new Webhook(this.secret);
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(req.headers['webhook-id'] ?? '');
      try {
        this.verifier.verify(body, req.headers as Record<string, string>);
      } catch {
        this.badSignatures++;
      }
      if (this.firstAt.has(id)) this.duplicates++;
      else this.firstAt.set(id, at);
      res.writeHead(200, { 'Content-Length': 0 }).end();
    });
  });

  async start(): Promise<string> {
    this.server.keepAliveTimeout = 30_000;
    this.server.on('connection', () => this.connections++);
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/vigil`;
  }

  close(): void {
    this.server.closeAllConnections();
    this.server.close();
  }
}

async function runWebhooks(cfg: ProbeConfig, notify: (m: unknown) => void): Promise<WebhookResult> {
  const receiver = new WebhookReceiver();
  const url = await receiver.start();
  const targetMsg = waitFor('target');
  notify({ type: 'receiver', url, secret: receiver.secret });
  const target = await targetMsg;
  const cpu0 = process.cpuUsage();
  const http_ = String(target.http);
  const api = String(target.api);
  try {
    const agent = new http.Agent({ keepAlive: true, maxSockets: cfg.concurrency });
    const baseline = await learn(cfg, http_, api, agent);
    const probes = buildProbes(cfg, Date.now(), cfg.probesPerExport);
    const exports = probes.filter((p) => p.body.length > 0);
    const bySpan = new Map<string, Probe>();
    for (const p of probes) for (const s of p.spanIds) bySpan.set(s, p);
    const alertAt = new Map<string, number>();
    let otherIdentityAlerts = 0;
    const watcher = new StreamWatcher(api, cfg.token, (alert, at) => {
      if (!alert.evidence?.spanIds?.some((s) => bySpan.has(s))) otherIdentityAlerts++;
      if (!alertAt.has(alert.id)) alertAt.set(alert.id, at);
    });
    await watcher.open();
    notify({ type: 'probing' });

    const errors: string[] = [];
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: cfg.concurrency }, async () => {
        while (next < exports.length) {
          const p = exports[next++];
          p.sentAt = performance.now();
          const r = await exportOnce(agent, http_, p.body, 10_000);
          p.ackAt = r.at;
          if (r.error) errors.push(r.error);
        }
      }),
    );
    const probeSendMs = performance.now() - t0;
    agent.destroy();
    // Every alert is stored before its export is answered: this is the full set to be delivered.
    const stored = await allAlerts(api, cfg.token);
    const expected = new Set(stored.map((a) => a.id));
    const deadline = performance.now() + cfg.deliveryTimeoutMs;
    const allIn = () => [...expected].every((id) => receiver.firstAt.has(id));
    while (!allIn() && performance.now() < deadline) await sleep(20);
    await sleep(200); // late duplicates, if any
    watcher.close();

    const delivered = [...receiver.firstAt.keys()].filter((id) => expected.has(id));
    const times = [...receiver.firstAt.values()];
    const firstAlert = Math.min(...alertAt.values());
    const lastAlert = Math.max(...alertAt.values());
    const lastDelivery = Math.max(...times);
    const endToEndMs = lastDelivery - firstAlert;
    const cpu = process.cpuUsage(cpu0);
    const fromProbes = stored.filter((a) => a.identity.startsWith('spiffe://bench.example/ns/probe/')).length - baseline.alertsRaised;
    return {
      mode: 'webhooks',
      baseline,
      probes: probes.length,
      exports: exports.length,
      probeErrors: errors.length,
      errorSamples: errors.slice(0, 5),
      ws: { alertFrames: watcher.alertFrames, updateFrames: watcher.updateFrames, otherIdentityAlerts, reconnects: watcher.reconnects, closeCodes: watcher.closeCodes },
      alertsInStore: stored.length,
      alertsFromProbes: fromProbes,
      delivered: delivered.length,
      duplicates: receiver.duplicates,
      missing: expected.size - delivered.length,
      unexpected: receiver.firstAt.size - delivered.length,
      badSignatures: receiver.badSignatures,
      endToEndMs: Math.round(endToEndMs),
      deliveriesPerSec: Math.round((delivered.length / endToEndMs) * 1000),
      deliverySpanMs: Math.round(lastDelivery - Math.min(...times)),
      probeSendMs: Math.round(probeSendMs),
      alertSpanMs: Math.round(lastAlert - firstAlert),
      connections: receiver.connections,
      clientCpuMs: Math.round((cpu.user + cpu.system) / 1000),
      alertToDeliveryMs: stats([...alertAt].filter(([id]) => receiver.firstAt.has(id)).map(([id, at]) => receiver.firstAt.get(id)! - at)),
    };
  } finally {
    receiver.close();
  }
}

// Child-process entry.
if (process.send !== undefined) {
  const send = (msg: unknown) => process.send!(msg);
  const last = (msg: unknown) => process.send!(msg, () => process.exit(0));
  process.once('message', (msg: { type: string; config: ProbeConfig }) => {
    if (msg.type !== 'run') return;
    const run = msg.config.mode === 'latency' ? runLatency(msg.config, send) : runWebhooks(msg.config, send);
    run.then(
      (result) => last({ type: 'result', result }),
      (err: unknown) => last({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
}
