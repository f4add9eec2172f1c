/**
 * The alert websocket, `GET /v1/alerts/stream?since=SEQ` on the API listener (CONTRACT §2): the hub that
 * authenticates upgrades, fans alert, update, revocation and heartbeat frames out to clients, and closes
 * them at shutdown. Per-client ordering, catch-up and backpressure live in stream-client.ts.
 *
 * Auth happens before the upgrade, so a caller without the token gets a plain HTTP 401 and never a
 * socket. The token comes from `Authorization: Bearer` or, for browsers (which cannot set headers on a
 * websocket), the `bearer.<base64url(token)>` subprotocol offered beside `vigil.v1`. Never from the URL:
 * URLs end up in proxy and access logs.
 *
 * Nothing here may throw into the AlertManager: its announcement runs inside the pipeline, and a failed
 * delivery must never fail the export that raised the alert.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AlertEvent } from '../alerts/manager.js';
import { ERRORS, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { AlertFeed } from './alert-feed.js';
import { checkCursor, parseAlertQuery, STREAM_PARAMS, type AlertQuery, type RevocationSource } from './alerts.js';
import { BadRequest } from './json-body.js';
import { reboundToLoopback } from '../receiver/listen.js';
import { requestUrl, sendError, type ApiServer } from './server.js';
import { StreamClient, type ClientLimits } from './stream-client.js';
import { tokenMatches } from './token.js';

/** Where the websocket lives on the API listener, and the subprotocol the server selects. */
const STREAM_PATH = '/v1/alerts/stream';
const SUBPROTOCOL = 'vigil.v1';
const BEARER_PROTOCOL = 'bearer.';

/** Tuning of the alert websocket; `startDaemon({ stream })` overrides the defaults (tests shorten periods). */
export interface StreamOptions extends ClientLimits {
  /** Heartbeat period (`{"type":"heartbeat","seq":N}`). */
  heartbeatMs: number;
  /** At most one `update` frame per alert per this period; the latest count wins. */
  updateIntervalMs: number;
  /** How long a client may take to answer the shutdown close before its socket is destroyed. */
  shutdownGraceMs: number;
  /** Clients connected at once: each may hold up to maxQueuedBytes, so many stuck ones must not add up without end. */
  maxClients: number;
}

/** 1000 frames or 8 MiB per client: minutes of a busy SOC feed, a bounded cost per stuck client; 64 clients (512 MiB at worst). */
export const STREAM_DEFAULTS: Readonly<StreamOptions> = {
  heartbeatMs: 15_000,
  updateIntervalMs: 1000,
  maxQueuedFrames: 1000,
  maxQueuedBytes: 8 * 1024 * 1024,
  highWaterBytes: 1024 * 1024,
  pageSize: 100,
  shutdownGraceMs: 2000,
  maxClients: 64,
};

/** The hub's collaborators; `token` checks the subprotocol form (the header goes through `api.authorized`). */
export interface AlertStreamDeps {
  api: ApiServer;
  token: string;
  feed: AlertFeed;
  metrics: Metrics;
  logger: Logger;
}

type Update = Extract<AlertEvent, { type: 'update' }>['update'];

/** The websocket hub; `close()` is its teardown step (before the API listener closes). */
export class AlertStream {
  readonly options: Readonly<StreamOptions>;
  private readonly wss: WebSocketServer;
  private readonly clients = new Set<StreamClient>();
  private readonly throttle: UpdateThrottle;
  private readonly heartbeat: NodeJS.Timeout;
  private source: RevocationSource | null = null;
  private closing: Promise<void> | null = null;

