/**
 * A peer group's baseline: which identities of the group use each item, and when identities first tried
 * it. A new identity is judged against this until it has its own history; a change most of the group
 * adopts at once (a rollout) is told apart from one identity drifting.
 *
 * Membership follows activity. Agents are often short-lived instances, each its own identity: a member
 * idle for `baselines.peerIdleAfter` leaves (`leave`), so the group's size, the users of its items and the
 * memory it holds are those of the fleet that runs now, not of every instance it ever had. Otherwise a
 * rollout would need 30% of all past instances, and a tool used once by a long-gone instance would stay
 * "used by peers" for good. A member that comes back rejoins with what its baseline still holds.
 *
 * The group has its own history too (first and last action, action count): a fleet whose instances live
 * hours never has a member old enough to be judged against itself, yet its group has shown days of
 * normal behaviour, and that is enough to judge a new instance by (CONTRACT §4: "an identity (or its
 * peer group)"). The history is that of the members present: when the last one leaves, it starts over,
 * so a group that knows nothing any more (its items leave with their users) does not judge the next
 * member — who would otherwise find everything it does new, and have none of it learned.
 *
 * A group can hold thousands of members and items of up to MAX_ADOPTERS adopters each, but after a
 * fleet's first days they rarely change while the outcome rates change with every action. So it records
 * what changed since the last checkpoint (`changedMembers`, `changedItems`) and the store writes those
 * rows alone: rewriting a whole group per checkpoint cost 12% of the daemon's CPU under load.
 */

import { bumpOutcome, takeBack, type Outcome } from './decay.js';
import { firstSeenAfter } from './identity.js';
import { PeerReadPeaks } from './peer-peaks.js';

/** Identities remembered per item for rollout detection; enough to tell "most of a group" at fleet sizes. */
const MAX_ADOPTERS = 256;
const HOUR_MS = 3_600_000;
/** A gap between a group's actions this long is a pause of the whole group (a holiday, a monthly job). */
const PAUSE_MIN_MS = 24 * HOUR_MS;
/** Pauses remembered per group: the latest ones. */
const MAX_PAUSES = 16;

interface PeerItem {
  /** Current members that learned the item (hold a counter for it). */
  users: number;
  /** identity -> event time of its first attempt (learned or alerted), most recent MAX_ADOPTERS. */
  adopters: Map<string, number>;
  /**
   * The same times, ascending (NaN left out: it is in no range), so adoptersBetween counts a range by
   * binary search instead of scanning up to MAX_ADOPTERS adopters at every new item judged.
   */
  times: number[];
  /**
   * The latest time an adopter tried it again (not persisted): an item nobody learned (it raises each
   * time, a weekly job) stays while it is tried, so its first use is still known (review34 L1).
   */
  lastTried: number;
}

export class PeerGroupBaseline {
  /** Decayed actions learned across the group, and failures + retries among them: a new member's usual. */
  readonly outcome: Outcome = { actions: { c: 0, t: 0, f: 0 }, bad: { c: 0, t: 0, f: 0 } };
  /** Its mature members' busiest hours of sensitive reads per source: a new member's usual (stored with the outcome). */
  readonly readPeaks = new PeerReadPeaks();
  /** Event time of the group's first and latest action, and how many actions its members had (raw). */
  history = { firstSeen: Number.POSITIVE_INFINITY, lastSeen: Number.NEGATIVE_INFINITY, actions: 0 };
  /**
   * The group's latest pauses, [from, to] in event time, oldest first: no member acted between. Members'
   * idleness is counted in the group's active time (`activeSince`), so a fleet paused longer than
   * `peerIdleAfter` (a holiday, a monthly job) comes back to the members it had and what they learned, not
   * to a group emptied by its own first action after the pause (review40 H1). A pause longer than
   * `forgetIdleAfter` still ends the group: retention forgets its members.
   */
  pauses: Array<[number, number]> = [];
  /** Current members -> event time of their latest action. */
  readonly members = new Map<string, number>();
  readonly mature = new Set<string>();
  readonly items = new Map<string, PeerItem>();
  /** The outcome rates or the history changed since the last checkpoint. */
  outcomeDirty = false;
  /** Members that joined, matured or moved to a later hour of activity since the last checkpoint. */
  readonly changedMembers = new Set<string>();
  /** Members that left since the last checkpoint (their rows are deleted). */
  readonly departed = new Set<string>();
  /** Items whose users or adopters changed since the last checkpoint. */
  readonly changedItems = new Set<string>();
  /** Items forgotten since the last checkpoint (their rows are deleted). */
  readonly droppedItems = new Set<string>();

