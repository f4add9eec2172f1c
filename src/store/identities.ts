/**
 * Per-identity records: first/last seen, peer group, action counts. Counters are kept in memory and
 * written in batches (one transaction per group commit): one upsert per action would cap ingest at a
 * fraction of the receivers' rate. Only recently active identities are in memory (as many as
 * `baselines.maxHotIdentities`); the rest are in SQLite.
 */
import { firstSeenAfter } from '../../baselines/identity.js';
import type { Action, ActionKind } from '../actions/types.js';
import type { Db } from './database.js';

export interface IdentityRecord {
  identity: string;
  peerGroup: string;
  firstSeen: number;
  lastSeen: number;
  actions: number;
  failures: number;
  retries: number;
  byKind: Partial<Record<ActionKind, number>>;
  /** When an operator's reset began its current baseline (event time, unix ms); null if never reset. */
  baselineSince: number | null;
  /** Its actions before that reset: its baseline's maturity counts only the ones after. */
  actionsBefore: number;
}

export class IdentityStore {
  /** Records of recently active identities; the others are read back from SQLite when next active. */
  private readonly records = new Map<string, IdentityRecord>();
  private readonly dirty = new Set<IdentityRecord>();
  private readonly upsert;
  private readonly select;
  private readonly selectIdle;
  private readonly remove;
  private readonly count;
  /** Identities known to the store (rows written, or about to be). */
  private known: number;
  /** Newest event time of any identity's action: the clock retention runs on. */
  newest: number;

  /** @param maxHot records kept in memory (a fleet of short-lived identities must not grow it without end). */
  constructor(
    db: Db,
    private readonly maxHot: number,
    /** Told of each identity seen for the first time. */
    private readonly onNew: (identity: string) => void = () => {},
    /**
     * How far one action moves first-seen back (`time.lateness`), as for the identity's baseline: one span
     * dated days back must not make a new identity look days old, in the list's phase (review46 F6) either.
     */
    private readonly firstSeenBackMs = Number.POSITIVE_INFINITY,
  ) {
    this.upsert = db.prepare(`
      INSERT INTO identities (identity, peer_group, first_seen, last_seen, actions, failures, retries, by_kind, baseline_since, actions_before)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT(identity) DO UPDATE SET peer_group = excluded.peer_group, first_seen = excluded.first_seen,
        last_seen = excluded.last_seen, actions = excluded.actions, failures = excluded.failures,
        retries = excluded.retries, by_kind = excluded.by_kind, baseline_since = excluded.baseline_since,
        actions_before = excluded.actions_before`);
    this.select = db.prepare('SELECT * FROM identities WHERE identity = ?');
    this.selectIdle = db.prepare('SELECT identity FROM identities WHERE last_seen < ? ORDER BY last_seen LIMIT ?').pluck();
    this.remove = db.prepare('DELETE FROM identities WHERE identity = ?');
    this.count = db.prepare('SELECT count(*) FROM identities').pluck();
    this.known = this.count.get() as number;
    this.newest = (db.prepare('SELECT max(last_seen) FROM identities').pluck().get() as number | null) ?? Number.NEGATIVE_INFINITY;
  }

  /** The stored record, or undefined. */
  private read(identity: string): IdentityRecord | undefined {
    const row = this.select.get(identity) as Record<string, never> | undefined;
    if (!row) return undefined;
    return {
      identity: row.identity,
      peerGroup: row.peer_group,
      firstSeen: row.first_seen,
      lastSeen: row.last_seen,
      actions: row.actions,
      failures: row.failures,
      retries: row.retries,
      byKind: JSON.parse(row.by_kind),
      baselineSince: row.baseline_since,
      actionsBefore: row.actions_before,
    };
  }

