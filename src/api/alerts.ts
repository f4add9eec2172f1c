/**
 * Alert REST routes (CONTRACT §2): `GET /v1/alerts?since=&limit=` pages the alert store in `seq` order,
 * `GET /v1/revocations` lists every revocation with its current state (paged by `since`/`limit` on request). Also the query grammar the alert
 * websocket shares (`since` and the `minSeverity` / `identity` / `detector` filters), so a filter means
 * the same thing on both.
 */
import { ALERT_SOURCES } from '../../detectors/types.js';
import { SEVERITIES } from '../config/fields.js';
import type { Severity } from '../config/schema.js';
import { severityRank } from '../../detectors/severity.js';
import { REVOCATION_STATUSES } from '../revocation/types.js';
import type { AlertFeed } from './alert-feed.js';
import { BadRequest } from './json-body.js';
import { clientAddress, pathSegment, sendError, sendJson, type ApiServer } from './server.js';

/** What the websocket and REST filters match on (an alert, or what an update frame is about). */
export interface AlertFacts {
  severity: string;
  identity: string;
  detector: string;
}

/** Filters from the query string; null means "any". Repeating `identity` or `detector` matches any of them. */
export interface AlertFilter {
  minSeverity: Severity | null;
  identities: ReadonlySet<string> | null;
  detectors: ReadonlySet<string> | null;
}

export interface AlertQuery {
  /** Resume cursor; null when absent (the websocket then starts with live alerts only). */
  since: number | null;
  limit: number;
  filter: AlertFilter;
}

/** `limit` when absent, and the largest page served (larger values are capped, not refused). */
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
/** Bounds the SQL a single request can ask for; a SOC filters on a handful of identities, not thousands. */
const MAX_FILTER_VALUES = 100;

const FILTER_PARAMS = ['minSeverity', 'identity', 'detector'];
/** The query parameters each endpoint accepts (`limit` is REST only: the websocket streams everything). */
const REST_PARAMS: readonly string[] = ['since', 'limit', ...FILTER_PARAMS];
export const STREAM_PARAMS: readonly string[] = ['since', ...FILTER_PARAMS];

/**
 * Refuses parameters not in `allowed`, and those of `once` given more than once. Unknown parameters are
 * refused rather than ignored: a misspelt filter (`minseverity=high`) would otherwise silently show everything.
 */
export function checkParams(params: URLSearchParams, allowed: readonly string[], once: readonly string[]): void {
  for (const key of new Set(params.keys())) {
    if (!allowed.includes(key)) throw new BadRequest(`unknown query parameter "${key}"; allowed: ${allowed.join(', ')}`);
    if (once.includes(key) && params.getAll(key).length > 1) throw new BadRequest(`${key}: give it at most once`);
  }
}

/** `limit`, capped at MAX_LIMIT; DEFAULT_LIMIT when absent. */
export function parseLimit(params: URLSearchParams): number {
  const limit = params.get('limit');
  if (limit === null) return DEFAULT_LIMIT;
  // Any number of digits: CONTRACT §2 caps limit at MAX_LIMIT rather than refusing it, and Number() of a
  // huge one is at worst Infinity, which the cap turns into MAX_LIMIT too.
  if (!/^\d+$/.test(limit) || Number(limit) < 1) throw new BadRequest(`limit: must be a whole number >= 1 (values above ${MAX_LIMIT} are capped)`);
  return Math.min(Number(limit), MAX_LIMIT);
}

/** `since` (null when absent) and `limit` of a paged list; throws BadRequest naming the parameter. */
function parseCursor(params: URLSearchParams): { since: number | null; limit: number } {
  const since = params.get('since');
  if (since !== null && !/^\d{1,15}$/.test(since)) throw new BadRequest('since: must be a whole number >= 0 (the last seq you received)');
  return { since: since === null ? null : Number(since), limit: parseLimit(params) };
}

