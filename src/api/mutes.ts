/**
 * Mute routes (alerts/mutes.ts): `POST /v1/identities/{identity}/mute` sets one, `GET /v1/mutes` lists them
 * (those in force, or `all=true` for the ended ones too, with what each swallowed), and
 * `POST /v1/mutes/{id}/end` ends one early.
 */
import { ALERT_SOURCES } from '../../detectors/types.js';
import { MAX_IDENTITY_CHARS } from '../actions/bounds.js';
import { MAX_ACTIVE_MUTES, MAX_MUTE_MS, type Mutes } from '../alerts/mutes.js';
import { duration, formatDuration, SEVERITIES } from '../config/fields.js';
import type { Severity } from '../config/schema.js';
import type { BaselineOperator } from '../detect/operator.js';
import type { Logger } from '../log.js';
import { checkParams, parseLimit } from './alerts.js';
import { BadRequest, readJson } from './json-body.js';
import { clientAddress, pathSegment, sendError, sendJson, type ApiServer } from './server.js';

const LIST_PARAMS = ['after', 'limit', 'identity', 'all'];
const MAX_REASON_CHARS = 500;
/** Longer than any subject a finding names (a transition names two steps). */
const MAX_SUBJECT_CHARS = 2 * MAX_IDENTITY_CHARS + 64;

interface MuteRequest {
  detector: string;
  subject: string | null;
  maxSeverity: Severity;
  forMs: number;
  reason: string;
}

/** A critical finding is swallowed only when the operator says so. */
const DEFAULT_MAX_SEVERITY: Severity = 'high';

/** Validates `{"detector", "subject"?, "maxSeverity"?, "for", "reason"}`. */
export function parseMute(body: unknown): MuteRequest {
  const o = (body ?? {}) as { detector?: unknown; subject?: unknown; maxSeverity?: unknown; for?: unknown; reason?: unknown };
  if (typeof o.detector !== 'string' || !(ALERT_SOURCES as readonly string[]).includes(o.detector)) {
    throw new BadRequest(`detector: must be one of ${ALERT_SOURCES.join(', ')}`);
  }
  if (o.subject !== undefined && o.subject !== null && (typeof o.subject !== 'string' || o.subject.length === 0 || o.subject.length > MAX_SUBJECT_CHARS)) {
    throw new BadRequest(`subject: must be an alert's evidence.subject (1 to ${MAX_SUBJECT_CHARS} characters), or left out to mute every subject`);
  }
  const maxSeverity = o.maxSeverity ?? DEFAULT_MAX_SEVERITY;
  if (!(SEVERITIES as readonly unknown[]).includes(maxSeverity)) {
    throw new BadRequest(`maxSeverity: must be one of ${SEVERITIES.join(', ')} (the most severe finding the mute swallows; ${DEFAULT_MAX_SEVERITY} if left out)`);
  }
  const forMs = duration.safeParse(o.for);
  if (!forMs.success || forMs.data <= 0 || forMs.data > MAX_MUTE_MS) {
    throw new BadRequest(`for: must be a duration such as 30m, 4h or 2d, at most ${formatDuration(MAX_MUTE_MS)} (longer is an allow, or a change of config)`);
  }
  // Required: the next analyst must be able to tell why the SOC was not told.
  if (typeof o.reason !== 'string' || o.reason.trim().length === 0 || o.reason.length > MAX_REASON_CHARS) {
    throw new BadRequest(`reason: say why (1 to ${MAX_REASON_CHARS} characters): it is kept with the mute for whoever reads the alerts next`);
  }
  return { detector: o.detector, subject: typeof o.subject === 'string' ? o.subject : null, maxSeverity: maxSeverity as Severity, forMs: forMs.data, reason: o.reason };
}

export function registerMuteRoutes(api: ApiServer, mutes: Mutes, operator: BaselineOperator, logger: Logger): void {
  api.routePattern('POST', /^\/v1\/identities\/[^/]+\/mute$/, async (req, res, url) => {
    const identity = pathSegment(url, 3, 'identity');
    const m = parseMute(await readJson(req));
    if (!operator.knows(identity)) return sendError(res, 'VIGIL_ERR_NOT_FOUND', `unknown identity ${identity}`);
    const mute = mutes.add({ identity, ...m, by: clientAddress(req) });
    if (mute === null) return sendError(res, 'VIGIL_ERR_CONFLICT', `${MAX_ACTIVE_MUTES} mutes are in force already; end some (POST /v1/mutes/{id}/end) first`);
    logger.warn({ mute }, 'operator muted findings: they raise no alert until the mute ends');
    sendJson(res, 201, { mute });
  });

  api.route('GET /v1/mutes', (_req, res, url) => {
    const p = url.searchParams;
    checkParams(p, LIST_PARAMS, LIST_PARAMS);
    const n = parseLimit(p);
    const after = Number(p.get('after') ?? 0);
    if (!Number.isSafeInteger(after) || after < 0) throw new BadRequest('after: must be the id of a mute, a whole number');
    const all = p.get('all');
    if (all !== null && all !== 'true' && all !== 'false') throw new BadRequest('all: must be true or false');
    const list = mutes.list(after, n, p.get('identity'), all === 'true');
    sendJson(res, 200, { mutes: list, next: list.length === n ? list[n - 1].id : null });
  });

  api.routePattern('POST', /^\/v1\/mutes\/[^/]+\/end$/, (req, res, url) => {
    const raw = pathSegment(url, 3, 'mute id');
    const id = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(id)) throw new BadRequest('the mute id in the path must be a whole number (GET /v1/mutes lists them)');
    const mute = mutes.end(id);
    if (mute === null) return sendError(res, 'VIGIL_ERR_NOT_FOUND', `unknown mute ${raw}`);
    logger.warn({ mute, by: clientAddress(req) }, 'operator ended a mute: its findings raise alerts again');
    sendJson(res, 200, { mute });
  });
}
