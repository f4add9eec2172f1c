/**
 * Per-identity records: first/last seen, peer group, action counts. Counters are kept in memory and
 * written in batches (one transaction per group commit): one upsert per action would cap ingest at a
 * fraction of the receivers' rate.
 */
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
}

export class IdentityStore {
  private readonly records = new Map<string, IdentityRecord>();
  private readonly dirty = new Set<IdentityRecord>();
  private readonly upsert;

  constructor(private readonly db: Db) {
    this.upsert = db.prepare(`
      INSERT INTO identities (identity, peer_group, first_seen, last_seen, actions, failures, retries, by_kind)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT(identity) DO UPDATE SET peer_group = excluded.peer_group, first_seen = excluded.first_seen,
        last_seen = excluded.last_seen, actions = excluded.actions, failures = excluded.failures,
        retries = excluded.retries, by_kind = excluded.by_kind`);
    this.load();
  }

  /** Restores every record at start, so counts continue across restarts. */
  private load(): void {
    for (const row of this.db.prepare('SELECT * FROM identities').iterate() as Iterable<Record<string, never>>) {
      this.records.set(row.identity, {
        identity: row.identity,
        peerGroup: row.peer_group,
        firstSeen: row.first_seen,
        lastSeen: row.last_seen,
        actions: row.actions,
        failures: row.failures,
        retries: row.retries,
        byKind: JSON.parse(row.by_kind),
      });
    }
  }

  /** Counts one action against its identity (in memory until the next `flush`). */
  record(a: Action): void {
    let rec = this.records.get(a.identity);
    if (!rec) {
      rec = { identity: a.identity, peerGroup: a.peerGroup, firstSeen: a.time, lastSeen: a.time, actions: 0, failures: 0, retries: 0, byKind: {} };
      this.records.set(a.identity, rec);
    }
    rec.peerGroup = a.peerGroup || rec.peerGroup;
    if (a.time < rec.firstSeen) rec.firstSeen = a.time;
    if (a.time > rec.lastSeen) rec.lastSeen = a.time;
    rec.actions++;
    if (a.failed) rec.failures++;
    if (a.retry) rec.retries++;
    rec.byKind[a.kind] = (rec.byKind[a.kind] ?? 0) + 1;
    this.dirty.add(rec);
  }

  get(identity: string): IdentityRecord | undefined {
    return this.records.get(identity);
  }

  get size(): number {
    return this.records.size;
  }

  all(): IterableIterator<IdentityRecord> {
    return this.records.values();
  }

  /** Writes the records changed since the last flush. Call inside the group-commit transaction. */
  flush(): number {
    const n = this.dirty.size;
    for (const r of this.dirty) {
      this.upsert.run(r.identity, r.peerGroup, r.firstSeen, r.lastSeen, r.actions, r.failures, r.retries, JSON.stringify(r.byKind));
    }
    this.dirty.clear();
    return n;
  }
}
