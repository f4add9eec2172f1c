/**
 * scope_drift: the identity uses a tool, target, host, zone, delegated agent or scope outside its baseline
 * (or, while new, outside its peer group's). The subject is the most significant new item. Or it reads a
 * sensitive source far more in an hour than it ever did (`bulk:` and the source).
 *
 * Benign look-alikes it must stay quiet on: rare-but-seen items (any count in the baseline is "seen"),
 * items its peers use (low severity at most), and a rollout — most of the peer group adopting the same
 * new item at once — which is why a new, non-sensitive tool or target is held for `rolloutGrace` before
 * it is raised, and dropped if peers adopt it meanwhile.
 */
import type { Severity } from '../src/config/schema.js';
import { keyedItem, peakKey, type Dimension, type DimensionItem } from '../baselines/keys.js';
import type { ActionKind } from '../src/actions/types.js';
import { ALL_SOURCES, type ReadCount } from '../src/detect/read-volume.js';
import { code, countedNote, others, span, surpriseScore, times } from './severity.js';
import { knownToPeers, peersHaveLearned, peersSentence } from './peers.js';
import type { Detector, DetectorInput, Finding, ScopeItem } from './types.js';

/** Most significant first: the first new item found in this order becomes the subject. */
const ORDER: Dimension[] = ['zone', 'scope', 'host', 'agent', 'tool', 'target'];
const BASE_SEVERITY: Record<string, Severity> = { zone: 'high', scope: 'high', host: 'medium', agent: 'medium', tool: 'medium', target: 'medium' };
/** New items of these dimensions may be a rollout in progress; new zones and scopes never wait. */
const HOLDABLE = new Set<string>(['host', 'agent', 'tool', 'target']);

/**
 * A model call's items when it names no host: none (shared; `readonly`, never changed). Not frozen: loops over an action's
 * items run in V8's fast path only while every array they see has an ordinary elements kind; a frozen
 * one sends them to the generic iterator, which allocates at every step.
 */
const NO_ITEMS: readonly ScopeItem[] = [];

/** The dimension counting an action's uses of what it calls (a model call's are its provider's host and zone). */
export function subjectDimension(kind: Exclude<ActionKind, 'model'>): Dimension {
  return kind === 'tool' ? 'tool' : kind === 'delegation' ? 'agent' : 'target';
}

/**
 * The items an action uses, with their keys, as scope_drift and learning both see them. A model call
 * (never a write, egress or sensitive flow) still has a destination: chat traffic moved to a new host (a
 * changed OPENAI_BASE_URL siphoning prompts and the secrets in them) is a new host like any other.
 */
export function scopeItems(input: DetectorInput['action']): readonly ScopeItem[] {
  if (input.kind === 'model') {
    if (!input.host) return NO_ITEMS;
    return input.zone ? [keyedItem('host', input.host), keyedItem('zone', input.zone)] : [keyedItem('host', input.host)];
  }
  const items: ScopeItem[] = [keyedItem(subjectDimension(input.kind), input.target)];
  if (input.host) items.push(keyedItem('host', input.host));
  if (input.zone) items.push(keyedItem('zone', input.zone));
  // By index: the action builder freezes scope lists, and for-of over a frozen array takes V8's
  // generic, allocating iterator path.
  for (let i = 0; i < input.scopes.length; i++) items.push(keyedItem('scope', input.scopes[i]));
  return items;
}

export const scopeDrift: Detector = {
  id: 'scope_drift',
  evaluate(input: DetectorInput): Finding | null {
    return newItems(input) ?? bulkRead(input);
  },
};

/**
 * A sensitive source read in bulk: this hour's reads at least BULK_FACTOR times its busiest learned hour
 * (decayed), and at least BULK_MIN. The busiest hour is the identity's own; for a new member (its hours
 * were never judged), or a source it has no peak for yet, its peer group's: the largest of its mature
 * members' (review33 M2). Bursts of a few times the usual rate stay under it (CONTRACT §4).
 */
