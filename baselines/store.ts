/**
 * Where baselines live: a bounded set of hot identity baselines in memory, every identity in SQLite.
 * A cold identity is loaded on its next action, so memory stays bounded however many identities a fleet
 * has (`baselines.maxHotIdentities`). Peer groups stay in memory, with the members active within
 * `baselines.peerIdleAfter`, within `baselines.maxPeerMembers` members and `maxPeerGroups` groups.
 *
 * Durability: dirty baselines are written at each checkpoint (`baselines.checkpointInterval`) and when
 * evicted, so a `kill -9` loses at most one interval of *learning* — never an alert, which is committed
 * before the export that raised it is acknowledged. What a checkpoint wrote is marked clean only by
 * `afterCommit(true)`: when its transaction fails (disk full), it is all written again later. So nothing
 * may change a baseline or group after its write in the same transaction: that change would be
 * marked clean unwritten.
 */
import Database from 'better-sqlite3';
import type { Db } from '../src/store/database.js';
import { IdentityBaseline, type BaselineSettings } from './identity.js';
import { movesTo } from './peer-move.js';
import { pickOverflow, type Overflow, type PeerBounds } from './peer-bounds.js';
import { group, loadPeerGroups } from './peer-groups-load.js';
import type { PeerGroupBaseline } from './peer-group.js';
import { BaselineRows } from './store-rows.js';

interface Hot {
  baseline: IdentityBaseline;
  used: boolean;
}

export class BaselineStore {
  private readonly hot = new Map<string, Hot>();
  private readonly groups: Map<string, PeerGroupBaseline>;
  private readonly rows: BaselineRows;
  /** The checkpoint in progress: baselines dirty when it began, and how far it has written. */
  private round: IdentityBaseline[] = [];
  private roundAt = 0;
  /** Written in the transaction under way: clean once it commits (`afterCommit`). */
  private written: IdentityBaseline[] = [];
  private groupsWritten: PeerGroupBaseline[] = [];
  private groupsDropped = new Set<string>();
  private roundWritten = 0;
  /** Moved to another group since the groups were last written: written with them (`saveGroups`). */
  private moved: IdentityBaseline[] = [];
  private movedWritten = 0;
  /** Members of all groups (joined through `joinGroup`, restored, or left through this store). */
  private memberCount = 0;
  /** Members (and empty groups) picked to leave for a bound, least recently active last (taken from the end). */
  private overflow: Overflow[] = [];

  /**
   * @param forget when given, counters forgotten by then are dropped as a baseline is written, and a late
   *   action moves a group's first seen back by at most its `firstSeenBackMs` (tests of the store alone
   *   leave it out).
   * @param bounds members across all peer groups, and groups (`baselines.maxPeerMembers`,
   *   `maxPeerGroups`); see `removeOverflow`.
   */
  constructor(
    private readonly db: Db,
    private readonly maxHot: number,
    private readonly forget?: BaselineSettings,
    private readonly bounds: PeerBounds = { maxMembers: Number.POSITIVE_INFINITY, maxGroups: Number.POSITIVE_INFINITY },
  ) {
    this.rows = new BaselineRows(db);
    this.groups = loadPeerGroups(db, this.rows.clean);
    for (const g of this.groups.values()) this.memberCount += g.members.size;
    this.rows.clean = false;
  }

  /** Everything is written (a final checkpoint at shutdown): no recount needed at the next start. */
  markCleanShutdown(): void {
    this.rows.clean = true;
  }

  /** The identity's baseline: hot, else loaded from SQLite, else new (first seen at `time`). */
  identity(identity: string, peerGroup: string, time: number): IdentityBaseline {
    const known = this.known(identity);
    if (known) return known;
    const baseline = new IdentityBaseline(identity, peerGroup, time, time);
    baseline.dirty = true;
    return this.makeHot(baseline);
  }