  constructor(readonly name: string) {}

  /**
   * Notes an action of `identity` at `time`: it is a member, active now. True when it was not a member
   * (new, or back after leaving): the caller then counts what its baseline holds (`rejoin`).
   */
  join(identity: string, time: number, firstSeenBackMs?: number): boolean {
    const h = this.history;
    h.actions++;
    h.firstSeen = firstSeenAfter(h.firstSeen, time, firstSeenBackMs);
    if (time > h.lastSeen) {
      if (time - h.lastSeen >= PAUSE_MIN_MS && h.lastSeen > Number.NEGATIVE_INFINITY) {
        this.pauses.push([h.lastSeen, time]);
        if (this.pauses.length > MAX_PAUSES) this.pauses.shift();
      }
      h.lastSeen = time;
    }
    this.outcomeDirty = true;
    const seen = this.members.get(identity);
    if (seen !== undefined && !(time > seen)) return false;
    this.members.set(identity, time);
    // Stored to the hour: a busy member is not rewritten at every checkpoint.
    if (seen === undefined || Math.floor(time / HOUR_MS) !== Math.floor(seen / HOUR_MS)) this.changedMembers.add(identity);
    if (seen !== undefined) return false;
    this.departed.delete(identity);
    return true;
  }

  /** A returning member's items count as used by it again (they stopped counting when it left). */
  rejoin(learnedKeys: Iterable<string>): void {
    for (const k of learnedKeys) {
      this.item(k).users++;
      this.changedItems.add(k);
    }
  }

  /**
   * `identity` leaves the group: it no longer counts in its size, its maturity, or the users of its items.
   * False when it was not a member.
   */
  leave(identity: string, learnedKeys: Iterable<string>): boolean {
    if (!this.members.delete(identity)) return false;
    this.mature.delete(identity);
    this.changedMembers.delete(identity);
    this.departed.add(identity);
    this.forgotten(learnedKeys);
    if (this.members.size === 0) {
      this.history = { firstSeen: Number.POSITIVE_INFINITY, lastSeen: Number.NEGATIVE_INFINITY, actions: 0 };
      this.pauses = [];
      this.outcomeDirty = true;
    }
    return true;
  }

  /** A member no longer holds these items (it left, or forgot them): one user fewer each. */
  forgotten(keys: Iterable<string>): void {
    for (const k of keys) {
      const it = this.items.get(k);
      if (it === undefined || it.users === 0) continue;
      it.users--;
      this.changedItems.add(k);
    }
  }

  /**
   * `time` moved on by the group's pauses since it: before `cutoff` only when the group has been active
   * that long since (a whole-group pause does not age its members).
   */
  private activeSince(time: number): number {
    let paused = 0;
    for (const [from, to] of this.pauses) if (to > time) paused += to - Math.max(from, time);
    return time + paused;
  }

  /**
   * Forgets items no member uses and no identity first tried since `cutoff`: they tell nothing about
   * peers or rollouts any more, and would otherwise accumulate for good.
   */
  dropUnusedItems(cutoff: number): void {
    for (const [k, it] of this.items) {
      const newest = it.times.length > 0 ? it.times[it.times.length - 1] : Number.NEGATIVE_INFINITY;
      if (it.users > 0 || newest >= cutoff || it.lastTried >= cutoff) continue;
      this.items.delete(k);
      this.changedItems.delete(k);
      this.droppedItems.add(k);
    }
  }

