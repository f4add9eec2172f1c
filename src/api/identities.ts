/**
 * Identity routes: `GET /v1/identities` (every identity known, a page at a time),
 * `GET /v1/identities/{identity}` (what the baseline holds),
 * `POST /v1/identities/{identity}/allow` (an operator makes items normal — the only way besides alert-free
 * use and peer rollouts, so an attacker cannot teach the baseline) and
 * `POST /v1/identities/{identity}/reset` (an operator makes it forget what it learned). Identities are
 * URL-encoded: SPIFFE IDs contain slashes. Allows and their undoing (`…/disallow`, for an identity or a
 * peer group) are recorded and listed by `GET /v1/allows` (allow-log.ts).
 */
import { COUNT_ONLY, DIMENSIONS, type Dimension, type DimensionItem } from '../../baselines/keys.js';
import { MAX_IDENTITY_CHARS } from '../actions/bounds.js';
import { ACCESS_CLASSES, ACTION_KINDS } from '../actions/types.js';
import { AllowLog } from '../detect/allow-log.js';
import type { BaselineOperator } from '../detect/operator.js';
import type { Logger } from '../log.js';
import type { Db } from '../store/database.js';
import { checkParams, parseLimit } from './alerts.js';
import { BadRequest, readJson } from './json-body.js';
import { clientAddress, pathSegment, sendError, sendJson, type ApiServer } from './server.js';
import type { IdentityRecord } from '../store/identities.js';

const LIST_PARAMS = ['after', 'limit', 'peerGroup'];
const ALLOWABLE = new Set<string>(DIMENSIONS.filter((d) => !COUNT_ONLY.has(d)));
/** Longer than any item an action makes: names are bounded (actions/bounds.ts), a transition has two. */
const MAX_ITEM_CHARS = 2 * MAX_IDENTITY_CHARS + 64;

/** A row of the identity list, as selected: the record, its counts by kind still JSON. */
type IdentityRow = Omit<IdentityRecord, 'byKind'> & { byKind: string };

/** Items to disallow: as for an allow, but a bulk hour allowed is a peak learned, not an item to take back. */
function parseDisallow(body: unknown): DimensionItem[] {
  const items = parseAllow(body);
  if (items.some((i) => i.dimension === 'bulk')) throw new BadRequest('items: a bulk allow cannot be undone (it set the source\'s usual peak); reset the identity to forget it');
  return items;
}

/** Validates `{"items":[{"dimension","item"}]}` or a single `{"dimension","item"}`. */
export function parseAllow(body: unknown): DimensionItem[] {
  const o = body as { items?: unknown; dimension?: unknown; item?: unknown };
  const list = Array.isArray(o?.items) ? o.items : [o];
  if (list.length === 0 || list.length > 100) throw new BadRequest('items: give 1 to 100 items');
  return list.map((raw, i) => {
    const it = raw as { dimension?: unknown; item?: unknown };
    if (typeof it?.dimension !== 'string' || !ALLOWABLE.has(it.dimension)) {
      throw new BadRequest(`items[${i}].dimension: must be one of ${[...ALLOWABLE].join(', ')}`);
    }
    if (typeof it.item !== 'string' || it.item.length === 0) throw new BadRequest(`items[${i}].item: must be a non-empty string`);
    if (it.item.length > MAX_ITEM_CHARS) throw new BadRequest(`items[${i}].item: must be at most ${MAX_ITEM_CHARS} characters (it has ${it.item.length})`);
    const problem = ITEM_FORMATS[it.dimension]?.(it.item);
    // An item in the wrong form would be stored and never match anything: the operator would be told it
    // was allowed while the alert it was meant to quiet goes on (and goes on revoking).
    if (problem) throw new BadRequest(`items[${i}].item: ${problem}`);
    return { dimension: it.dimension as Dimension, item: it.item };
  });
}

const STEP = new RegExp(`^(${ACTION_KINDS.join('|')}):.+$`);