export const BULK_FACTOR = 10;
export const BULK_MIN = 100;

function bulkRead({ action, view, readVolume, now }: DetectorInput): Finding | null {
  for (const counted of readVolume) {
    const own = view.phase === 'own' ? view.own(peakKey(counted.source)) : 0;
    const peak = own > 0 ? own : view.peerReadPeak(counted.source);
    if (peak > 0 && counted.count >= Math.max(BULK_MIN, BULK_FACTOR * peak)) return bulkFinding(action, counted, peak, own > 0, now);
  }
  return null;
}

function bulkFinding(action: DetectorInput['action'], { source, count, since }: ReadCount, peak: number, ownPeak: boolean, now: number): Finding {
  const usual = Math.round(peak * 10) / 10;
  const all = source === ALL_SOURCES;
  const what = all ? 'sensitive data' : `sensitive ${code(source)}`;
  return {
    detector: 'scope_drift',
    severity: 'medium',
    surprise: Math.min(0.99, 1 - (BULK_FACTOR * peak) / count),
    subject: `bulk:${source}`,
    title: all ? 'Bulk read of sensitive data, across sources' : `Bulk read of sensitive ${source}`,
    explanation:
      `${action.identity} read ${what} ${count.toLocaleString('en-US')} times since ${new Date(since).toISOString().slice(11, 16)} UTC (${span(now - since)})${all ? ', all its sensitive sources together' : ''}. ` +
      `${ownPeak ? 'Its' : `Its peer group's (its mature members')`} busiest hour of such reads was ${usual} (decayed); ${BULK_FACTOR} times that, and at least ${BULK_MIN}, is a bulk read. ` +
      `If this is a known job (a nightly export), allowing ${code(`bulk ${source}`)} makes this hour's reads its usual peak.`,
    traceIds: [action.traceId],
    spanIds: [action.spanId],
    details: { rule: 'bulk_read', source, count, since: new Date(since).toISOString(), usualPeak: usual, peakOf: ownPeak ? 'identity' : 'peerGroup', allow: [{ dimension: 'bulk', item: source }] },
    tags: ['OWASP-ASI03', 'OWASP-NHI5', 'MAESTRO-L2'],
  };
}

/** The action's host is one the identity (or, while new, its peers) already uses. */
function hostKnown(scope: readonly ScopeItem[], view: DetectorInput['view']): boolean {
  const host = scope.find((i) => i.dim === 'host');
  return host !== undefined && (view.own(host.key) > 0 || (view.phase === 'peer' && knownToPeers(view, host.key)));
}

