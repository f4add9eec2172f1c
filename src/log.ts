/**
 * Structured logs (pino) on stderr: stdout is reserved for data (`replay` alert lines, `check-config`).
 * Redaction is a second line of defence — payload attributes are never decoded in the first place — for
 * tokens, secrets and headers that might reach a log call through an object.
 */
import pino from 'pino';
import { REDACTED, SECRET_KEYS } from './redaction.js';

/**
 * Pino's redact paths: every secret key at the top level and one level down, request headers, and the
 * config's secrets where they nest deeper.
 */
export const REDACT_PATHS = [
  ...[...SECRET_KEYS].flatMap((key) => [key, `*.${key}`]),
  'headers', '*.headers', 'req.headers', 'api.token', 'config.api.token',
  'config.webhooks[*].secret',
  ...[...SECRET_KEYS].map((key) => `config.revocation.brokers[*].${key}`),
];

export type Logger = pino.Logger;

/** A logger writing JSON lines to stderr (fd 2), or to `destination` when given (tests capture logs). */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { name: 'vigil' }, redact: { paths: REDACT_PATHS, censor: REDACTED } },
    destination ?? pino.destination({ fd: 2, sync: false }),
  );
}
