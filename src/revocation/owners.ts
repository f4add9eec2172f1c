/**
 * Who presented a credential first. Spans name their credential (`nhi.credential.id`) as they please,
 * so a compromised agent could name another agent's token and have its own alerts revoke it (review20
 * F18). The first identity seen with a credential owns it, and only an alert on its owner revokes it
 * (revocation/engine.ts): not one on a replica that shares it, since the peer group that would make it
 * a replica is the span's own claim (`service.name`), which the attacker copies (review25 F1).
 * Presenting a credential an identity of another peer group owns raises a `telemetry_integrity` alert;
 * replicas of the owner's peer groups sharing a service account's key do not (a claimed peer group only
 * spares an alert, it never revokes).
 *
 * Bounded: the least recently presented (by its owner) is forgotten first, and one identity owns at most
 * MAX_PER_IDENTITY at once (its oldest claims go first), so a flood of made-up credential ids cannot push
 * out the ones other identities use (review25 F2). Kept in SQLite (a stage of the group commit) and loaded
 * at start, so a restart hands no credential to the next identity that names it.
 */
import type { Action } from '../actions/types.js';
import { FifoQueue } from '../collections/fifo.js';
import { RecencyQueue, type Recent } from '../collections/recency.js';
import type { Stage } from '../stage.js';
import type { Db } from '../store/database.js';

const MAX_CREDENTIALS = 200_000;
/** Credentials one identity owns at once: more than any agent rotating tokens holds live, far fewer than MAX_CREDENTIALS. */
const MAX_PER_IDENTITY = 1_000;
/** Peer groups remembered per credential: its owner's, as it moves (a renamed service). */
const MAX_GROUPS = 8;
/** A presentation is written at most this often per credential: recency after a restart is this coarse, writes are few. */
const PRESENTED_WRITE_MS = 60 * 60_000;

export interface Owner {
  identity: string;
  /** The peer groups its owner presented it in: replicas in any of them may present it without an alert. */
  peerGroups: string[];
}

interface Owned extends Recent {
  id: string;
  owner: Owner;
  claimSeq: number;
  /** Wall time of its owner's latest presentation, and of the one last written. */
  presentedAt: number;
  writtenAt: number | null;
}

/** One identity's credentials, in the order it first presented them. */
interface Claims {
  order: FifoQueue<Owned>;
  count: number;
}

interface OwnerRow {
  credential: string;
  identity: string;
  peer_groups: string;
  claim_seq: number;
  presented_at: number;
}

export class CredentialOwners implements Stage {
  private readonly owned = new Map<string, Owned>();
  /** Least recently presented by its owner first. */
  private readonly recency = new RecencyQueue<Owned>();
  private readonly claims = new Map<string, Claims>();
  private claimSeq = 0;
  /** Changed since the last commit: an entry to write, or null for one forgotten. */
  private readonly dirty = new Map<string, Owned | null>();
  private readonly upsert;
  private readonly remove;

  /**
   * @param onDisputed called for an action presenting a credential an identity of another peer group presented first.
   * @param now wall clock: presentations are ordered by it across restarts.
   */
  constructor(
    db: Db,
    private readonly onDisputed: (action: Action, owner: Owner) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.upsert = db.prepare('INSERT OR REPLACE INTO credential_owners (credential, identity, peer_groups, claim_seq, presented_at) VALUES (?, ?, ?, ?, ?)');
    this.remove = db.prepare('DELETE FROM credential_owners WHERE credential = ?');
    const rows = db.prepare('SELECT * FROM credential_owners ORDER BY claim_seq').all() as OwnerRow[];
    for (const r of rows) this.add({ id: r.credential, owner: { identity: r.identity, peerGroups: JSON.parse(r.peer_groups) as string[] }, claimSeq: r.claim_seq, presentedAt: r.presented_at, writtenAt: r.presented_at, seq: 0, live: true });
    this.claimSeq = rows.length > 0 ? rows[rows.length - 1].claim_seq : 0;
    // Recency as it was written: least recently presented first.
    for (const o of [...this.owned.values()].sort((a, b) => a.presentedAt - b.presentedAt)) this.recency.touch(o);
  }

  /** Notes the credentials of actions in arrival order (ahead of the detection engine: its alerts consult the owners). */
  process(actions: readonly Action[]): void {
    const now = this.now();
    for (const a of actions) {
      const id = a.credential?.id;
      if (id === undefined) continue;
      const o = this.owned.get(id);
      if (o === undefined) this.claim(id, a, now);
      else if (o.owner.identity === a.identity) {
        const { peerGroups } = o.owner;
        if (!peerGroups.includes(a.peerGroup) && peerGroups.length < MAX_GROUPS) {
          peerGroups.push(a.peerGroup);
          this.dirty.set(id, o);
        }
        o.presentedAt = now;
        if (o.writtenAt === null || now - o.writtenAt >= PRESENTED_WRITE_MS) this.dirty.set(id, o);
        this.recency.touch(o);
      } else if (!o.owner.peerGroups.includes(a.peerGroup)) this.onDisputed(a, o.owner);
    }
    this.recency.maintain(this.owned.size);
  }

  /** The owner of a credential when `identity` is not it (its alerts then do not revoke it), else undefined. */
  notOwnedBy(credentialId: string, identity: string): Owner | undefined {
    const o = this.owned.get(credentialId);
    return o !== undefined && o.owner.identity !== identity ? o.owner : undefined;
  }

  finish(): void {}
  beforeCommit(): void {}

  /** Writes what changed, in the group commit's transaction. */
  commit(): void {
    for (const [id, o] of this.dirty) {
      if (o === null) this.remove.run(id);
      else this.upsert.run(id, o.owner.identity, JSON.stringify(o.owner.peerGroups), o.claimSeq, o.presentedAt);
    }
  }

  afterCommit(ok: boolean): void {
    if (!ok) return; // still dirty: written with the next commit
    for (const o of this.dirty.values()) if (o !== null) o.writtenAt = o.presentedAt;
    this.dirty.clear();
  }

  private claim(id: string, a: Action, now: number): void {
    const full = this.claims.get(a.identity);
    if (full !== undefined && full.count >= MAX_PER_IDENTITY) {
      const oldest = full.order.first()!;
      full.order.shift();
      this.forget(oldest);
    } else if (this.owned.size >= MAX_CREDENTIALS) this.forget(this.recency.oldest()!);
    const o: Owned = { id, owner: { identity: a.identity, peerGroups: [a.peerGroup] }, claimSeq: ++this.claimSeq, presentedAt: now, writtenAt: null, seq: 0, live: true };
    this.add(o);
    this.recency.touch(o);
    this.dirty.set(id, o);
  }

  private add(o: Owned): void {
    let mine = this.claims.get(o.owner.identity);
    if (mine === undefined) this.claims.set(o.owner.identity, (mine = { order: new FifoQueue(), count: 0 }));
    this.owned.set(o.id, o);
    mine.order.push(o);
    mine.count++;
  }

  private forget(o: Owned): void {
    o.live = false;
    this.owned.delete(o.id);
    // Never written: nothing to delete (a flood's claims come and go without touching the disk).
    if (o.writtenAt === null && this.dirty.get(o.id) === o) this.dirty.delete(o.id);
    else this.dirty.set(o.id, null);
    const theirs = this.claims.get(o.owner.identity)!;
    if (--theirs.count === 0) this.claims.delete(o.owner.identity);
    else theirs.order.prune(theirs.count);
  }
}
