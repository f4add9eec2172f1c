/**
 * The API listener: health, readiness, metrics and the SOC page here; the alert websocket and REST routes
 * join through `route`. Everything but /healthz, /readyz and the SOC page's static files needs the bearer
 * token (CONTRACT §2; the page holds no data, and a browser cannot send a token on navigation); tokens are
 * only ever read from headers, never from URLs, which end up in proxy and access logs. An address that
 * keeps failing the token is throttled (token-throttle.ts).
 */
import http from 'node:http';
import type { Config } from '../config/schema.js';
import { ERRORS, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { createHttpServer, type HttpListener } from '../tls.js';
import { listenOn, reboundToLoopback } from '../receiver/listen.js';
import { drainRest } from '../receiver/read-body.js';
import { BadRequest, BodyTooLarge } from './json-body.js';
import { SOC_PATHS, serveSocPage } from './soc-page.js';
import { bearerToken, tokenMatches } from './token.js';
import { TokenThrottle } from './token-throttle.js';

/** The health checks: answered without the token (CONTRACT §2), so probes need no secret. */
const PUBLIC_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

export type RouteHandler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => void | Promise<void>;

export interface ApiServerDeps {
  config: Config;
  token: string;
  metrics: Metrics;
  logger: Logger;
  /**
   * `ready` once receivers listen and the database is open, or why not: `starting`, `migrating` (an older
   * store is being brought to this version's schema), `store_unavailable` (the last group commit failed).
   */
  readiness: () => 'ready' | 'starting' | 'migrating' | 'store_unavailable';
}

/**
 * The URL of a request, or null when its request-target cannot be one. Origin-form (`/path?query`, what
 * clients send) is always a path, RFC 9112 §3.2.1: `new URL('//x:99999', base)` would read `x:99999` as
 * a host and throw on the port. Absolute-form (what clients send to proxies) is parsed as it stands and
 * can fail; anything else (`*`) is no URL. Callers answer null with 400, never with an exception: one
 * unauthenticated request must not take the daemon down.
 */
export function requestUrl(target: string | undefined): URL | null {
  const t = target ?? '/';
  try {
    return t.startsWith('/') ? new URL(`http://vigil.invalid${t}`) : new URL(t);
  } catch {
    return null;
  }
}

/**
 * The `index`th segment of a path (`/v1/identities/{identity}/allow`: 3), URL-decoded. A malformed escape
 * (`%E0%A4%A`) is the client's mistake: decodeURIComponent's URIError would otherwise surface as a 500
 * logged as a daemon bug.
 */
export function pathSegment(url: URL, index: number, what: string): string {
  try {
    return decodeURIComponent(url.pathname.split('/')[index]);
  } catch {
    throw new BadRequest(`the ${what} in the path is not valid percent-encoding (encode it with encodeURIComponent)`);
  }
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(text);
}

/** Answers `{error, message}` with the catalogue's status for `code`; `message` names the case, else the catalogue's. */
export function sendError(res: http.ServerResponse, code: ErrorCode, message: string = ERRORS[code].message): void {
  sendJson(res, ERRORS[code].http, { error: code, message });
}

/** Who sent a request, for the log of what operators do (one shared token says nothing of who). */
export function clientAddress(req: http.IncomingMessage): string {
  return `${req.socket.remoteAddress ?? 'unknown'}:${req.socket.remotePort ?? ''}`;
}

/** Refusals for a wrong or missing token are said at most this often (counted always): a scan must not flood the log. */
const REFUSALS_LOGGED_EVERY_MS = 60_000;
/** How much of an oversized body is still read, and dropped, after the 413, so the client sees it (drainRest). */
const DRAIN_BYTES = 1024 * 1024;

/** What a client is told to wait while the daemon starts (a migration can take minutes; probes poll anyway). */
const STARTING_RETRY_AFTER_S = 5;

/** The 429's message, with the wait in it: a CLI user reads the message, not the header. */
function throttledMessage(retryAfterSeconds: number): string {
  return `${ERRORS.VIGIL_ERR_THROTTLED.message} (${retryAfterSeconds} s)`;
}

/** Why the API turns a request away: the catalogue code, its message if not the catalogue's, and headers to send with it. */
export interface Refusal {
  code: ErrorCode;
  message?: string;
  headers: Readonly<Record<string, string>>;
}

/** Another way a surface takes the token (the websocket's bearer subprotocol: browsers cannot set its headers). */
export interface TokenAlternative {
  /** True when the request carries the token that way. */
  matches(): boolean;
  /** The 401's message, naming every way the token may come. */
  unauthorized: string;
}

export class ApiServer {
  readonly server: http.Server;
  private readonly listener: HttpListener;
  private readonly routes = new Map<string, RouteHandler>();
  private readonly patterns: Array<{ method: string; pattern: RegExp; handler: RouteHandler }> = [];
  private closed = false;
  /** False until the daemon has opened its store and registered its routes (`serve`): only the health checks answer before. */
  private serving = false;
  private readonly throttle = new TokenThrottle();
  private refusedSinceLogged = 0;
  private refusalLoggedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly deps: ApiServerDeps) {
    this.listener = createHttpServer(deps.config.api.tls, 'api', deps.logger, {}, (req, res) => void this.handle(req, res).catch((err) => this.failed(res, err)));
    this.server = this.listener.server;
    this.server.headersTimeout = 30_000;
    this.route('GET /healthz', (_req, res) => sendJson(res, 200, { status: 'ok' }));
    this.route('GET /readyz', (_req, res) => {
      const status = deps.readiness();
      sendJson(res, status === 'ready' ? 200 : 503, { status });
    });
    for (const p of SOC_PATHS) this.route(`GET ${p}`, (_req, res, url) => serveSocPage(url.pathname, res));
    this.route('GET /metrics', async (_req, res) => {
      const body = await deps.metrics.registry.metrics();
      res.writeHead(200, { 'Content-Type': deps.metrics.registry.contentType });
      res.end(body);
    });
  }

  /**
   * Registers `"METHOD /path"`; every route but the health checks requires the token. A path served for
   * some methods answers the others 405 with `Allow`, after the token check like the route itself.
   */
  route(key: string, handler: RouteHandler): void {
    this.routes.set(key, handler);
  }

  /** Registers a path pattern (e.g. identities, whose ids contain encoded slashes); groups are in `url.pathname`. */
  routePattern(method: string, pattern: RegExp, handler: RouteHandler): void {
    this.patterns.push({ method, pattern, handler });
  }

  private handlerFor(method: string, pathname: string): RouteHandler | undefined {
    // HEAD is GET without the body (RFC 9110 §9.3.2; Node's response drops the body itself): load
    // balancers and uptime probes use it on health checks.
    const m = method === 'HEAD' ? 'GET' : method;
    return this.routes.get(`${m} ${pathname}`) ?? this.patterns.find((p) => p.method === m && p.pattern.test(pathname))?.handler;
  }

  /** The methods some route serves at `pathname` (none: no such path). */
  private methodsAt(pathname: string): string[] {
    const methods = new Set<string>();
    for (const key of this.routes.keys()) {
      const space = key.indexOf(' ');
      if (key.slice(space + 1) === pathname) methods.add(key.slice(0, space));
    }
    for (const p of this.patterns) if (p.pattern.test(pathname)) methods.add(p.method);
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort();
  }

  /**
   * A request refused for a missing or wrong token (`surface`: rest or websocket): counted in /metrics, and
   * a warning naming the latest caller at most once a minute — someone guessing, or a client with a stale token.
   */
  private refused(req: http.IncomingMessage, surface: 'rest' | 'websocket'): void {
    this.deps.metrics.apiUnauthorized.inc({ surface });
    this.refusedSinceLogged++;
    const now = Date.now();
    this.throttle.failed(req.socket.remoteAddress ?? 'unknown', now);
    if (now - this.refusalLoggedAt < REFUSALS_LOGGED_EVERY_MS) return;
    this.deps.logger.warn({ refused: this.refusedSinceLogged, latest: clientAddress(req), surface }, `${this.refusedSinceLogged} API request(s) refused for a missing or wrong token since the last such warning; the latest from ${clientAddress(req)}`);
    this.refusalLoggedAt = now;
    this.refusedSinceLogged = 0;
  }

  /**
   * Seconds the request's address must wait before its token is looked at again, having failed it too
   * often (token-throttle.ts), counted in /metrics; 0 when its token is to be checked now.
   */
  private throttled(req: http.IncomingMessage, surface: 'rest' | 'websocket'): number {
    const waitMs = this.throttle.waitMs(req.socket.remoteAddress ?? 'unknown', Date.now());
    if (waitMs === 0) return 0;
    this.deps.metrics.apiThrottled.inc({ surface });
    return Math.ceil(waitMs / 1000);
  }

  /**
   * The token check of the REST routes and the websocket upgrade, so a change to the throttle or the auth
   * rule is made once: an address that failed too often is refused (429) before its token is looked at;
   * a request without the token is refused (401), counted and throttled. Null: let it through.
   */
  gate(req: http.IncomingMessage, surface: 'rest' | 'websocket', alternative?: TokenAlternative): Refusal | null {
    const retryAfter = this.throttled(req, surface);
    if (retryAfter > 0) return { code: 'VIGIL_ERR_THROTTLED', message: throttledMessage(retryAfter), headers: { 'Retry-After': String(retryAfter) } };
    if (this.authorized(req) || alternative?.matches()) return null;
    this.refused(req, surface);
    return { code: 'VIGIL_ERR_UNAUTHORIZED', message: alternative?.unauthorized, headers: { 'WWW-Authenticate': 'Bearer realm="vigil"' } };
  }

  /** True when the request carries the API token in its Authorization header. */
  private authorized(req: http.IncomingMessage): boolean {
    return tokenMatches(this.deps.token, bearerToken(req.headers.authorization));
  }

  /** Answers every route from now on; before, the API listens early only so probes see the daemon start. */
  serve(): void {
    this.serving = true;
  }

  listen(endpoint: string): Promise<number> {
    return listenOn(this.server, endpoint);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = requestUrl(req.url);
    if (!url) return sendError(res, 'VIGIL_ERR_BAD_REQUEST', 'the request-target is not a valid URL');
    // The probes answer any Host (CONTRACT §2: `/healthz` 200 while the process runs; review37 F7): they tell
    // a page rebound to loopback nothing, and a proxy or hosts alias keeping its own Host must reach them.
    if (!PUBLIC_PATHS.has(url.pathname) && reboundToLoopback(req)) return sendError(res, 'VIGIL_ERR_MISDIRECTED');
    if (!this.serving && !PUBLIC_PATHS.has(url.pathname)) {
      res.setHeader('Retry-After', String(STARTING_RETRY_AFTER_S));
      return sendError(res, 'VIGIL_ERR_STARTING');
    }
    const { config, logger } = this.deps;
    const methods = this.methodsAt(url.pathname);
    // Before auth, as it always was: which paths exist is no secret (the README lists them).
    if (methods.length === 0) return sendError(res, 'VIGIL_ERR_NOT_FOUND', `no route for ${url.pathname}`);
    const isPublic = PUBLIC_PATHS.has(url.pathname) || SOC_PATHS.has(url.pathname) || (url.pathname === '/metrics' && config.api.metricsPublic);
    const refusal = isPublic ? null : this.gate(req, 'rest');
    if (refusal) {
      for (const [name, value] of Object.entries(refusal.headers)) res.setHeader(name, value);
      return sendError(res, refusal.code, refusal.message);
    }
    const handler = this.handlerFor(req.method ?? '', url.pathname);
    if (!handler) {
      // The path exists: a 404 would tell a client with a wrong method that the endpoint is missing (RFC 9110 §15.5.6).
      res.setHeader('Allow', methods.join(', '));
      return sendError(res, 'VIGIL_ERR_METHOD_NOT_ALLOWED', `${req.method} is not served at ${url.pathname}; use ${methods.join(' or ')}`);
    }
    try {
      await handler(req, res, url);
    } catch (err) {
      // The client's mistake, named: answered here once, so no route can let one slip out as a 500.
      if (err instanceof BodyTooLarge) {
        drainRest(req, res, DRAIN_BYTES);
        if (!res.headersSent) sendError(res, 'VIGIL_ERR_TOO_LARGE', err.message);
        return;
      }
      if (err instanceof BadRequest) {
        if (!res.headersSent) sendError(res, 'VIGIL_ERR_BAD_REQUEST', err.message);
        return;
      }
      logger.error({ err, route: url.pathname }, 'api handler failed');
      if (!res.headersSent) sendError(res, 'VIGIL_ERR_INTERNAL');
    }
  }

  /**
   * Last resort for a throw outside the handler's own try: `handle` runs detached (`void`), and a
   * rejection nobody catches would end the process.
   */
  private failed(res: http.ServerResponse, err: unknown): void {
    this.deps.logger.error({ err }, 'api request failed');
    if (!res.headersSent) sendError(res, 'VIGIL_ERR_INTERNAL');
    else res.destroy();
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return this.listener.close(0);
  }
}