/** Parses and validates the query (checkParams); throws BadRequest naming the parameter. */
export function parseAlertQuery(params: URLSearchParams, allowed: readonly string[]): AlertQuery {
  checkParams(params, allowed, ['since', 'limit', 'minSeverity']);
  const minSeverity = params.get('minSeverity');
  if (minSeverity !== null && !(SEVERITIES as readonly string[]).includes(minSeverity)) {
    throw new BadRequest(`minSeverity: must be one of ${SEVERITIES.join(', ')}`);
  }
  const detectors = valueSet(params, 'detector');
  for (const d of detectors ?? []) {
    // A misspelt detector would match nothing, and a subscription with it would look healthy and stay silent.
    if (!(ALERT_SOURCES as readonly string[]).includes(d)) throw new BadRequest(`detector: "${d}" is none of ${ALERT_SOURCES.join(', ')}`);
  }
  return {
    ...parseCursor(params),
    filter: { minSeverity: minSeverity as Severity | null, identities: valueSet(params, 'identity'), detectors },
  };
}

/**
 * Refuses a resume cursor this store never issued (`since` above the newest alert's seq, or the newest
 * revocation's position for `/v1/revocations`): it comes from another
 * or a restored database, or a typo. Taken as it stands it would mean "skip every alert up to it", and
 * the client would silently miss alerts raised meanwhile (CONTRACT §2: stored alerts after `since`,
 * then live ones, each exactly once). Seq only grows, so a cursor accepted here stays valid.
 */
export function checkCursor(since: number | null, newest: number, of: 'alerts' | 'revocations' = 'alerts'): void {
  if (since === null || since <= newest) return;
  const [newestIs, otherwise] =
    of === 'alerts'
      ? [`newest alert is seq ${newest}`, 'since=0 for every stored alert, or omit since for live alerts only']
      : [`newest revocation is at ${newest}`, 'or since=0 for every revocation'];
  throw new BadRequest(
    `since: ${since} is ahead of this store, whose ${newestIs} (a cursor from another or a restored database?); ` +
      `resume from at most ${newest}, ${otherwise}`,
  );
}

function valueSet(params: URLSearchParams, key: string): ReadonlySet<string> | null {
  const values = params.getAll(key);
  if (values.length === 0) return null;
  if (values.length > MAX_FILTER_VALUES) throw new BadRequest(`${key}: give at most ${MAX_FILTER_VALUES} values`);
  if (values.some((v) => v.length === 0)) throw new BadRequest(`${key}: must not be empty`);
  return new Set(values);
}

/** True when the filter has no condition (every alert passes). */
export function isOpenFilter(f: AlertFilter): boolean {
  return f.minSeverity === null && f.identities === null && f.detectors === null;
}

/** Severities at or above `min` (inclusive), for SQL; all of them when `min` is null. */
export function severitiesFrom(min: Severity | null): Severity[] {
  return min === null ? [...SEVERITIES] : SEVERITIES.slice(severityRank(min));
}

/** Whether an alert (or the alert an update is about) passes the filter. */
export function matchesAlert(f: AlertFilter, a: AlertFacts): boolean {
  if (f.identities && !f.identities.has(a.identity)) return false;
  if (f.detectors && !f.detectors.has(a.detector)) return false;
  if (f.minSeverity && severityRank(a.severity as Severity) < severityRank(f.minSeverity)) return false;
  return true;
}

/** Only `identity=` applies to revocation frames (CONTRACT §2). */
export function matchesRevocation(f: AlertFilter, revocation: unknown): boolean {
  if (!f.identities) return true;
  const identity = (revocation as { identity?: unknown } | null)?.identity;
  return typeof identity === 'string' && f.identities.has(identity);
}

/**
 * Where revocations come from (the revocation engine, CONTRACT §6). Declared here, not imported, so the
 * API does not depend on the revocation module: anything with these methods can be wired in.
 */