/** The identity uses items its baseline does not hold. */
function newItems({ action, scope, now, view, config }: DetectorInput): Finding | null {
  const settings = config.detectors.scope_drift;
  let fresh: Array<{ dim: Dimension; item: string; key: string; peers: number; peersKnow: boolean }> | null = null;
  for (const { dim, item, key: k } of scope) {
    if (view.own(k) > 0) continue;
    const peersKnow = knownToPeers(view, k);
    if (view.phase === 'peer' && peersKnow) continue; // a new instance doing what a peer does
    // A zone is the config's name for a host: a host it knows, in a zone it does not, is a zones change
    // (zones added after it learned), not its behaviour, and is learned (review41 H5: every identity's
    // usual traffic raised "New zone" high, and revoked in enforce mode).
    if (dim === 'zone' && hostKnown(scope, view)) continue;
    (fresh ??= []).push({ dim, item, key: k, peers: view.peers(k), peersKnow });
  }
  if (fresh === null) return null;
  fresh.sort((a, b) => ORDER.indexOf(a.dim) - ORDER.indexOf(b.dim));
  const subject = fresh[0];
  const subjectKey = subject.key;

  // A rollout already under way explains it: enough peers adopted this item recently. It is learned,
  // and raised only as raisedDespiteRollout says. New zones, scopes and sensitive items are raised
  // however many peers start at once (the same injected prompt reaching each instance looks just the same).
  const adopters = view.adopters(subjectKey, now - settings.rolloutWindow, now);
  const rollout = HOLDABLE.has(subject.dim) && !action.sensitive && adopters >= rolloutThreshold(settings.rolloutShare, view.rolloutPopulation);
  if (rollout && !raisedDespiteRollout(subject.dim)) return null;

  const sensitiveZone = subject.dim === 'zone' && config.sensitive.zones.includes(subject.item);
  let severity: Severity = sensitiveZone ? 'critical' : BASE_SEVERITY[subject.dim];
  if (action.sensitive && severity === 'medium') severity = 'high';
  const peerKnown = subject.peersKnow;
  if ((peerKnown && !sensitiveZone && !action.sensitive) || rollout) severity = 'low';

  const dims = fresh.map((f) => `${f.dim} ${code(f.item)}`).join(', ');
  // "For the first time" only when it is: a use that raised an alert is not learned, nor is one still
  // held, and a rare one fades, so the baseline alone said "first time" of the sixth use (review27 H3, M2).
  const first = view.firstTried(subjectKey);
  const triedBefore = first !== undefined && first < action.time;
  const opening = triedBefore
    ? `${action.identity} used ${dims}, which its baseline does not hold: it first used ${code(subject.item)} ${span(now - first)} ago, and a use that raised an alert is not learned (a rare one fades, too).`
    : `${action.identity} used ${dims} for the first time.`;
  // A known agent or MCP tool served from a new host (review31 F2): the name is usual, where it runs is not.
  const remote = (action.kind === 'tool' || action.kind === 'delegation') && action.host !== null && !fresh.some((f) => f.dim === 'tool' || f.dim === 'agent');
  const via = remote ? ` The ${action.kind === 'tool' ? 'tool' : 'agent'} ${code(action.target)} it called there is not new.` : '';
  const before = `${(view.actions - 1).toLocaleString('en-US')} actions`; // the baseline has counted this one
  // What is normal, in the terms an analyst knows the identity by: its tools, else its targets.
  let top = view.top('tool', 2);
  let noun = 'tools';
  if (top.length === 0) [top, noun] = [view.top('target', 2), 'targets'];
  const usual = top.length
    ? `its most used ${noun} are ${top.map(([i, c]) => `${code(i)} (${times(c)})`).join(', ')}, ${countedNote(config.baselines.halfLife)}`
    : '';
  const history = `In ${span(now - view.firstSeen)} and ${before}`;
  const basis = view.phase === 'peer' ? ` It is new, and ${newcomerPeers(view.peerGroupSize - 1, action.peerGroup)}.`
    : !triedBefore ? ` ${history} it never used this${usual && `; ${usual}`}.`
    : usual ? ` ${history}, ${usual}.`
    : '';
  const peerNote = rollout
    ? ` ${adopters} other identities of its peer group started using it within ${span(settings.rolloutWindow)} (a rollout); it is learned as normal.`
    : view.phase === 'own' ? (peerKnown ? ` ${peersHaveLearned(view, subjectKey)} it.` : ` ${peersSentence(view, subjectKey)}`) : '';
  const holdable = HOLDABLE.has(subject.dim) && severity !== 'low' && !action.sensitive;
  return {
    detector: 'scope_drift',
    severity,
    surprise: peerKnown ? 0.3 : surpriseScore(view.evidence),
    subject: `${subject.dim}:${subject.item}`,
    title: `New ${subject.dim} ${subject.item}`,
    explanation: `${opening}${via}${basis}${peerNote}`,
    traceIds: [action.traceId],
    spanIds: [action.spanId],
    details: { newItems: fresh.map((f) => ({ dimension: f.dim, item: f.item, peersUsing: f.peers })), phase: view.phase },
    tags: ['OWASP-ASI03', 'OWASP-NHI5', 'MAESTRO-L3'],
    ...(holdable ? { holdUntil: now + settings.rolloutGrace, rolloutKey: subjectKey } : {}),
    // Reported once, at low, then normal: the group's item (known to a quorum of peers) or a rollout's.
    // Left unlearned, it came back after every suppression window, "for the first time" each time.
    ...(rollout || severity === 'low' ? { learn: true as const } : {}),
  };
}

