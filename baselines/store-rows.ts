/**
 * How baselines are laid out in SQLite: one row per identity (its counters as JSON), and per peer group a
 * row of its rates and history, one per member and one per item, so a checkpoint writes only the members
 * and items that changed (store.ts decides what and when).
 */
import type { Db } from '../src/store/database.js';
import type { IdentityBaseline } from './identity.js';
import type { PeerGroupBaseline } from './peer-group.js';

export class BaselineRows {
  private readonly selectIdentity;
  private readonly upsertIdentity;
  private readonly deleteIdentity;
  private readonly upsertGroup;
  private readonly upsertMember;
  private readonly deleteMember;
  private readonly upsertItem;
  private readonly deleteItem;
  private readonly deleteGroupRows;
  private readonly selectClean;
  private readonly updateClean;

  constructor(db: Db) {
    this.selectIdentity = db.prepare('SELECT body FROM identity_baselines WHERE identity = ?').pluck();
    this.upsertIdentity = db.prepare(
      'INSERT INTO identity_baselines (identity, peer_group, body) VALUES (?, ?, ?) ON CONFLICT(identity) DO UPDATE SET peer_group = excluded.peer_group, body = excluded.body',
    );
    this.deleteIdentity = db.prepare('DELETE FROM identity_baselines WHERE identity = ?');
    this.upsertGroup = db.prepare(
      'INSERT INTO peer_baselines (peer_group, body) VALUES (?, ?) ON CONFLICT(peer_group) DO UPDATE SET body = excluded.body',
    );
    this.upsertMember = db.prepare(
      'INSERT INTO peer_members (peer_group, identity, mature, last_seen) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET mature = excluded.mature, last_seen = excluded.last_seen',
    );
    this.deleteMember = db.prepare('DELETE FROM peer_members WHERE peer_group = ? AND identity = ?');
    this.upsertItem = db.prepare(
      'INSERT INTO peer_items (peer_group, item, users, adopters) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET users = excluded.users, adopters = excluded.adopters',
    );
    this.deleteItem = db.prepare('DELETE FROM peer_items WHERE peer_group = ? AND item = ?');
    this.deleteGroupRows = ['peer_baselines', 'peer_members', 'peer_items'].map((t) => db.prepare(`DELETE FROM ${t} WHERE peer_group = ?`));
    this.selectClean = db.prepare("SELECT value FROM meta WHERE key = 'baselines_clean'").pluck();
    this.updateClean = db.prepare("UPDATE meta SET value = ? WHERE key = 'baselines_clean'");
  }

  /** Whether the last run wrote everything at its shutdown (else groups' item users are counted again at load). */
  get clean(): boolean {
    return this.selectClean.get() === '1';
  }

  set clean(value: boolean) {
    this.updateClean.run(value ? '1' : '0');
  }

  /** The stored JSON of an identity's baseline, if any. */
  readIdentity(identity: string): string | undefined {
    return this.selectIdentity.get(identity) as string | undefined;
  }

  writeIdentity(b: IdentityBaseline): void {
    this.upsertIdentity.run(b.identity, b.peerGroup, JSON.stringify(b));
  }

  deleteIdentityRow(identity: string): void {
    this.deleteIdentity.run(identity);
  }

  /** Writes what changed in a group since its last checkpoint. */
  writeGroup(g: PeerGroupBaseline): void {
    this.upsertGroup.run(g.name, JSON.stringify({ v: 3, outcome: g.outcome, history: g.history, readPeaks: g.readPeaks, pauses: g.pauses }));
    for (const id of g.changedMembers) this.upsertMember.run(g.name, id, g.mature.has(id) ? 1 : 0, finiteOr0(g.members.get(id)));
    for (const id of g.departed) this.deleteMember.run(g.name, id);
    for (const k of g.droppedItems) this.deleteItem.run(g.name, k);
    for (const k of g.changedItems) {
      const { users, adopters } = g.itemRow(k);
      this.upsertItem.run(g.name, k, users, JSON.stringify(adopters));
    }
  }

  deleteGroup(name: string): void {
    for (const stmt of this.deleteGroupRows) stmt.run(name);
  }
}

/** A SQLite REAL NOT NULL column takes no NaN (an action time is always finite; this keeps a commit alive). */
function finiteOr0(t: number | undefined): number {
  return t !== undefined && Number.isFinite(t) ? t : 0;
}
