/**
 * OTLP/gRPC receiver: `opentelemetry.proto.collector.trace.v1.TraceService/Export`. Thin by design: it
 * hands the raw message bytes (grpc-js does not deserialise them) to the pipeline, whose ingest worker
 * decodes them,
 * and maps errors to status codes once — INVALID_ARGUMENT for a payload that will never decode,
 * UNAVAILABLE with RetryInfo when the queue is full (the JavaScript SDK's exporter does not retry on its
 * own, so shedding is the last resort behind a bounded queue). grpc-js enforces the size limit after
 * decompression and answers RESOURCE_EXHAUSTED itself.
 *
 * grpc-js buffers a request message whole (up to `maxRequestBytes`) before the handler sees it, and
 * reads a message only once the handler asks for it. So messages still arriving are bounded here: at
 * most `ingest.queueBytes / maxRequestBytes` calls receive at a time; a call past that waits, unread
 * (HTTP/2 flow control holds its data back at the client), for a slot. Each call must have sent its
 * message within `receivers.otlp.requestTimeout` of its headers, waiting included, else
 * DEADLINE_EXCEEDED (retryable): uploads held open cannot keep the slots. A call holds its slot until
 * its stream is half-closed, when the handler runs and the queue charges its message — or, while others
 * wait, for SLOT_HOLD_MS at most (UNAVAILABLE with RetryInfo): calls that send headers and stall must not
 * block every export.
 */
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { bearerToken, tokenMatches } from '../api/token.js';
import type { Config } from '../config/schema.js';
import { ERRORS, VigilError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Pipeline } from '../pipeline.js';
import { encodeGrpcStatusDetailsRetryInfo, encodeProtobufResponse } from './otlp-protobuf.js';
import { TlsFiles } from '../tls.js';
import { ClientIdentities } from './client-identities.js';
import { grpcCredentials } from './grpc-tls.js';
import { closeIfSilent, listenOn, SILENT_CONNECTION_MS } from './listen.js';
import { ReceivingSlots } from './receiving-slots.js';

const passThrough = (b: Buffer) => b;

/**
 * The idle limit is the connection's prompt limit (30 s, or the request timeout if shorter), but never
 * below this: an SDK exporting every 5 s (their default) keeps its connection, however short the
 * request timeout.
 */
const MIN_IDLE_MS = 10_000;

/**
 * How long a call may hold a receiving slot without finishing its message while other calls wait
 * (receiving-slots.ts), or half the request timeout if shorter. Exporters send the message right after
 * the headers; a call that has not in this time is stalled or on a link too slow for an export anyway.
 */
const SLOT_HOLD_MS = 5_000;

const traceService: grpc.ServiceDefinition = {
  Export: {
    path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    requestStream: false,
    responseStream: false,
    requestSerialize: passThrough,
    requestDeserialize: passThrough,
    responseSerialize: passThrough,
    responseDeserialize: passThrough,
  },
};

export interface GrpcReceiverDeps {
  config: Config;
  pipeline: Pipeline;
  metrics: Metrics;
  logger: Logger;
}

export class GrpcReceiver {
  private readonly server: grpc.Server;
  /**
   * Vigil accepts the TCP connections itself and hands them to grpc-js, to close those that send
   * nothing (`closeIfSilent`): over TLS, grpc-js's idle limit (below) starts only once a handshake is
   * done.
   */
  private readonly tcp = net.createServer((socket) => {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    closeIfSilent(socket, this.promptMs);
    this.injector?.injectConnection(socket);
  });
  private readonly sockets = new Set<net.Socket>();
  /** How long a connection may go without speaking, or without a call in progress. */
  private readonly promptMs: number;
  /** How long a call may keep its receiving slot while others wait (SLOT_HOLD_MS). */
  private readonly slotHoldMs: number;
  private injector: grpc.ConnectionInjector | null = null;
  private closed = false;
  private readonly slots: ReceivingSlots;
  private readonly tlsFiles: TlsFiles | null;
  private readonly clients: ClientIdentities;