  /** Members whose latest action is before `cutoff` in the group's active time, at most `limit` of them. */
  idleMembers(cutoff: number, limit: number): string[] {
    const idle: string[] = [];
    for (const [identity, seen] of this.members) {
      if (this.activeSince(seen) < cutoff) idle.push(identity);
      if (idle.length >= limit) break;
    }
    return idle;
  }

  markMature(identity: string): void {
    if (!this.mature.has(identity)) {
      this.mature.add(identity);
      this.changedMembers.add(identity);
    }
  }

  /**
   * True once the group has a baseline worth judging `identity` (not mature itself) by: another member
   * is judged against itself, or the group has shown as much history as a member needs for that (a
   * fleet of short-lived instances, none of which lives that long) and another member is present. Alone,
   * an identity has no peers to be compared with: it learns.
   */
  hasBaseline(s: { minActions: number; minAgeMs: number }, identity: string): boolean {
    const others = this.members.size - (this.members.has(identity) ? 1 : 0);
    if (others === 0) return false;
    const h = this.history;
    return this.mature.size > (this.mature.has(identity) ? 1 : 0) || (h.actions >= s.minActions && h.lastSeen - h.firstSeen >= s.minAgeMs);
  }

  get dirty(): boolean {
    return this.outcomeDirty || this.changedMembers.size > 0 || this.changedItems.size > 0 || this.departed.size > 0 || this.droppedItems.size > 0;
  }

  private item(k: string): PeerItem {
    let it = this.items.get(k);
    if (!it) {
      this.items.set(k, (it = { users: 0, adopters: new Map(), times: [], lastTried: Number.NEGATIVE_INFINITY }));
      this.droppedItems.delete(k);
    }
    return it;
  }

  /** An identity learned `k` for the first time. */
  learned(identity: string, k: string, time: number): void {
    const it = this.item(k);
    it.users++;
    this.changedItems.add(k);
    this.attempted(identity, k, time, it);
  }

  /**
   * An operator took `keys` back from `identity` (a disallow): it no longer counts among their users, if
   * it is a member, nor among their adopters, which would otherwise read as a rollout under way and teach
   * the next member's use of them (review44 H1).
   */
  disowned(identity: string, keys: readonly string[]): void {
    if (this.members.has(identity)) this.forgotten(keys);
    for (const k of keys) {
      const it = this.items.get(k);
      const t = it?.adopters.get(identity);
      if (it === undefined || t === undefined) continue;
      it.adopters.delete(identity);
      removeTime(it.times, t);
      this.changedItems.add(k);
    }
  }

  /** An identity used `k` for the first time (whether or not it was learned): rollout evidence. */
  attempted(identity: string, k: string, time: number, it = this.item(k)): void {
    if (it.adopters.has(identity)) {
      if (time > it.lastTried) it.lastTried = time;
      return;
    }
    if (it.adopters.size >= MAX_ADOPTERS) {
      const [oldest, t] = it.adopters.entries().next().value!;
      it.adopters.delete(oldest);
      removeTime(it.times, t);
    }
    it.adopters.set(identity, time);
    insertTime(it.times, time);
    this.changedItems.add(k);
  }

  /** When `identity` first tried `k` (learned or not), while the item keeps it among its adopters. */
  firstTried(k: string, identity: string): number | undefined {
    return this.items.get(k)?.adopters.get(identity);
  }

  /** Identities of the group that learned `k`. */
  users(k: string): number {
    return this.items.get(k)?.users ?? 0;
  }

  /**
   * Mature members other than `identity` among the item's adopters whose first use falls in [from, to]:
   * adopters that first learned it (tried it, for scope items, which record attempts too) and are judged
   * against themselves now. Walks up to MAX_ADOPTERS adopters: only for items new to a mature member.
   */
  matureAdopters(k: string, identity: string, from = Number.NEGATIVE_INFINITY, to = Number.POSITIVE_INFINITY): number {
    const it = this.items.get(k);
    if (!it || this.mature.size === 0) return 0;
    let n = 0;
    for (const [a, t] of it.adopters) if (t >= from && t <= to && a !== identity && this.mature.has(a)) n++;
    return n;
  }

