/**
 * The error catalogue: every error Vigil reports to a user or a client, with a stable code, whether
 * retrying can help, and what it is answered with — the HTTP status, the gRPC status (OTLP receivers;
 * the OTLP/HTTP body carries it too) and the reason counted in `vigil_requests_rejected_total`.
 * Permanent errors map to HTTP 400/413/415 and gRPC INVALID_ARGUMENT / RESOURCE_EXHAUSTED, retryable
 * ones to 429/503 and UNAVAILABLE (OTel Collector otlpreceiver habit). A new code is one line here.
 */
import type { RequestRejectReason } from './metrics.js';

/** The gRPC status codes used (grpc/status.proto), without loading grpc-js where no gRPC runs. */
const GRPC = { INVALID_ARGUMENT: 3, NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, UNAUTHENTICATED: 16 } as const;

interface ErrorEntry {
  readonly retryable: boolean;
  readonly http: number;
  readonly grpc: number;
  /** Counted as a refused request under this reason (receivers); none for errors counted where they start or not refusals of an export. */
  readonly reason?: RequestRejectReason;
  readonly message: string;
}

const CATALOGUE = {
  // OTLP receivers
  VIGIL_ERR_DECODE: { retryable: false, http: 400, grpc: GRPC.INVALID_ARGUMENT, reason: 'decode', message: 'the payload is not a valid OTLP ExportTraceServiceRequest' },
  VIGIL_ERR_TOO_LARGE: { retryable: false, http: 413, grpc: GRPC.RESOURCE_EXHAUSTED, reason: 'too_large', message: 'the request is larger than receivers.otlp.maxRequestBytes' },
  VIGIL_ERR_CONTENT_TYPE: { retryable: false, http: 415, grpc: GRPC.INVALID_ARGUMENT, reason: 'content_type', message: 'unsupported Content-Type; send application/x-protobuf or application/json' },
  VIGIL_ERR_CONTENT_ENCODING: { retryable: false, http: 415, grpc: GRPC.INVALID_ARGUMENT, reason: 'content_encoding', message: 'unsupported Content-Encoding; send gzip or none' },
  VIGIL_ERR_OVERLOADED: { retryable: true, http: 503, grpc: GRPC.UNAVAILABLE, reason: 'overloaded', message: 'the ingest queue is full; retry after the indicated delay' },
  // Several causes: each is counted where it starts (store_unavailable, overloaded).
  VIGIL_ERR_UNAVAILABLE: { retryable: true, http: 503, grpc: GRPC.UNAVAILABLE, message: 'the export could not be processed now; retry after the indicated delay' },
  VIGIL_ERR_SHUTTING_DOWN: { retryable: true, http: 503, grpc: GRPC.UNAVAILABLE, reason: 'shutting_down', message: 'the daemon is shutting down; retry against the next instance' },
  VIGIL_ERR_UNAUTHENTICATED: {
    retryable: false,
    http: 401,
    grpc: GRPC.UNAUTHENTICATED,
    reason: 'unauthenticated',
    message: 'this receiver needs its token: send Authorization: Bearer <receivers.otlp.token> (OTEL_EXPORTER_OTLP_HEADERS)',
  },
  VIGIL_ERR_FORBIDDEN: {
    retryable: false,
    http: 403,
    grpc: GRPC.PERMISSION_DENIED,
    reason: 'forbidden',
    message: 'this client may not send spans here: receivers.otlp.clientIdentities has no rule for its certificate',
  },
  VIGIL_ERR_MISDIRECTED: {
    retryable: false,
    http: 421,
    grpc: GRPC.PERMISSION_DENIED,
    reason: 'misdirected',
    message: 'this listener is on loopback and answers only requests for localhost or an IP address (Host), not a name a web page may have pointed at it',
  },
  // The API (REST and websocket); routes usually name the thing in their own message.
  VIGIL_ERR_BAD_REQUEST: { retryable: false, http: 400, grpc: GRPC.INVALID_ARGUMENT, message: 'the request is not valid' },
  VIGIL_ERR_UNAUTHORIZED: { retryable: false, http: 401, grpc: GRPC.UNAUTHENTICATED, message: 'a valid API token is required (Authorization: Bearer <token>)' },
  VIGIL_ERR_THROTTLED: {
    retryable: true,
    http: 429,
    // Never sent over gRPC (the API has none); UNAVAILABLE because it is retryable, the catalogue's rule.
    grpc: GRPC.UNAVAILABLE,
    message: 'too many requests with a missing or wrong API token came from this address: its token is not looked at until the Retry-After delay has passed',
  },
  VIGIL_ERR_STARTING: { retryable: true, http: 503, grpc: GRPC.UNAVAILABLE, message: 'Vigil is starting (opening or migrating its store); retry after the indicated delay' },
  VIGIL_ERR_NOT_FOUND: { retryable: false, http: 404, grpc: GRPC.NOT_FOUND, message: 'no such endpoint' },
  VIGIL_ERR_METHOD_NOT_ALLOWED: { retryable: false, http: 405, grpc: GRPC.UNIMPLEMENTED, message: 'the method is not served at this path' },
  VIGIL_ERR_CONFLICT: { retryable: false, http: 409, grpc: GRPC.ALREADY_EXISTS, message: 'the request conflicts with the current state' },
  VIGIL_ERR_UPGRADE_REQUIRED: { retryable: false, http: 426, grpc: GRPC.INVALID_ARGUMENT, message: 'this endpoint is a websocket' },
  VIGIL_ERR_INTERNAL: { retryable: false, http: 500, grpc: GRPC.INTERNAL, message: 'internal error' },
  // The CLI
  VIGIL_ERR_CONFIG: { retryable: false, http: 500, grpc: GRPC.INTERNAL, message: 'the configuration is invalid' },
} as const satisfies Record<string, ErrorEntry>;

export type ErrorCode = keyof typeof CATALOGUE;
export const ERRORS: Readonly<Record<ErrorCode, ErrorEntry>> = CATALOGUE;

export class VigilError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly httpStatus: number;

  /** `detail`: what in particular went wrong, appended to the catalogue's message. */
  constructor(code: ErrorCode, readonly detail?: string) {
    const entry = ERRORS[code];
    super(detail ? `${entry.message}: ${detail}` : entry.message);
    this.name = 'VigilError';
    this.code = code;
    this.retryable = entry.retryable;
    this.httpStatus = entry.http;
  }
}

/**
 * A problem the user can fix (a wrong path, a port in use, a missing file): the CLI prints `userMessage`
 * as one sentence and exits 1, never a stack trace (CONTRACT §1).
 */
export class UserError extends Error {
  constructor(readonly userMessage: string) {
    super(userMessage);
    this.name = 'UserError';
  }
}

/** Why a file named in the config cannot be read, in a few words (`no such file`, `permission denied`). */
export function unreadableReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'is a folder' : String(code ?? err);
}

/**
 * An error the ingest worker reported, as the receivers expect it: a VigilError maps to a status; an
 * unforeseen one (VIGIL_ERR_INTERNAL) stays a plain Error, logged and answered "internal error" without its text.
 */
export function errorFromWorker(e: { code: string; message: string }): Error {
  if (!(e.code in ERRORS) || e.code === 'VIGIL_ERR_INTERNAL') return new Error(e.message);
  const err = new VigilError(e.code as ErrorCode);
  err.message = e.message;
  return err;
}
