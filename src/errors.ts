/**
 * The error catalogue. Every error Vigil reports to a user or a client carries a stable code and says
 * whether retrying can help: permanent errors map to HTTP 400/413/415 and gRPC INVALID_ARGUMENT /
 * RESOURCE_EXHAUSTED, retryable ones to 429/503 and UNAVAILABLE (OTel Collector otlpreceiver habit).
 */
export const ERRORS = {
  VIGIL_ERR_DECODE: { retryable: false, http: 400, message: 'the payload is not a valid OTLP ExportTraceServiceRequest' },
  VIGIL_ERR_TOO_LARGE: { retryable: false, http: 413, message: 'the request is larger than receivers.otlp.maxRequestBytes' },
  VIGIL_ERR_CONTENT_TYPE: { retryable: false, http: 415, message: 'unsupported Content-Type; send application/x-protobuf or application/json' },
  VIGIL_ERR_CONTENT_ENCODING: { retryable: false, http: 415, message: 'unsupported Content-Encoding; send gzip or none' },
  VIGIL_ERR_OVERLOADED: { retryable: true, http: 503, message: 'the ingest queue is full; retry after the indicated delay' },
  VIGIL_ERR_UNAVAILABLE: { retryable: true, http: 503, message: 'the export could not be processed now; retry after the indicated delay' },
  VIGIL_ERR_SHUTTING_DOWN: { retryable: true, http: 503, message: 'the daemon is shutting down; retry against the next instance' },
  VIGIL_ERR_CONFIG: { retryable: false, http: 500, message: 'the configuration is invalid' },
  VIGIL_ERR_UNAUTHORIZED: { retryable: false, http: 401, message: 'a valid API token is required (Authorization: Bearer <token>)' },
  VIGIL_ERR_UNAUTHENTICATED: {
    retryable: false,
    http: 401,
    message: 'this receiver needs its token: send Authorization: Bearer <receivers.otlp.token> (OTEL_EXPORTER_OTLP_HEADERS)',
  },
  VIGIL_ERR_FORBIDDEN: {
    retryable: false,
    http: 403,
    message: 'this client may not send spans here: receivers.otlp.clientIdentities has no rule for its certificate',
  },
  VIGIL_ERR_NOT_FOUND: { retryable: false, http: 404, message: 'no such endpoint' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class VigilError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly httpStatus: number;

  constructor(code: ErrorCode, detail?: string) {
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

/** An error the ingest worker reported, as the receivers expect it (a VigilError maps to a status; anything else is a 500). */
export function errorFromWorker(e: { code: string; message: string }): Error {
  if (!(e.code in ERRORS)) return new Error(e.message);
  const err = new VigilError(e.code as ErrorCode);
  err.message = e.message;
  return err;
}