  constructor(private readonly deps: GrpcReceiverDeps) {
    this.clients = new ClientIdentities(deps.config.receivers.otlp.clientIdentities);
    const { tls } = deps.config.receivers.otlp.grpc;
    this.tlsFiles = tls ? new TlsFiles(tls, 'otlp-grpc', deps.logger) : null;
    const { maxRequestBytes: max, requestTimeout } = deps.config.receivers.otlp;
    this.promptMs = Math.min(SILENT_CONNECTION_MS, requestTimeout);
    this.slotHoldMs = Math.min(SLOT_HOLD_MS, requestTimeout / 2);
    this.slots = new ReceivingSlots(Math.max(1, Math.floor(deps.config.ingest.queueBytes / max)), this.slotHoldMs);
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': max,
      'grpc.max_send_message_length': 4 * 1024 * 1024,
      // A connection with no call in progress is closed (a GOAWAY; clients reconnect for their next
      // export). This also bounds one that stops after a byte of its HTTP/2 preface, or after its TLS
      // handshake, which neither the silence check nor any per-call timeout covers.
      'grpc.max_connection_idle_ms': Math.max(MIN_IDLE_MS, this.promptMs),
      interceptors: [this.boundReceiving],
    });
    this.server.addService(traceService, { Export: this.export.bind(this) });
  }

  /** Holds a call's metadata (so grpc-js reads nothing) until it has a receiving slot; see the top. */
  private readonly boundReceiving: grpc.ServerInterceptor = (_method, call) => {
    const { requestTimeout } = this.deps.config.receivers.otlp;
    const ticket = this.slots.ticket(() => {
      clearTimeout(timer);
      this.deps.metrics.requestsRejected.inc({ receiver: 'grpc', reason: 'overloaded' });
      const detail = `its message did not arrive within ${this.slotHoldMs} ms of its turn while other exports waited to be received`;
      call.sendStatus(this.toStatus(new VigilError('VIGIL_ERR_UNAVAILABLE', detail), this.deps.config.ingest.retryAfter));
    });
    const timer = setTimeout(() => {
      ticket.end();
      call.sendStatus({ code: grpc.status.DEADLINE_EXCEEDED, details: `the request was not received within ${requestTimeout} ms` });
    }, requestTimeout);
    const end = () => {
      clearTimeout(timer);
      ticket.end();
    };
    const listener = new grpc.ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const { token } = this.deps.config.receivers.otlp;
        const presented = metadata.get('authorization')[0];
        if (token !== undefined && !tokenMatches(token, bearerToken(typeof presented === 'string' ? presented : undefined))) {
          end();
          call.sendStatus(this.toStatus(new VigilError('VIGIL_ERR_UNAUTHENTICATED'), 0));
          return;
        }
        ticket.whenAdmitted(() => next(metadata));
      })
      // The slot is held until half-close, when the handler runs and the queue charges the message: a
      // client that sent its message but never ends the stream must not hold it unaccounted, untimed.
      .withOnReceiveHalfClose((next) => {
        end();
        next();
      })
      .withOnCancel(end)
      .build();
    const responder = new grpc.ResponderBuilder()
      .withStart((next) => next(listener))
      .withSendStatus((status, next) => {
        end();
        next(status);
      })
      .build();
    return new grpc.ServerInterceptingCall(call, responder);
  };

  /** Binds the configured endpoint; resolves with the bound port (the endpoint may ask for port 0). */
  listen(endpoint: string): Promise<number> {
    this.injector = this.server.createConnectionInjector(grpcCredentials(this.tlsFiles));
    return listenOn(this.tcp, endpoint);
  }

  private export(call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>): void {
    const { pipeline, metrics, config } = this.deps;
    const stop = metrics.requestDuration.startTimer({ receiver: 'grpc' });
    const done: grpc.sendUnaryData<Buffer> = (err, value, trailer) => {
      stop();
      callback(err, value, trailer);
    };
    let outcome;
    try {
      const client = this.clients.enabled ? this.clients.allowedFor(call.getAuthContext()?.sslPeerCertificate) : null;
      outcome = pipeline.ingest(call.request, 'protobuf', 'grpc', client);
    } catch (err) {
      done(this.toStatus(err, config.ingest.retryAfter), null);
      return;
    }
    outcome.then(
      (o) => done(null, Buffer.from(encodeProtobufResponse(o.rejected, o.errorMessage))),
      // Refusals (a store outage, a worker restart) are logged once where they start, not per export: a
      // full disk must not also fill with log lines. `toStatus` logs only the unforeseen.
      (err) => done(this.toStatus(err, config.ingest.retryAfter), null),
    );
  }

  /**
   * Maps an error to its gRPC status (the catalogue's; retryable ones carry RetryInfo) and counts the
   * refusal under the catalogue's reason.
   */
  private toStatus(err: unknown, retryAfterMs: number): Pick<grpc.StatusObject, 'code' | 'details'> & { metadata?: grpc.Metadata } {
    if (!(err instanceof VigilError)) {
      this.deps.logger.error({ err }, 'unexpected error in grpc export');
      return { code: grpc.status.INTERNAL, details: 'internal error' };
    }
    const { grpc: code, reason } = ERRORS[err.code];
    if (reason) this.deps.metrics.requestsRejected.inc({ receiver: 'grpc', reason });
    if (!err.retryable) return { code, details: err.message };
    const metadata = new grpc.Metadata();
    metadata.set('grpc-status-details-bin', encodeGrpcStatusDetailsRetryInfo(retryAfterMs, code, err.message));
    return { code, details: err.message, metadata };
  }

  /** Stops accepting calls and waits (bounded) for in-flight ones. Idempotent. */
  close(graceMs = 5000): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.tlsFiles?.close();
    this.tcp.close();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        for (const s of this.sockets) s.destroy(); // handshakes and silent connections: no session yet
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        for (const s of this.sockets) s.destroy();
        resolve();
      });
    });
  }
}