/** "none of the 4 other identities of its peer group `support` have learned it", as a newcomer's basis. */
function newcomerPeers(othersInGroup: number, peerGroup: string): string {
  const group = `its peer group${peerGroup ? ` ${code(peerGroup)}` : ''}`;
  if (othersInGroup === 0) return `alone in ${group}`;
  return othersInGroup === 1 ? `${others(1, 'identity')} of ${group} has not learned it` : `none of ${others(othersInGroup, 'identity', 'identities')} of ${group} have learned it`;
}

/** Peers (other than the identity) whose adoption of an item within the rollout window makes it a rollout. */
export function rolloutThreshold(rolloutShare: number, groupSize: number): number {
  return Math.max(2, Math.ceil(rolloutShare * (groupSize - 1)));
}

/** Enough peers adopted `key` within the rollout window to make this identity's first use part of a rollout. */
export function rolloutUnderWay({ view, now, config }: DetectorInput, key: string): boolean {
  const settings = config.detectors.scope_drift;
  return view.adopters(key, now - settings.rolloutWindow, now) >= rolloutThreshold(settings.rolloutShare, view.rolloutPopulation);
}

/** A finding held `rolloutGrace` for the peers to show a rollout (held.ts decides it), on `key`'s adopters. */
export function holdForRollout({ now, config }: DetectorInput, key: string): Pick<Finding, 'holdUntil' | 'rolloutKey'> {
  return { holdUntil: now + config.detectors.scope_drift.rolloutGrace, rolloutKey: key };
}

/**
 * A new host is learned as a rollout too, but raised all the same, at low: the same prompt injection
 * reaching several instances at once looks just like a rollout, and each instance it reached should be on
 * record, whether the host is external or an internal admin API (review34 E5).
 */
export function raisedDespiteRollout(dimension: string): boolean {
  return dimension === 'host';
}

/** How significant a scope_drift subject (`dimension:item`) is: lower is more (ORDER). */
export function subjectSignificance(subject: string): number {
  const i = ORDER.indexOf(subject.slice(0, subject.indexOf(':')) as Dimension);
  return i < 0 ? ORDER.length : i;
}

/**
 * A held finding without the items an operator has allowed since (review21 H2): the same scope_drift finding
 * when none of its items was allowed, null when all were, else a finding about what is left, its subject
 * (and the rollout it waits for) the most significant item left.
 */
export function withoutAllowed(f: Finding, allowedKeys: ReadonlySet<string>): Finding | null {
  // Another detector's held finding (a write, a chain) names one item: allowed, it is over.
  if (f.detector !== 'scope_drift') return ((f.details.allow ?? []) as DimensionItem[]).some((i) => allowedKeys.has(keyedItem(i.dimension, i.item).key)) ? null : f;
  const items = (f.details.newItems ?? []) as DimensionItem[];
  const left = items.filter((i) => !allowedKeys.has(keyedItem(i.dimension, i.item).key));
  if (left.length === items.length) return f;
  if (left.length === 0) return null;
  const subject = left[0]; // newItems are in ORDER
  const allowed = items.filter((i) => !left.includes(i)).map((i) => `${i.dimension} ${code(i.item)}`).join(', ');
  return {
    ...f,
    subject: `${subject.dimension}:${subject.item}`,
    title: `New ${subject.dimension} ${subject.item}`,
    explanation: `${f.explanation} An operator has allowed ${allowed} since; the rest is still new.`,
    details: { ...f.details, newItems: left },
    ...(f.rolloutKey !== undefined ? { rolloutKey: keyedItem(subject.dimension, subject.item).key } : {}),
  };
}