/**
 * Helpers for the alert API tests: a real daemon (port 0, SQLite in a temp folder) with tunable stream
 * options, alerts raised through the real AlertManager from hand-made findings, a real `ws` client that
 * records every frame, and a revocation source that behaves like the revocation engine's seam.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import WebSocket from 'ws';
import type { Finding } from '../../detectors/types.js';
import type { Action } from '../../src/actions/types.js';
import type { Alert } from '../../src/alerts/alert.js';
import type { RevocationSource } from '../../src/api/alerts.js';
import type { StreamOptions } from '../../src/api/stream.js';
import type { Severity } from '../../src/config/schema.js';
import { startDaemon, type Daemon } from '../../src/main.js';
import { testConfig, TEST_TOKEN, waitFor } from '../helpers/daemon.js';

export { TEST_TOKEN, waitFor };

export const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);

export interface ApiDaemon {
  daemon: Daemon;
  apiUrl: string;
  wsUrl: string;
  close(): Promise<void>;
}

export async function startApiDaemon(stream: Partial<StreamOptions> = {}): Promise<ApiDaemon> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-api-'));
  const daemon = await startDaemon({ config: testConfig(dir), logger: pino({ level: 'silent' }), stream });
  return {
    daemon,
    apiUrl: `http://127.0.0.1:${daemon.ports.api}`,
    wsUrl: `ws://127.0.0.1:${daemon.ports.api}`,
    close: () => daemon.close(),
  };
}

export interface RaiseOptions {
  identity?: string;
  detector?: Finding['detector'];
  severity?: Severity;
  /** Findings with the same identity, detector and subject fold into one alert (an `update`). */
  subject?: string;
  /** Event time offset from T0, ms. */
  at?: number;
  /** Pads the explanation, for tests that need big frames. */
  padding?: number;
}

let counter = 0;

/** Raises (or folds) an alert through the daemon's AlertManager, as a detector's finding would. */
export function raise(daemon: Daemon, o: RaiseOptions = {}): void {
  const n = ++counter;
  const identity = o.identity ?? 'spiffe://acme.example/agent/a';
  const hex = (v: number, len: number) => v.toString(16).padStart(len, '0');
  const finding: Finding = {
    detector: o.detector ?? 'scope_drift',
    severity: o.severity ?? 'medium',
    score: 0.5,
    subject: o.subject ?? `tool:t${n}`,
    title: `test finding ${n}`,
    explanation: 'seen a tool this identity never used' + (o.padding ? ' ' + 'x'.repeat(o.padding) : ''),
    traceIds: [hex(n, 32)],
    spanIds: [hex(n, 16)],
    details: {},
    tags: ['OWASP-ASI02'],
  };
  const time = T0 + (o.at ?? n);
  const action: Action = {
    time, endTime: time + 1, identity, peerGroup: 'agents', kind: 'tool', target: finding.subject, access: null, host: null,
    zone: null, sensitive: false, failed: false, retry: false, traceId: hex(n, 32), spanId: hex(n, 16), parentSpanId: '',
    credential: null, scopes: [], agent: null,
  };
  daemon.alerts.report(finding, action, identity);
}

/** Every stored seq, ascending, straight from SQLite. */
export function storedSeqs(daemon: Daemon, since = 0): number[] {
  return daemon.db.prepare('SELECT seq FROM alerts WHERE seq > ? ORDER BY seq').pluck().all(since) as number[];
}

export type Frame =
  | { type: 'alert'; alert: Alert }
  | { type: 'update'; update: { id: string; seq: number; count: number; lastEventTime: string } }
  | { type: 'revocation'; revocation: Record<string, unknown> }
  | { type: 'heartbeat'; seq: number };

/** A connected websocket client recording every frame. */
export class StreamConn {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.frames.push(JSON.parse(String(data)) as Frame));
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  }

  of<T extends Frame['type']>(type: T): Array<Extract<Frame, { type: T }>> {
    return this.frames.filter((f): f is Extract<Frame, { type: T }> => f.type === type);
  }

  seqs(): number[] {
    return this.of('alert').map((f) => f.alert.seq);
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close();
    return this.closed;
  }
}

export interface ConnectOptions {
  /** Sent as `Authorization: Bearer`; null for none. Default TEST_TOKEN (unless `protocols` are given). */
  token?: string | null;
  protocols?: string[];
}

/** Opens `/v1/alerts/stream?query`; resolves with the open connection or rejects with the HTTP status. */
export function connect(wsUrl: string, query = '', o: ConnectOptions = {}): Promise<StreamConn> {
  const token = o.token === undefined ? (o.protocols ? null : TEST_TOKEN) : o.token;
  const ws = new WebSocket(`${wsUrl}/v1/alerts/stream${query ? '?' + query : ''}`, o.protocols ?? [], {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  // Record frames from the first one: a backlog may arrive in the same packet as the handshake.
  const conn = new StreamConn(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(conn));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, headers: res.headers, body })));
    });
    ws.once('error', reject);
  });
}

/** The HTTP status an upgrade attempt is refused with (throws if it is accepted). */
export async function refusal(wsUrl: string, query = '', o: ConnectOptions = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  try {
    const c = await connect(wsUrl, query, o);
    c.ws.terminate();
  } catch (err) {
    return err as { status: number; body: string; headers: Record<string, unknown> };
  }
  throw new Error('the upgrade was accepted');
}

export const bearerProtocol = (token: string) => `bearer.${Buffer.from(token).toString('base64url')}`;

/** GET an API path with the test token (or `token`). */
export async function get(apiUrl: string, p: string, token: string | null = TEST_TOKEN): Promise<{ status: number; body: any }> {
  const res = await fetch(`${apiUrl}${p}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: await res.json() };
}

/** A revocation engine stand-in: the same two-method seam (subscribe, list) the real engine exposes. */
export class FakeRevocations extends EventEmitter implements RevocationSource {
  private readonly records = new Map<string, Record<string, unknown>>();

  subscribe(fn: (revocation: unknown) => void): void {
    this.on('revocation', fn);
  }

  list(): unknown[] {
    return [...this.records.values()];
  }

  /** Records a state change and announces it, as the engine does after writing its row. */
  record(r: Record<string, unknown>): void {
    this.records.set(String(r.revocationId), r);
    this.emit('revocation', r);
  }
}

/** A CONTRACT §6 revocation object. */
export function revocation(identity: string, n: number, status = 'dry_run'): Record<string, unknown> {
  return {
    revocationId: `rv_${n}`, alertId: `al_${n}`, identity, credentialId: `jti-${n}`, credentialType: 'oauth_jti',
    broker: 'broker', mode: 'dry_run', status, attempts: 0, reason: 'matched rule 0', at: new Date(T0).toISOString(),
  };
}

export const tick = () => new Promise((r) => setImmediate(r));