  constructor(private readonly deps: AlertStreamDeps, options: Partial<StreamOptions> = {}) {
    this.options = { ...STREAM_DEFAULTS, ...options };
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      // Clients have nothing to say on this socket; a small cap keeps them from spending our memory.
      maxPayload: 4096,
      // ws would otherwise echo the first offered protocol, which may be the bearer token.
      handleProtocols: (offered) => (offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
    deps.api.server.on('upgrade', this.onUpgrade);
    // Upgrade requests never reach routes ('upgrade' above takes them): this one answers a plain GET,
    // which a 404 would misread as "there is no stream here" (RFC 9110 §15.5.22: 426 names the protocol).
    deps.api.route(`GET ${STREAM_PATH}`, (_req, res) => {
      res.setHeader('Upgrade', 'websocket');
      res.setHeader('Connection', 'Upgrade');
      sendError(res, 'VIGIL_ERR_UPGRADE_REQUIRED', `${STREAM_PATH} is a websocket: connect with a websocket client (Upgrade: websocket)`);
    });
    this.throttle = new UpdateThrottle(this.options.updateIntervalMs, (u) => this.guard(() => this.onUpdate(u)));
    deps.feed.subscribe((e) => this.guard(() => (e.type === 'alert' ? this.onAlert(e) : this.throttle.offer(e.update))));
    this.heartbeat = setInterval(() => this.guard(() => this.onHeartbeat()), this.options.heartbeatMs).unref();
  }

  /** The revocation source wired in, if any (the REST route reads it too). */
  get revocations(): RevocationSource | null {
    return this.source;
  }

  /**
   * Wires a revocation source in: its records become `revocation` frames and the REST list. A later call
   * replaces the earlier source (tests swap in their own); the replaced one's announcements are ignored.
   */
  attachRevocations(source: RevocationSource): void {
    this.source = source;
    source.subscribe((r) => {
      if (this.source === source) this.guard(() => this.onRevocation(r));
    });
  }

  /** Sends final update counts, closes every client with 1001 and waits (bounded) for them. Idempotent. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      clearInterval(this.heartbeat);
      this.throttle.flush();
      await Promise.all([...this.clients].map((c) => c.shutdown(this.options.shutdownGraceMs)));
      this.clients.clear();
      this.deps.metrics.websocketClients.set(0);
      this.wss.close();
    })());
  }

  /**
   * An 'upgrade' listener that throws is an uncaught exception: the process exits. Whatever goes wrong
   * with one handshake costs that socket only.
   */
  private readonly onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    try {
      this.upgrade(req, socket, head);
    } catch (err) {
      this.deps.logger.error({ err }, 'alert stream handshake failed');
      socket.destroy();
    }
  };

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    // A peer that vanishes before the handshake completes must not take the daemon down.
    const onError = () => socket.destroy();
    socket.on('error', onError);
    const url = requestUrl(req.url);
    if (!url) return reject(socket, 'VIGIL_ERR_BAD_REQUEST', 'the request-target is not a valid URL');
    if (reboundToLoopback(req)) return reject(socket, 'VIGIL_ERR_MISDIRECTED');
    if (url.pathname !== STREAM_PATH) return reject(socket, 'VIGIL_ERR_NOT_FOUND', `no websocket at ${url.pathname}`);
    if (this.closing) return reject(socket, 'VIGIL_ERR_SHUTTING_DOWN', 'vigil is shutting down; reconnect to the next instance');
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    const refusal = this.deps.api.gate(req, 'websocket', {
      matches: () => offered.some((p) => this.bearerProtocolMatches(p)),
      unauthorized: `a valid API token is required (Authorization: Bearer <token>, or the subprotocols ${SUBPROTOCOL}, ${BEARER_PROTOCOL}<base64url(token)>)`,
    });
    if (refusal) return reject(socket, refusal.code, refusal.message, refusal.headers);
    // Offering protocols without ours would leave none to select; browsers then fail with no reason.
    if (offered.length > 0 && !offered.includes(SUBPROTOCOL)) return reject(socket, 'VIGIL_ERR_BAD_REQUEST', `offer the ${SUBPROTOCOL} subprotocol`);
    if (this.clients.size >= this.options.maxClients) {
      return reject(socket, 'VIGIL_ERR_UNAVAILABLE', `${this.clients.size} alert stream clients are connected, the most served at once; close one, or read GET /v1/alerts`);
    }
    let query: AlertQuery;
    try {
      query = parseAlertQuery(url.searchParams, STREAM_PARAMS);
      checkCursor(query.since, this.deps.feed.newest);
    } catch (err) {
      if (err instanceof BadRequest) return reject(socket, 'VIGIL_ERR_BAD_REQUEST', err.message);
      throw err;
    }
    socket.off('error', onError);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, query));
  }

  private bearerProtocolMatches(protocol: string): boolean {
    if (!protocol.startsWith(BEARER_PROTOCOL)) return false;
    return tokenMatches(this.deps.token, Buffer.from(protocol.slice(BEARER_PROTOCOL.length), 'base64url').toString('utf8'));
  }

  private accept(ws: WebSocket, query: AlertQuery): void {
    const { metrics, logger, feed } = this.deps;
    if (this.closing) return void ws.close(1001, 'vigil is shutting down');
    const client = new StreamClient({
      ws,
      feed,
      filter: query.filter,
      since: query.since,
      limits: this.options,
      onSlow: (delivered) => {
        metrics.websocketDropped.inc();
        logger.warn({ delivered }, 'alert stream client fell too far behind; closed with a resume hint');
      },
    });
    this.clients.add(client);
    metrics.websocketClients.set(this.clients.size);
    ws.on('error', (err) => logger.debug({ err: err.message }, 'alert stream socket error'));
    ws.on('close', (code) => {
      client.dispose();
      if (this.clients.delete(client)) metrics.websocketClients.set(this.clients.size);
      logger.debug({ code, delivered: client.lastDelivered }, 'alert stream client disconnected');
    });
    const { minSeverity, identities, detectors } = query.filter;
    logger.info({ since: query.since, minSeverity, identities: identities && [...identities], detectors: detectors && [...detectors] }, 'alert stream client connected');
  }

  private onAlert(e: Extract<AlertEvent, { type: 'alert' }>): void {
    if (this.clients.size === 0) return;
    const text = JSON.stringify({ type: 'alert', alert: e.alert });
    for (const c of this.clients) c.offerAlert(e.alert, text);
  }

  private onUpdate(update: Update): void {
    if (this.clients.size === 0) return;
    const facts = this.deps.feed.factsOf(update);
    const text = JSON.stringify({ type: 'update', update });
    for (const c of this.clients) c.offerUpdate(update.id, facts, text);
  }

  private onRevocation(revocation: unknown): void {
    if (this.clients.size === 0 || this.closing) return;
    const text = JSON.stringify({ type: 'revocation', revocation });
    for (const c of this.clients) c.offerRevocation(revocation, text);
  }

  private onHeartbeat(): void {
    const text = JSON.stringify({ type: 'heartbeat', seq: this.deps.feed.newest });
    for (const c of this.clients) c.heartbeat(text);
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.deps.logger.error({ err }, 'alert stream delivery failed');
    }
  }
}