  /**
   * The adopters in [from, to] that count towards a rollout of `identity`'s new item `k`. For a mature
   * member (`established`), the mature ones alone: newcomers adopting an item must not make a rollout of
   * an established member's use of it (review19 F15). rolloutPopulation: the members their share is of.
   */
  rolloutAdopters(k: string, from: number, to: number, identity: string, established: boolean): number {
    return established ? this.matureAdopters(k, identity, from, to) : this.adoptersBetween(k, from, to, identity);
  }

  rolloutPopulation(established: boolean): number {
    return established ? this.mature.size : this.members.size;
  }

  /** Distinct identities other than `identity` whose first use of `k` falls in [from, to]. */
  adoptersBetween(k: string, from: number, to: number, identity: string): number {
    const it = this.items.get(k);
    if (!it || !(from <= to)) return 0;
    let n = bisect(it.times, to, false) - bisect(it.times, from, true);
    const own = it.adopters.get(identity);
    if (own !== undefined && own >= from && own <= to) n--;
    return n;
  }

  learnOutcome(time: number, bad: boolean, halfLifeMs: number): void {
    bumpOutcome(this.outcome, time, bad, halfLifeMs);
    this.outcomeDirty = true;
  }

  /** A mature member's peak of sensitive reads of `source` is now `peak`. */
  learnReadPeak(source: string, peak: number, time: number, halfLifeMs: number): void {
    this.readPeaks.learn(source, peak, time, halfLifeMs);
    this.outcomeDirty = true;
  }

  /** Takes back failures + retries a member learned shortly before `time` (a storm's, once raised). */
  takeBackFailures(time: number, n: number, halfLifeMs: number): void {
    takeBack(this.outcome.bad, time, n, halfLifeMs);
    this.outcomeDirty = true;
  }

  /** Forgets what changed: the store calls it once the changes are written. */
  markClean(): void {
    this.outcomeDirty = false;
    this.changedMembers.clear();
    this.changedItems.clear();
    this.departed.clear();
    this.droppedItems.clear();
  }

  /** An item as stored: its users and adopters (identity, first attempt) oldest first. */
  itemRow(k: string): { users: number; adopters: Array<[string, number]> } {
    const it = this.items.get(k);
    return { users: it?.users ?? 0, adopters: it ? [...it.adopters] : [] };
  }

  /** Restores an item read back from the store. */
  restoreItem(k: string, users: number, adopters: Array<[string, number]>): void {
    const it: PeerItem = { users, adopters: new Map(adopters), times: [], lastTried: Number.NEGATIVE_INFINITY };
    for (const t of it.adopters.values()) insertTime(it.times, t);
    this.items.set(k, it);
  }

  /** Sets every item's users to `users` (0 where absent): a recount from the members' baselines. */
  recount(users: ReadonlyMap<string, number>): void {
    for (const [k, it] of this.items) {
      const n = users.get(k) ?? 0;
      if (it.users === n) continue;
      it.users = n;
      this.changedItems.add(k);
    }
    for (const [k, n] of users) {
      if (this.items.has(k)) continue;
      this.item(k).users = n;
      this.changedItems.add(k);
    }
  }

  /** Restores a member read back from the store. */
  restoreMember(identity: string, mature: boolean, lastSeen: number): void {
    this.members.set(identity, lastSeen);
    if (mature) this.mature.add(identity);
  }
}

/** Index in ascending `times` of the first time at `t` or later (`inclusive`) or after it; its length when there is none. */
function bisect(times: readonly number[], t: number, inclusive: boolean): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid] < t || (!inclusive && times[mid] === t)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function insertTime(times: number[], t: number): void {
  if (Number.isNaN(t)) return;
  times.splice(bisect(times, t, false), 0, t);
}

function removeTime(times: number[], t: number): void {
  if (Number.isNaN(t)) return;
  times.splice(bisect(times, t, true), 1);
}
