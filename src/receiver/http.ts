/**
 * OTLP/HTTP receiver: `POST /v1/traces` with protobuf or JSON bodies, optionally gzip-compressed.
 * Thin by design: read the body within the size limit, hand it to the pipeline (decoded in the ingest
 * worker), answer. Status codes follow the
 * OTLP specification: 400 undecodable, 413 too large (measured after decompression, so a gzip bomb is
 * refused after inflating at most the limit), 415 unsupported type or encoding, 503 + Retry-After when the
 * ingest queue is full.
 */
import http from 'node:http';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { bearerToken, tokenMatches } from '../api/token.js';
import type { Config } from '../config/schema.js';
import { ERRORS, VigilError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Format } from '../ingest/protocol.js';
import type { Pipeline } from '../pipeline.js';
import { encodeJsonResponse } from './otlp-json.js';
import { encodeProtobufResponse, encodeStatus } from './otlp-protobuf.js';
import { drainRest, readBody } from './read-body.js';
import { createHttpServer, type HttpListener } from '../tls.js';
import { listenOn, reboundToLoopback, SILENT_CONNECTION_MS } from './listen.js';
import { ClientIdentities } from './client-identities.js';

export interface HttpReceiverDeps {
  config: Config;
  pipeline: Pipeline;
  metrics: Metrics;
  logger: Logger;
}

/** The client certificate of a request over TLS (null over plaintext, or when the client sent none). */
function peerCertificate(req: http.IncomingMessage): PeerCertificate | null {
  const socket = req.socket as Partial<TLSSocket>;
  return typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : null;
}

function formatOf(contentType: string | undefined): Format | null {
  const mime = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (mime === 'application/x-protobuf' || mime === 'application/protobuf') return 'protobuf';
  if (mime === 'application/json') return 'json';
  return null;
}

export class HttpReceiver {
  private readonly listener: HttpListener;
  private readonly server: http.Server;
  private closed = false;

  private readonly clients: ClientIdentities;

  constructor(private readonly deps: HttpReceiverDeps) {
    this.clients = new ClientIdentities(deps.config.receivers.otlp.clientIdentities);
    const { tls } = deps.config.receivers.otlp.http;
    // Slowloris guard: a client must start speaking and send its headers promptly, and its body within
    // a bounded time.
    const { requestTimeout } = deps.config.receivers.otlp;
    const prompt = Math.min(SILENT_CONNECTION_MS, requestTimeout);
    this.listener = createHttpServer(tls, 'otlp-http', deps.logger, { keepAliveTimeout: 65_000 }, (req, res) => void this.handle(req, res), prompt);
    this.server = this.listener.server;
    this.server.headersTimeout = prompt;
    this.server.requestTimeout = requestTimeout;
  }

  listen(endpoint: string): Promise<number> {
    return listenOn(this.server, endpoint);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/v1/traces') return this.plain(res, 404, 'not found: OTLP traces are accepted at POST /v1/traces');
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return this.plain(res, 405, 'method not allowed: use POST');
    }
    const { metrics, config, pipeline } = this.deps;
    const stop = metrics.requestDuration.startTimer({ receiver: 'http' });
    const format = formatOf(req.headers['content-type']);
    try {
      if (reboundToLoopback(req)) throw new VigilError('VIGIL_ERR_MISDIRECTED', `Host: ${req.headers.host}`);
      const { token } = config.receivers.otlp;
      // Before the body is read: a stranger's upload costs nothing.
      if (token !== undefined && !tokenMatches(token, bearerToken(req.headers.authorization))) throw new VigilError('VIGIL_ERR_UNAUTHENTICATED');
      const client = this.clients.enabled ? this.clients.allowedFor(peerCertificate(req)) : null;
      if (!format) throw new VigilError('VIGIL_ERR_CONTENT_TYPE', String(req.headers['content-type'] ?? 'none'));
      const reading = pipeline.bodyBudget();
      let body: Buffer;
      try {
        body = await readBody(req, config.receivers.otlp.maxRequestBytes, reading);
      } finally {
        reading.release(); // the queue charges the body itself from here on
      }
      const result = await pipeline.ingest(body, format, 'http', client);
      const payload = format === 'json' ? encodeJsonResponse(result.rejected, result.errorMessage) : encodeProtobufResponse(result.rejected, result.errorMessage);
      this.send(res, 200, format, payload);
    } catch (err) {
      this.fail(req, res, format ?? 'json', err);
    } finally {
      stop();
    }
  }

  private fail(req: http.IncomingMessage, res: http.ServerResponse, format: Format, err: unknown): void {
    const { metrics, logger, config } = this.deps;
    if (!(err instanceof VigilError)) {
      logger.error({ err }, 'unexpected error in http export');
      return this.send(res, 500, format, format === 'json' ? JSON.stringify({ code: 13, message: 'internal error' }) : encodeStatus(13, 'internal error'));
    }
    const { reason, grpc: grpcCode } = ERRORS[err.code];
    if (reason) metrics.requestsRejected.inc({ receiver: 'http', reason });
    if (err.retryable) res.setHeader('Retry-After', String(Math.max(1, Math.ceil(config.ingest.retryAfter / 1000))));
    if (err.httpStatus === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="vigil-otlp"');
    if (!req.complete) {
      // A body too large or refused for load: the exporter must read the answer to know not to resend
      // at once. Anything else (no token, a wrong content type, bad gzip): no reason to read on.
      if (err.code === 'VIGIL_ERR_TOO_LARGE' || err.retryable) drainRest(req, res, 2 * config.receivers.otlp.maxRequestBytes);
      else {
        res.setHeader('Connection', 'close');
        res.once('finish', () => req.destroy());
      }
    }
    this.send(res, err.httpStatus, format, format === 'json' ? JSON.stringify({ code: grpcCode, message: err.message }) : encodeStatus(grpcCode, err.message));
  }

  private send(res: http.ServerResponse, status: number, format: Format, body: string | Uint8Array): void {
    if (res.headersSent) return;
    res.writeHead(status, { 'Content-Type': format === 'json' ? 'application/json' : 'application/x-protobuf' });
    res.end(body);
  }

  private plain(res: http.ServerResponse, status: number, message: string): void {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(message + '\n');
  }

  /** Stops accepting connections and closes idle keep-alive ones; in-flight requests finish. Idempotent. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return this.listener.close(5000);
  }
}