  /** A known identity's baseline, made hot (so what is learned into it is kept); undefined when unknown. */
  known(identity: string): IdentityBaseline | undefined {
    const h = this.hot.get(identity);
    if (h) {
      h.used = true;
      return h.baseline;
    }
    const stored = this.load(identity);
    return stored && this.makeHot(stored);
  }

  private makeHot(baseline: IdentityBaseline): IdentityBaseline {
    this.hot.set(baseline.identity, { baseline, used: true });
    if (this.hot.size > this.maxHot) this.evict();
    return baseline;
  }

  /** Reads a baseline without making it hot (API and CLI lookups). */
  peek(identity: string): IdentityBaseline | undefined {
    return this.hot.get(identity)?.baseline ?? this.load(identity);
  }

  /** The baseline of `identity` if it is in memory (never read from the store). */
  inMemory(identity: string): IdentityBaseline | undefined {
    return this.hot.get(identity)?.baseline;
  }

  private load(identity: string): IdentityBaseline | undefined {
    const body = this.rows.readIdentity(identity);
    return body ? IdentityBaseline.fromJSON(identity, JSON.parse(body)) : undefined;
  }

  group(name: string): PeerGroupBaseline {
    return group(this.groups, name);
  }

  /** Members of all peer groups. */
  get members(): number {
    return this.memberCount;
  }

  /** The peer group `name` if it exists (unlike `group`, which makes one). */
  knownGroup(name: string): PeerGroupBaseline | undefined {
    return this.groups.get(name);
  }

  /** Peer groups in memory. */
  get groupCount(): number {
    return this.groups.size;
  }

  /**
   * Notes an action of `b` at `time` naming `peerGroup`; `b` joins (again) its group if it was not a
   * member, and returns that group. An identity is in one group at a time (in two, it would learn in one
   * and be reset in the other, and their counts would drift); it moves with what it learned when
   * peer-move.ts says so. An action naming no group (`''`) changes nothing.
   */
  joinGroup(peerGroup: string, b: IdentityBaseline, time: number): PeerGroupBaseline {
    if (peerGroup === b.peerGroup) {
      if (time > b.ownGroupSeen) b.ownGroupSeen = time;
      if (b.groupCandidate !== null && time >= b.groupCandidate.first) b.groupCandidate = null; // not "only" any more
    } else if (peerGroup !== '' && movesTo(b, peerGroup, time)) {
      const from = this.groups.get(b.peerGroup);
      if (from) this.leaveGroup(from, b.identity, b.counters.keys());
      b.peerGroup = peerGroup;
      b.ownGroupSeen = b.groupCandidate?.last ?? time; // the candidate's last action is now its own group's
      b.groupCandidate = null;
      b.dirty = true;
      this.moved.push(b);
    }
    const group = this.group(b.peerGroup);
    if (group.join(b.identity, time, this.forget?.firstSeenBackMs)) {
      group.rejoin(b.counters.keys()); // nothing yet for a new identity
      this.memberCount++;
    }
    return group;
  }

  private leaveGroup(g: PeerGroupBaseline, identity: string, learnedKeys: Iterable<string>): void {
    if (g.leave(identity, learnedKeys)) this.memberCount--;
  }

  /**
   * Members whose latest action is before `cutoff` leave their groups, at most `limit` of them (each
   * needs its baseline, perhaps read from SQLite), and items no one uses or tried since are dropped.
   * Returns how many left: `limit` means there may be more.
   */
  removeIdle(cutoff: number, limit: number): number {
    let n = 0;
    for (const g of this.groups.values()) {
      for (const identity of g.idleMembers(cutoff, limit - n)) {
        this.leaveGroup(g, identity, this.peek(identity)?.counters.keys() ?? []);
        n++;
      }
      if (n >= limit) break;
    }
    if (n < limit) {
      for (const g of this.groups.values()) {
        g.dropUnusedItems(cutoff);
        // Nothing left to remember (a service.name per pod, say): the group goes, or groups would pile up.
        if (g.members.size === 0 && g.items.size === 0) this.dropGroup(g.name);
      }
    }
    return n;
  }

