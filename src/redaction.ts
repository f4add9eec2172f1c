/**
 * What Vigil hides, and what it prints instead: the one list of secret key names and the one stand-in,
 * shared by the logs (log.ts, pino's `redact`), `check-config` output (config/format.ts) and printed URLs
 * (sinks/redact-url.ts). Kept together so a secret key added later is hidden in logs and in
 * `check-config` alike, not in whichever place someone remembered.
 */

/** What a secret (or the secret part of a URL) is printed as. */
export const REDACTED = '<redacted>';

/**
 * Keys whose values are secrets wherever they appear: `api.token`, a webhook's `secret`, a broker's
 * `secret`, `token` and `authorization`. Matching by name rather than by path fails closed: a secret
 * added later under one of these names is hidden without anyone remembering to list it.
 */
export const SECRET_KEYS: ReadonlySet<string> = new Set(['token', 'secret', 'authorization']);