  /** Counts one action against its identity (in memory until the next `flush`). */
  record(a: Action): void {
    let rec = this.records.get(a.identity);
    if (!rec) {
      rec = this.read(a.identity);
      if (!rec) {
        rec = { identity: a.identity, peerGroup: a.peerGroup, firstSeen: a.time, lastSeen: a.time, actions: 0, failures: 0, retries: 0, byKind: {}, baselineSince: null, actionsBefore: 0 };
        this.known++;
        this.onNew(a.identity);
      }
      this.records.set(a.identity, rec);
      // Dirty before any eviction: evicted unwritten, it would be counted again as a new identity.
      this.dirty.add(rec);
      if (this.records.size > this.maxHot) this.evict();
    }
    rec.peerGroup = a.peerGroup || rec.peerGroup;
    rec.firstSeen = firstSeenAfter(rec.firstSeen, a.time, this.firstSeenBackMs);
    if (a.time > rec.lastSeen) rec.lastSeen = a.time;
    if (a.time > this.newest) this.newest = a.time;
    rec.actions++;
    if (a.failed) rec.failures++;
    if (a.retry) rec.retries++;
    rec.byKind[a.kind] = (rec.byKind[a.kind] ?? 0) + 1;
    this.dirty.add(rec);
  }

  /**
   * Drops the least recently loaded tenth of the records already written (a dirty one waits for the
   * next flush); they are read back on their identity's next action.
   */
  private evict(): void {
    const target = Math.floor(this.maxHot * 0.9);
    for (const [identity, rec] of this.records) {
      if (this.records.size <= target) break;
      if (!this.dirty.has(rec)) this.records.delete(identity);
    }
  }

  get(identity: string): IdentityRecord | undefined {
    return this.records.get(identity) ?? this.read(identity);
  }

  /**
   * More records wait to be written than may be in memory: a store refusing writes keeps them there
   * (the pipeline then refuses exports until it takes writes again). Written ones can always leave.
   */
  get overBound(): boolean {
    return this.dirty.size > this.maxHot;
  }

  /** Identities known, active or not. */
  get size(): number {
    return this.known;
  }

  /**
   * Up to `limit` identities whose last action is before `cutoff`, oldest first, as written by the last
   * commit (call after `flush`, in the same transaction).
   */
  idleBefore(cutoff: number, limit: number): string[] {
    return this.selectIdle.all(cutoff, limit) as string[];
  }

  /**
   * An operator's reset began the identity's baseline again at `since`: its record is written at once
   * with that time and its actions so far, and kept dirty (a reset the store refused is written by the
   * next group commit, as its baseline is by the next checkpoint). Call inside the reset's transaction.
   * False if unknown.
   */
  markReset(identity: string, since: number): boolean {
    let rec = this.records.get(identity);
    if (!rec) {
      rec = this.read(identity);
      if (!rec) return false;
      this.records.set(identity, rec);
      this.dirty.add(rec); // before any eviction, which must not take it
      if (this.records.size > this.maxHot) this.evict();
    }
    rec.baselineSince = since;
    rec.actionsBefore = rec.actions;
    this.dirty.add(rec);
    this.write(rec);
    return true;
  }

  private write(r: IdentityRecord): void {
    this.upsert.run(r.identity, r.peerGroup, r.firstSeen, r.lastSeen, r.actions, r.failures, r.retries, JSON.stringify(r.byKind), r.baselineSince, r.actionsBefore);
  }

  /** Deletes identities' records. Call inside a transaction. */
  forget(identities: readonly string[]): void {
    for (const identity of identities) {
      const rec = this.records.get(identity);
      if (rec) this.dirty.delete(rec);
      this.records.delete(identity);
      this.remove.run(identity);
    }
    this.known = this.count.get() as number;
  }

  /** Writes the records changed since the last commit. Call inside the group-commit transaction. */
  flush(): number {
    for (const r of this.dirty) this.write(r);
    return this.dirty.size;
  }

  /** The group commit succeeded (`ok`): what `flush` wrote is clean; else it is written again later. */
  afterCommit(ok: boolean): void {
    if (ok) this.dirty.clear();
    else this.known = this.count.get() as number; // a rolled-back `forget` counted its deletions
  }
}