export interface RevocationSource {
  /** Calls `fn` with the websocket `revocation` object on every state change. */
  subscribe(fn: (revocation: unknown) => void): void;
  /** Every revocation with its current state. */
  list(): unknown[];
  /** Up to `limit` revocations created after cursor `since`, and the cursor to pass next. */
  page(since: number, limit: number, only: { status?: string; identity?: string }): { revocations: unknown[]; next: number };
  /** The cursor of the newest revocation (0 when there is none). */
  newest(): number;
  /** An operator's retry: the revocation's new state, why it cannot be retried, or undefined when unknown. */
  retry(id: string, by: string): { revocation: unknown } | { refused: string } | undefined;
}

/** Registers `GET /v1/alerts`, `GET /v1/alerts/{id}`, `GET /v1/revocations` and `POST /v1/revocations/{id}/retry`; `revocations()` is read per request (wired late). */
export function registerAlertRoutes(api: ApiServer, feed: AlertFeed, revocations: () => RevocationSource | null): void {
  api.route('GET /v1/alerts', (_req, res, url) => {
    const q = parseAlertQuery(url.searchParams, REST_PARAMS); // a BadRequest is answered 400 by the ApiServer
    checkCursor(q.since, feed.newest);
    const since = q.since ?? 0;
    const alerts = feed.read(since, q.limit, q.filter);
    // `next` is the last seq returned, so an empty page leaves the cursor where it was (CONTRACT §2).
    sendJson(res, 200, { alerts, next: alerts.length > 0 ? alerts[alerts.length - 1].seq : since });
  });

  // One alert by id (from a ticket or a webhook), as it stands now: its count, its revocation's status.
  // `GET /v1/alerts/stream` is the websocket's own route, matched first.
  api.routePattern('GET', /^\/v1\/alerts\/[^/]+$/, (_req, res, url) => {
    const id = pathSegment(url, 3, 'alert id');
    const alert = feed.get(id);
    if (!alert) return sendError(res, 'VIGIL_ERR_NOT_FOUND', `unknown alert ${id} (never raised, or deleted by alerts.retention)`);
    sendJson(res, 200, alert);
  });

  api.route('GET /v1/revocations', (_req, res, url) => {
    // Without parameters: every record (CONTRACT §2). Records are kept for audit, so after months there
    // may be 100k+; `since`/`limit` page them in creation order, as `/v1/alerts` pages alerts, so a
    // dashboard need not fetch (and the event loop serialise) them all at once.
    // `status` and `identity` pick out, say, the pending ones (credentials still valid) or one agent's.
    checkParams(url.searchParams, ['since', 'limit', 'status', 'identity'], ['since', 'limit']);
    const q = parseCursor(url.searchParams);
    const only = { status: single(url.searchParams, 'status', REVOCATION_STATUSES), identity: single(url.searchParams, 'identity') };
    const source = revocations();
    if (url.searchParams.size === 0) return sendJson(res, 200, { revocations: source?.list() ?? [] });
    checkCursor(q.since, source?.newest() ?? 0, 'revocations');
    const since = q.since ?? 0;
    sendJson(res, 200, source?.page(since, q.limit, only) ?? { revocations: [], next: since });
  });

  api.routePattern('POST', /^\/v1\/revocations\/[^/]+\/retry$/, (req, res, url) => {
    const id = pathSegment(url, 3, 'revocation id');
    const outcome = revocations()?.retry(id, clientAddress(req));
    if (outcome === undefined) return sendError(res, 'VIGIL_ERR_NOT_FOUND', `unknown revocation ${id}`);
    if ('refused' in outcome) return sendError(res, 'VIGIL_ERR_CONFLICT', outcome.refused);
    sendJson(res, 200, outcome);
  });
}

/** A parameter given at most once, non-empty, and one of `values` when given; undefined when absent. */
function single(params: URLSearchParams, key: string, values?: readonly string[]): string | undefined {
  const all = params.getAll(key);
  if (all.length === 0) return undefined;
  if (all.length > 1 || all[0] === '') throw new BadRequest(`${key}: give it once, not empty`);
  if (values && !values.includes(all[0])) throw new BadRequest(`${key}: must be one of ${values.join(', ')}`);
  return all[0];
}
