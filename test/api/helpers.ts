/**
 * Helpers for the alert API tests: a real daemon (port 0, SQLite in a temp folder) with tunable stream
 * options, alerts raised through the real AlertManager from hand-made findings, a real `ws` client that
 * records every frame, and a daemon whose real revocation engine calls a real local broker.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import WebSocket from 'ws';
import type { Finding } from '../../detectors/types.js';
import type { Action } from '../../src/actions/types.js';
import type { Alert } from '../../src/alerts/alert.js';
import type { StreamOptions } from '../../src/api/stream.js';
import type { Severity } from '../../src/config/schema.js';
import { startDaemon, type Daemon } from '../../src/main.js';
import type { RevocationRecord } from '../../src/revocation/types.js';
import { testConfig, TEST_TOKEN, waitFor } from '../helpers/daemon.js';
import { FAST } from '../revocation/helpers.js';
import { BROKER_SECRET } from '../sinks/fixtures.js';
import { Receiver } from '../sinks/receivers.js';

export { TEST_TOKEN, waitFor };

export const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);

export interface ApiDaemon {
  daemon: Daemon;
  apiUrl: string;
  wsUrl: string;
  close(): Promise<void>;
}

/** @param overrides config keys over `testConfig` (e.g. `revocation`). */
export async function startApiDaemon(stream: Partial<StreamOptions> = {}, overrides: Record<string, unknown> = {}): Promise<ApiDaemon> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-api-'));
  const daemon = await startDaemon({ config: testConfig(dir, overrides), logger: pino({ level: 'silent' }), stream });
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
  /** The credential on the action that tipped the alert (what the revocation engine revokes). Default none. */
  credential?: Action['credential'];
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
    surprise: 0.5,
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
    credential: o.credential ?? null, scopes: [], agent: null,
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

export interface RevokingApiDaemon extends ApiDaemon {
  /** The broker: a real HTTP server answering each revocation's first call 503, later calls 200. */
  broker: Receiver;
  /** Every revocation state change the daemon's engine announced, in order. */
  announced: RevocationRecord[];
}

/**
 * A daemon with the real revocation engine in `enforce` mode: an `unexpected_write` alert of severity
 * `high` or above revokes its credential through the webhook broker (pending, pending after the 503, then
 * succeeded), or is `not_revocable` when its action carries no credential. Other detectors revoke nothing,
 * so alerts raised with the defaults above make no revocations.
 */
export async function startRevokingApiDaemon(stream: Partial<StreamOptions> = {}): Promise<RevokingApiDaemon> {
  const tried = new Set<string>();
  const broker = await Receiver.start((r) => {
    const id = String(r.headers['webhook-id']);
    if (tried.has(id)) return { status: 200 };
    tried.add(id);
    return { status: 503 };
  });
  const revocation = {
    mode: 'enforce',
    rules: [{ detectors: ['unexpected_write'], minSeverity: 'high', broker: 'broker' }],
    brokers: [{ name: 'broker', type: 'webhook', url: broker.url('/revoke'), secret: BROKER_SECRET }],
  };
  const d = await startApiDaemon(stream, { revocation, delivery: FAST });
  const announced: RevocationRecord[] = [];
  d.daemon.revocations.subscribe((r) => announced.push(r));
  return {
    ...d,
    broker,
    announced,
    close: async () => {
      await d.close();
      await broker.close();
    },
  };
}

export const tick = () => new Promise((r) => setImmediate(r));