/** The items with a structure (baselines/keys.ts builds them): the problem with one, or null. */
const ITEM_FORMATS: Partial<Record<string, (item: string) => string | null>> = {
  access: (item) => {
    const bar = item.lastIndexOf('|');
    return bar > 0 && (ACCESS_CLASSES as readonly string[]).includes(item.slice(bar + 1))
      ? null
      : `an access item is SUBJECT|CLASS, the class one of ${ACCESS_CLASSES.join(', ')} (e.g. crm.delete_customer|delete)`;
  },
  // Tool and target names come verbatim from spans and may hold ' -> ' themselves: any split into two steps will do.
  transition: (item) => {
    const parts = item.split(' -> ');
    const twoSteps = parts.some((_, i) => i > 0 && STEP.test(parts.slice(0, i).join(' -> ')) && STEP.test(parts.slice(i).join(' -> ')));
    return twoSteps ? null : `a transition is KIND:TARGET -> KIND:TARGET, the kinds among ${ACTION_KINDS.join(', ')} (e.g. tool:crm.search -> tool:vault.read)`;
  },
  // The source is a target (it may hold ' => '); the destination is a host name, which cannot.
  flow: (item) => {
    const at = item.lastIndexOf(' => ');
    return at > 0 && at + 4 < item.length ? null : 'a flow is SOURCE => HOST (e.g. vault.read => paste.example.com)';
  },
};

const unseenWarning = (identity: string) => `never used by ${identity} or its peer group, nor named by its alerts; check the spelling`;
const noBulkWarning = (identity: string, source: string) =>
  `bulk ${source}: no hour of ${identity}'s reads of it that raised a bulk read is known (the source is spelled as in the alert's subject after "bulk:"), so nothing was allowed; allow it again after its next alert`;