/**
 * At most one update per alert per interval: the first goes out at once, later ones within the interval
 * replace each other and the latest goes out when it ends, so the final count is never lost.
 */
class UpdateThrottle {
  private readonly windows = new Map<string, { latest: Update | null; timer: NodeJS.Timeout }>();

  constructor(private readonly intervalMs: number, private readonly send: (u: Update) => void) {}

  offer(update: Update): void {
    const open = this.windows.get(update.id);
    if (open) {
      open.latest = update;
      return;
    }
    this.send(update);
    this.open(update.id);
  }

  /** Sends every pending latest count now (shutdown). */
  flush(): void {
    for (const w of this.windows.values()) {
      clearTimeout(w.timer);
      if (w.latest) this.send(w.latest);
    }
    this.windows.clear();
  }

  private open(id: string): void {
    const timer = setTimeout(() => {
      const w = this.windows.get(id);
      this.windows.delete(id);
      if (w?.latest) {
        this.send(w.latest);
        this.open(id);
      }
    }, this.intervalMs);
    timer.unref();
    this.windows.set(id, { latest: null, timer });
  }
}

/**
 * Answers an upgrade request with a plain HTTP error (the catalogue's status and, unless named, message)
 * and closes the socket. `headers`: more to send with it (`Retry-After`, `WWW-Authenticate`).
 */
function reject(socket: Duplex, code: ErrorCode, message: string = ERRORS[code].message, headers: Readonly<Record<string, string>> = {}): void {
  const status = ERRORS[code].http;
  const body = JSON.stringify({ error: code, message });
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Cache-Control: no-store\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`,
  );
}
