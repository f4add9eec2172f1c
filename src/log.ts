/**
 * Structured logs (pino) on stderr: stdout is reserved for data (`replay` alert lines, `check-config`).
 * Redaction is a second line of defence — payload attributes are never decoded in the first place — for
 * tokens, secrets and headers that might reach a log call through an object.
 */
import pino from 'pino';

export const REDACT_PATHS = [
  'token', '*.token', 'secret', '*.secret', 'authorization', '*.authorization',
  'headers', '*.headers', 'req.headers', 'api.token', 'config.api.token',
  'config.webhooks[*].secret', 'config.revocation.brokers[*].secret', 'config.revocation.brokers[*].token',
  'config.revocation.brokers[*].authorization',
];

export type Logger = pino.Logger;

/** A logger writing JSON lines to stderr (fd 2), or to `destination` when given (tests capture logs). */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { name: 'vigil' }, redact: { paths: REDACT_PATHS, censor: '<redacted>' } },
    destination ?? pino.destination({ fd: 2, sync: false }),
  );
}
