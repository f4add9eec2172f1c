/**
 * The API token: `VIGIL_API_TOKEN` or `api.token` when set (the config loader applies the override),
 * otherwise generated once and kept beside the database (mode 0600) so it survives restarts. Compared in
 * constant time so response timing does not leak it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { makeFolders } from '../store/folders.js';

export interface ApiToken {
  value: string;
  /** Where a generated token is kept, or null when it came from the config or environment. */
  file: string | null;
}

/**
 * Returns the configured token, or the generated one kept in `<data folder>/api-token` (made on first use).
 * @throws UserError for an in-memory store without a configured token.
 */
export function resolveApiToken(configured: string | undefined, storagePath: string): ApiToken {
  if (configured) return { value: configured, file: null };
  const problem = apiTokenProblem(configured, storagePath);
  if (problem !== null) throw new UserError(problem);
  const file = tokenFile(storagePath);
  const existing = readTokenFile(file);
  if (existing !== null) {
    // The daemon writes it 0600; one others can read (copied, restored from a backup) hands them the API.
    const mode = fs.statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0) throw new UserError(`the API token in ${file} can be read by other users (mode 0${mode.toString(8)}): chmod 600 ${file}`);
    return { value: existing, file };
  }
  const value = crypto.randomBytes(32).toString('base64url');
  makeFolders(path.dirname(file));
  fs.writeFileSync(file, value + '\n', { mode: 0o600 });
  return { value, file };
}

/**
 * Why `serve` cannot have an API token with this config, or null (`check-config` says it before a start).
 * A generated token needs a data folder to be kept in: with ":memory:", no one could ever call the API,
 * the stream or /metrics.
 */
export function apiTokenProblem(configured: string | undefined, storagePath: string): string | null {
  return !configured && storagePath === ':memory:'
    ? 'api.token: set it (or VIGIL_API_TOKEN) when storage.path is ":memory:": there is no data folder to keep a generated token in'
    : null;
}

/**
 * The daemon's token as a client on this host finds it (`vigil baseline`): configured, or in the file
 * the daemon generated. Never creates anything: a client must not leave a token (or a data folder owned
 * by its user) where the daemon will look.
 * @throws UserError when there is none to read, naming what to set.
 */
export function readApiToken(configured: string | undefined, storagePath: string): string {
  if (configured) return configured;
  const file = storagePath === ':memory:' ? null : tokenFile(storagePath);
  const existing = file === null ? null : readTokenFile(file);
  if (existing === null) {
    throw new UserError(`no API token${file ? ` in ${file}` : ''}: set VIGIL_API_TOKEN to the token the daemon uses (or start the daemon, which writes that file)`);
  }
  return existing;
}

const tokenFile = (storagePath: string) => path.join(path.dirname(storagePath), 'api-token');

/** The token in `file`, or null when there is none (or too short to be one). */
function readTokenFile(file: string): string | null {
  try {
    const existing = fs.readFileSync(file, 'utf8').trim();
    return existing.length >= 16 ? existing : null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    throw new UserError(`cannot read the API token in ${file} (${code ?? (err as Error).message}): run as the daemon's user, or set VIGIL_API_TOKEN`);
  }
}

const digest = (s: string) => crypto.createHash('sha256').update(s).digest();

/** True when `presented` equals the token; constant time in the token's content. */
export function tokenMatches(token: string, presented: string | undefined | null): boolean {
  if (!presented) return false;
  return crypto.timingSafeEqual(digest(token), digest(presented));
}

/** Extracts the token from an `Authorization: Bearer <token>` header. */
export function bearerToken(header: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m ? m[1] : null;
}
