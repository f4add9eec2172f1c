/**
 * How the probe talks to the daemon: OTLP/HTTP-protobuf exports, API reads with the token, the alert
 * websocket as a SOC console subscribes to it, and the baseline learning both probe modes start with.
 */
import http from 'node:http';
import WebSocket from 'ws';
import { rejectedSpans } from './bench-batches.js';
import type { ProbeCommon, ProbeConfig } from './probe-protocol.js';
import { baselineRequests, identityOf } from './probe-traces.js';

/** `host:port` -> host and port (split at the last colon). */
const split = (hostPort: string) => {
  const i = hostPort.lastIndexOf(':');
  return { host: hostPort.slice(0, i), port: Number(hostPort.slice(i + 1)) };
};

/** POSTs one OTLP/HTTP-protobuf export; resolves with the time the response ended, or an error text. */
export function exportOnce(agent: http.Agent, target: string, body: Buffer, timeoutMs: number): Promise<{ at: number; error: string | null }> {
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
export async function allAlerts(api: string, token: string): Promise<Array<{ id: string; seq: number; identity: string }>> {
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
export class StreamWatcher {
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

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Posts the baseline exports (4 in flight) and checks that the identities judge against themselves. */
export async function learn(cfg: ProbeConfig, http_: string, api: string, agent: http.Agent): Promise<ProbeCommon['baseline']> {
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
