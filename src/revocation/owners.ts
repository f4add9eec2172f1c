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
 * In memory and bounded: the least recently presented (by its owner) is forgotten first, and one identity
 * owns at most MAX_PER_IDENTITY at once (its oldest claims go first), so a flood of made-up credential ids
 * cannot push out the ones other identities use (review25 F2). After a restart, or once forgotten, the
 * next identity to present it owns it; its real holder presents it with every action.
 */
import type { Action } from '../actions/types.js';
import { FifoQueue } from '../actions/fifo.js';
import { RecencyQueue, type Recent } from '../actions/recency.js';

const MAX_CREDENTIALS = 200_000;
/** Credentials one identity owns at once: more than any agent rotating tokens holds live, far fewer than MAX_CREDENTIALS. */
const MAX_PER_IDENTITY = 1_000;
/** Peer groups remembered per credential: its owner's, as it moves (a renamed service). */
const MAX_GROUPS = 8;

export interface Owner {
  identity: string;
  /** The peer groups its owner presented it in: replicas in any of them may present it without an alert. */
  peerGroups: string[];
}

interface Owned extends Recent {
  id: string;
  owner: Owner;
}

/** One identity's credentials, in the order it first presented them. */
interface Claims {
  order: FifoQueue<Owned>;
  count: number;
}

export class CredentialOwners {
  private readonly owned = new Map<string, Owned>();
  /** Least recently presented by its owner first. */
  private readonly recency = new RecencyQueue<Owned>();
  private readonly claims = new Map<string, Claims>();

  /** @param onDisputed called for an action presenting a credential an identity of another peer group presented first. */
  constructor(private readonly onDisputed: (action: Action, owner: Owner) => void) {}

  /** Notes the credentials of actions in arrival order (a sink ahead of the detection engine). */
  note(actions: readonly Action[]): void {
    for (const a of actions) {
      const id = a.credential?.id;
      if (id === undefined) continue;
      const o = this.owned.get(id);
      if (o === undefined) this.claim(id, a);
      else if (o.owner.identity === a.identity) {
        const { peerGroups } = o.owner;
        if (!peerGroups.includes(a.peerGroup) && peerGroups.length < MAX_GROUPS) peerGroups.push(a.peerGroup);
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

  private claim(id: string, a: Action): void {
    const full = this.claims.get(a.identity);
    if (full !== undefined && full.count >= MAX_PER_IDENTITY) {
      const oldest = full.order.first()!;
      full.order.shift();
      this.forget(oldest);
    } else if (this.owned.size >= MAX_CREDENTIALS) this.forget(this.recency.oldest()!);
    let mine = this.claims.get(a.identity); // after forgetting: that may have been its last
    if (mine === undefined) this.claims.set(a.identity, (mine = { order: new FifoQueue(), count: 0 }));
    const o: Owned = { id, owner: { identity: a.identity, peerGroups: [a.peerGroup] }, seq: 0, live: true };
    this.owned.set(id, o);
    this.recency.touch(o);
    mine.order.push(o);
    mine.count++;
  }

  private forget(o: Owned): void {
    o.live = false;
    this.owned.delete(o.id);
    const theirs = this.claims.get(o.owner.identity)!;
    if (--theirs.count === 0) this.claims.delete(o.owner.identity);
    else theirs.order.prune(theirs.count);
  }
}