/** Registers the identity routes; a BadRequest thrown in them is answered 400 by the ApiServer. */
export function registerIdentityRoutes(api: ApiServer, operator: BaselineOperator, db: Db, logger: Logger): void {
  const log = new AllowLog(db);
  const groupIdentities = db.prepare('SELECT identity FROM identities WHERE peer_group = ?').pluck();
  api.routePattern('POST', /^\/v1\/identities\/[^/]+\/allow$/, async (req, res, url) => {
    const identity = pathSegment(url, 3, 'identity');
    const items = parseAllow(await readJson(req));
    const unseen = operator.unseen(identity, items);
    if (unseen === null) return sendError(res, 'VIGIL_ERR_NOT_FOUND', `unknown identity ${identity}`);
    // Recorded first: a store that refuses writes refuses the allow before anything changed (review44 M4).
    log.record('allow', { identity }, items, clientAddress(req));
    operator.allow(identity, items);
    // Allowed all the same (an item may be allowed ahead of its first use), but said: a typo would be
    // stored, never match, and leave the alert it was meant to quiet going on.
    logger.info({ identity, items, by: clientAddress(req) }, 'operator allowed baseline items');
    if (unseen.length === 0) return sendJson(res, 200, { identity, allowed: items });
    const warning = unseen.map((i) => (i.dimension === 'bulk' ? noBulkWarning(identity, i.item) : `${i.dimension} ${i.item}: ${unseenWarning(identity)}`)).join('; ');
    logger.warn({ identity, unseen, by: clientAddress(req) }, 'operator allowed items never seen');
    sendJson(res, 200, { identity, allowed: items, unseen, warning });
  });

  // Every current member of a peer group at once: a change the whole fleet makes that is never a rollout.
  api.routePattern('POST', /^\/v1\/peer-groups\/[^/]+\/allow$/, async (req, res, url) => {
    const peerGroup = pathSegment(url, 3, 'peer group');
    const items = parseAllow(await readJson(req));
    if (!operator.knowsGroup(peerGroup)) return sendError(res, 'VIGIL_ERR_NOT_FOUND', `unknown peer group ${peerGroup}`);
    log.record('allow', { peerGroup }, items, clientAddress(req));
    const done = operator.allowGroup(peerGroup, items)!;
    logger.info({ peerGroup, members: done.members, items, by: clientAddress(req) }, 'operator allowed baseline items for a peer group');
    if (done.unseen.length === 0) return sendJson(res, 200, { peerGroup, members: done.members, allowed: items });
    const warning = done.unseen.map((i) => `${i.dimension} ${i.item}: never used by ${peerGroup}'s members, nor named by their alerts; check the spelling`).join('; ');
    logger.warn({ peerGroup, unseen: done.unseen, by: clientAddress(req) }, 'operator allowed items never seen');
    sendJson(res, 200, { peerGroup, members: done.members, allowed: items, unseen: done.unseen, warning });
  });

  // Undoing an allow (a wrong one, or one for an item no longer wanted): the items leave the baselines.
  api.routePattern('POST', /^\/v1\/identities\/[^/]+\/disallow$/, async (req, res, url) => {
    const identity = pathSegment(url, 3, 'identity');
    const items = parseDisallow(await readJson(req));
    if (!operator.knows(identity)) return sendError(res, 'VIGIL_ERR_NOT_FOUND', `unknown identity ${identity}`);
    log.record('disallow', { identity }, items, clientAddress(req));
    const held = operator.disallow(identity, items)!;
    logger.warn({ identity, items, by: clientAddress(req) }, 'operator disallowed baseline items: their next use is judged as new');
    sendJson(res, 200, { identity, disallowed: items, held });
  });

  api.routePattern('POST', /^\/v1\/peer-groups\/[^/]+\/disallow$/, async (req, res, url) => {
    const peerGroup = pathSegment(url, 3, 'peer group');
    const items = parseDisallow(await readJson(req));
    if (!operator.knowsGroup(peerGroup)) return sendError(res, 'VIGIL_ERR_NOT_FOUND', `unknown peer group ${peerGroup}`);
    log.record('disallow', { peerGroup }, items, clientAddress(req));
    // Its identities that went idle and left it too: the allow reached them when they were members.
    const former = groupIdentities.all(peerGroup) as string[];
    const done = operator.disallowGroup(peerGroup, items, former)!;
    logger.warn({ peerGroup, members: done.members, items, by: clientAddress(req) }, 'operator disallowed baseline items for a peer group: their next use is judged as new');
    sendJson(res, 200, { peerGroup, members: done.members, disallowed: items, held: done.held });
  });

  // The allows and disallows made, oldest first, a page at a time (`after` the last id given).
  api.route('GET /v1/allows', (_req, res, url) => {
    const p = url.searchParams;
    checkParams(p, ['after', 'limit', 'identity', 'peerGroup'], ['after', 'limit', 'identity', 'peerGroup']);
    const n = parseLimit(p);
    const after = Number(p.get('after') ?? 0);
    if (!Number.isSafeInteger(after) || after < 0) throw new BadRequest('after: must be the id of an entry, a whole number');
    const entries = log.list(after, n, { identity: p.get('identity'), peerGroup: p.get('peerGroup') });
    sendJson(res, 200, { allows: entries, next: entries.length === n ? entries[n - 1].id : null });
  });

  api.routePattern('POST', /^\/v1\/identities\/[^/]+\/reset$/, (req, res, url) => {
    const identity = pathSegment(url, 3, 'identity');
    if (!operator.reset(identity)) return sendError(res, 'VIGIL_ERR_NOT_FOUND', `unknown identity ${identity}`);
    logger.warn({ identity, by: clientAddress(req) }, 'operator reset the baseline: the identity learns again, judged against its peer group meanwhile');
    sendJson(res, 200, { identity, reset: true });
  });

  // Every identity Vigil knows, in identity order, `limit` at a time (keyset: `after` the last one given),
  // with its counts since it was first seen (never decayed, unlike its baseline's).
  const list = db.prepare(
    `SELECT identity, peer_group AS peerGroup, first_seen AS firstSeen, last_seen AS lastSeen, actions, failures, retries, by_kind AS byKind,
       baseline_since AS baselineSince, actions_before AS actionsBefore FROM identities
     WHERE identity > @after AND (@peerGroup IS NULL OR peer_group = @peerGroup) ORDER BY identity LIMIT @limit`,
  );
  api.route('GET /v1/identities', (_req, res, url) => {
    const p = url.searchParams;
    checkParams(p, LIST_PARAMS, LIST_PARAMS);
    const n = parseLimit(p);
    const rows = list.all({ after: p.get('after') ?? '', peerGroup: p.get('peerGroup'), limit: n }) as IdentityRow[];
    // With how each is judged now: in a fleet's first days most are still learning (judged by nothing).
    const identities = rows.map(({ byKind, actionsBefore, ...r }) => ({
      ...r,
      phase: operator.phase({ ...r, actionsBefore }),
      firstSeen: new Date(r.firstSeen).toISOString(),
      lastSeen: new Date(r.lastSeen).toISOString(),
      // When an operator's reset began its baseline (null: never reset).
      baselineSince: r.baselineSince === null ? null : new Date(r.baselineSince).toISOString(),
      actionsByKind: JSON.parse(byKind) as Record<string, number>,
    }));
    // `next` is the `after` of the following page; null once this page is the last.
    sendJson(res, 200, { identities, next: rows.length === n ? rows[n - 1].identity : null });
  });

  api.routePattern('GET', /^\/v1\/identities\/[^/]+$/, (_req, res, url) => {
    const identity = pathSegment(url, 3, 'identity');
    const shown = operator.describe(identity);
    if (!shown) return sendError(res, 'VIGIL_ERR_NOT_FOUND', `unknown identity ${identity}`);
    sendJson(res, 200, shown);
  });
}