  /**
   * Bounds what peer groups hold in memory, whatever makes them many: an identity per run (an id unique
   * per run in `identity.chain`), a `service.name` per pod, forged identities. Over `maxMembers` members
   * in all, the least recently active members of the largest groups leave early, as if idle; over
   * `maxGroups` groups, the smallest, least recently active groups lose all their members (see
   * peer-bounds.ts for who goes). Either way down to 90% of the bound, at most `limit` members per call (each may need its baseline
   * read from SQLite). A group left with no member is dropped whole, items included, since its memory
   * is what the bounds are for. Call inside a transaction, before the checkpoint. Returns how many
   * members left.
   */
  removeOverflow(limit: number): number {
    if (this.overflow.length === 0) {
      this.overflow = pickOverflow(this.groups, this.memberCount, this.bounds);
      if (this.overflow.length === 0) return 0;
    }
    let n = 0;
    while (n < limit && this.overflow.length > 0) {
      const [g, identity, seen] = this.overflow.pop()!;
      if (identity === null) {
        if (g.members.size === 0) this.dropGroup(g.name); // a group with no member left, kept for its items
        continue;
      }
      if (g.members.get(identity) !== seen) continue; // active again since it was picked, or gone
      this.leaveGroup(g, identity, this.peek(identity)?.counters.keys() ?? []);
      if (g.members.size === 0) this.dropGroup(g.name);
      n++;
    }
    return n;
  }

  /**
   * Deletes an empty group's rows; it leaves memory once that commits (`afterCommit`), so a commit that
   * fails leaves it to be dropped at a later scan. Call inside a transaction, before the checkpoint.
   */
  private dropGroup(name: string): void {
    this.rows.deleteGroup(name);
    this.groupsDropped.add(name);
  }

  /**
   * Deletes an identity's baseline and takes it out of its peer group: if it comes back, it starts again
   * as new. Call inside a transaction, before this commit's checkpoint writes the group.
   */
  forgetIdentity(identity: string): void {
    const b = this.peek(identity);
    if (!b) return;
    b.dirty = false; // a checkpoint round holding it must not write it back
    this.hot.delete(identity);
    const g = this.groups.get(b.peerGroup);
    if (g) this.leaveGroup(g, identity, b.counters.keys());
    this.rows.deleteIdentityRow(identity);
  }

  get hotCount(): number {
    return this.hot.size;
  }

  /** More hot baselines than the bound: while the store refuses writes (dirty ones cannot leave), or until the next load evicts. */
  get overBound(): boolean {
    return this.hot.size > this.maxHot;
  }

  /**
   * Second-chance eviction of a tenth of the hot set: recently used baselines get another round. Dirty
   * ones are written first, in a transaction of their own; if the store refuses it, they stay hot.
   */
  private evict(): void {
    // Inside a larger transaction (an operator's reset) its writes would be a savepoint that the outer
    // transaction may still roll back, after the baselines left memory: wait for the next load outside.
    if (this.db.inTransaction) return;
    const target = Math.floor(this.maxHot * 0.9);
    const evicted: IdentityBaseline[] = [];
    for (const [id, h] of this.hot) {
      if (this.hot.size <= target) break;
      this.hot.delete(id);
      if (h.used) {
        h.used = false;
        this.hot.set(id, h); // to the back of the queue
      } else if (h.baseline.dirty) evicted.push(h.baseline);
    }
    try {
      this.db.transaction(() => evicted.forEach((b) => this.write(b)))();
      // Written: a checkpoint round still holding one of these objects must not write it again over a
      // newer copy loaded since.
      for (const b of evicted) b.dirty = false;
    } catch (err) {
      if (!(err instanceof Database.SqliteError)) throw err;
      // Kept in memory until the store takes writes again (the group commit fails meanwhile, and says why).
      for (const b of evicted) this.hot.set(b.identity, { baseline: b, used: false });
    }
  }

