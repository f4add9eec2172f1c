/**
 * The client the CLI commands that manage a running daemon share (`vigil baseline`, `vigil revocation`,
 * `vigil webhook`): they talk to its API rather than to the database, since the daemon holds its state in
 * memory and would overwrite changes made behind its back.
 */
import { readApiToken } from './api/token.js';
import { joinEndpoint, splitEndpoint } from './config/endpoint.js';
import type { Config } from './config/schema.js';
import { UserError } from './errors.js';

/** Longest a call may wait for the daemon's answer. */
const CALL_TIMEOUT_MS = 10_000;

/** A call to the daemon's API that prints its JSON answer, or throws a UserError saying what went wrong. */
export type DaemonCall = (method: string, path: string, body?: unknown) => Promise<void>;

export function daemonApi(config: Config): DaemonCall {
  const base = `${config.api.tls ? 'https' : 'http'}://${localEndpoint(config.api.endpoint)}`;
  const token = readApiToken(config.api.token, config.storage.path);
  return async (method, path, body) => {
    let res: Response;
    let text: string;
    try {
      res = await fetch(base + path, {
        method,
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
      text = await res.text(); // the timeout covers the body too
    } catch (err) {
      if ((err as Error).name === 'TimeoutError') {
        throw new UserError(`the daemon at ${base} did not answer within ${CALL_TIMEOUT_MS / 1000} s: it may be overloaded or stuck (see its log and /metrics)`);
      }
      const cause = String((err as { cause?: { code?: string } }).cause?.code ?? '');
      if (cause === 'ERR_TLS_CERT_ALTNAME_INVALID') {
        throw new UserError(`the certificate of the daemon at ${base} does not name that host: set api.endpoint in the --config given here to a name api.tls.cert holds`);
      }
      if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(cause)) {
        throw new UserError(`the daemon at ${base} shows a certificate this command does not trust (${cause}): set NODE_EXTRA_CA_CERTS to the CA file that signed api.tls.cert`);
      }
      throw new UserError(`cannot reach the daemon at ${base}: start it with \`npm start\` (or pass the --config it runs with, or set VIGIL_CONFIG to it)`);
    }
    if (res.status === 401) throw new UserError(`${method} ${path}: 401: the daemon at ${base} does not take this token; set VIGIL_API_TOKEN to the one it uses`);
    // Which daemon, every time: with several running (staging beside production), an allow or a 404
    // from the wrong one must not pass for the right one's.
    if (!res.ok) throw new UserError(`${method} ${path}: ${res.status} from the daemon at ${base}: ${text}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new UserError(`${method} ${path}: ${base} answered with something other than JSON (is it Vigil's API?): ${text.slice(0, 200)}`);
    }
    process.stdout.write(JSON.stringify(parsed, null, 2) + '\n');
    process.stderr.write(`vigil: answered by the daemon at ${base}\n`);
    const warning = (parsed as { warning?: unknown } | null)?.warning;
    if (typeof warning === 'string') process.stderr.write(`vigil: warning: ${warning}\n`);
  };
}

/** The API endpoint to call on this host: a wildcard listen address (every interface) means loopback. */
function localEndpoint(endpoint: string): string {
  const { host, port } = splitEndpoint(endpoint);
  const local = host === '0.0.0.0' ? '127.0.0.1' : host === '[::]' ? '[::1]' : host;
  return joinEndpoint(local, port);
}
