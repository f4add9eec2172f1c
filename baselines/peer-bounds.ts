/**
 * Who leaves when peer groups pass their bounds (`baselines.maxPeerMembers`, `maxPeerGroups`):
 * BaselineStore.removeOverflow works the list off a commit at a time.
 */
import type { PeerGroupBaseline } from './peer-group.js';

export interface PeerBounds {
  maxMembers: number;
  maxGroups: number;
}

/**
 * A member picked to leave for a bound, with the time of its latest action when picked; or (identity
 * null) a group picked with no member, to be dropped.
 */
export type Overflow = [group: PeerGroupBaseline, identity: string | null, seen: number];

/**
 * Over a bound, members leave until this share of it is left: the scan that picks them (a sort of every
 * member or group) then runs once per many joins, not at every one.
 */
const OVERFLOW_KEEP = 0.9;
const keep = (bound: number) => Math.max(1, Math.floor(bound * OVERFLOW_KEEP));
/** Ascending event time; NaN (and equal times) compare equal, so a bad time cannot break the sort. */
const byTime = (a: number, b: number) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Up to `n` members whose latest action is oldest, among the groups larger than a fair share of the
 * bound, to be taken from the end: a flood of identities in one group (a per-run id, forged spans)
 * is trimmed in that group, not by emptying quiet groups. Over the bound, some group is always larger.
 */
function leastRecentMembers(groups: Map<string, PeerGroupBaseline>, maxMembers: number, n: number): Overflow[] {
  const share = maxMembers / groups.size;
  const all: Overflow[] = [];
  for (const g of groups.values()) {
    if (g.members.size > share) for (const [identity, seen] of g.members) all.push([g, identity, seen]);
  }
  return all.sort((a, b) => byTime(a[2], b[2])).slice(0, n).reverse();
}

/**
 * The members of `n` groups, to be taken from the end (an empty group as itself): the smallest first,
 * and among those the least recently active. A flood of groups (a `service.name` per pod or forged)
 * is of one-member groups, so fleets' groups are the last to go.
 */
function leastRecentGroups(groups: Map<string, PeerGroupBaseline>, n: number): Overflow[] {
  const picked = [...groups.values()]
    .sort((a, b) => a.members.size - b.members.size || byTime(a.history.lastSeen, b.history.lastSeen))
    .slice(0, n);
  const out: Overflow[] = [];
  for (const g of picked) {
    if (g.members.size === 0) out.push([g, null, Number.NaN]);
    for (const [identity, seen] of g.members) out.push([g, identity, seen]);
  }
  return out.reverse();
}

/**
 * What must leave now, least recently active last (taken from the end): members over `maxMembers`
 * first, else groups over `maxGroups`; empty when within both.
 */
export function pickOverflow(groups: Map<string, PeerGroupBaseline>, members: number, bounds: PeerBounds): Overflow[] {
  if (members > bounds.maxMembers) return leastRecentMembers(groups, bounds.maxMembers, members - keep(bounds.maxMembers));
  if (groups.size > bounds.maxGroups) return leastRecentGroups(groups, groups.size - keep(bounds.maxGroups));
  return [];
}