  private write(b: IdentityBaseline): void {
    if (this.forget) {
      const gone = b.prune(b.lastSeen, this.forget);
      // Only a member counts among its items' users: one that left (idle, or over a bound) was taken
      // off them as it left, and its group may be gone.
      const g = this.groups.get(b.peerGroup);
      if (gone.length > 0 && g?.members.has(b.identity)) g.forgotten(gone);
    }
    this.rows.writeIdentity(b);
  }

  /** Writes every dirty baseline and peer group now (shutdown, end of a replay). Call inside a transaction. */
  checkpoint(): void {
    for (const h of this.hot.values()) {
      if (!h.baseline.dirty) continue;
      this.write(h.baseline);
      this.written.push(h.baseline);
    }
    this.saveGroups();
    this.roundWritten = this.round.length;
  }

  /**
   * Writes every dirty baseline and peer group now, in a transaction of its own, after `change` (an
   * operator's allow or reset) in the same transaction.
   */
  checkpointNow(change?: () => void): void {
    let ok = false;
    try {
      this.db.transaction(() => {
        change?.();
        this.checkpoint();
      })();
      ok = true;
    } finally {
      this.afterCommit(ok);
    }
  }

  /**
   * Starts a checkpoint spread over several commits (serialising every dirty baseline at once stalled
   * the event loop ~50 ms under load): the baselines dirty now are written by `continueCheckpoint`, each
   * once. One dirtied again after its write waits for the next round; rescanning for dirty baselines at
   * every commit instead kept a busy fleet's checkpoint from ever ending, rewriting each baseline ~8
   * times per interval. Returns how many are to be written.
   */
  beginCheckpoint(): number {
    this.round = [];
    this.roundAt = 0;
    this.roundWritten = 0;
    for (const h of this.hot.values()) if (h.baseline.dirty) this.round.push(h.baseline);
    return this.round.length;
  }

  /**
   * Writes up to `limit` baselines of the round, and the dirty peer groups; returns how many remain
   * once this transaction commits. Call inside a transaction.
   */
  continueCheckpoint(limit: number): number {
    const end = Math.min(this.round.length, this.roundAt + limit);
    for (let i = this.roundAt; i < end; i++) {
      // An evicted baseline was written then; a reloaded one is another object, made hot since.
      const b = this.round[i];
      if (!b.dirty) continue;
      this.write(b);
      this.written.push(b);
    }
    this.roundWritten = end;
    this.saveGroups();
    return this.round.length - end;
  }

  /** The transaction that wrote baselines and groups committed (`ok`), or rolled back. */
  afterCommit(ok: boolean): void {
    if (ok) {
      for (const b of this.written) b.dirty = false;
      for (const g of this.groupsWritten) g.markClean();
      for (const name of this.groupsDropped) this.groups.delete(name);
      this.moved.splice(0, this.movedWritten);
      this.roundAt = this.roundWritten;
      if (this.roundAt >= this.round.length) this.round = [];
    }
    this.written = [];
    this.groupsWritten = [];
    this.groupsDropped = new Set();
    this.movedWritten = 0;
    this.roundWritten = this.roundAt;
  }

  private saveGroups(): void {
    // A baseline that moved is written with the groups it left and joined: restored apart from them
    // after a crash, it would be counted in both.
    for (const b of this.moved) {
      if (!b.dirty) continue; // written since (evicted): a reloaded copy is another object
      this.write(b);
      this.written.push(b);
    }
    this.movedWritten = this.moved.length;
    for (const g of this.groups.values()) {
      if (!g.dirty || this.groupsDropped.has(g.name)) continue;
      this.rows.writeGroup(g);
      this.groupsWritten.push(g);
    }
  }
}
