/**
 * Who presented a credential first. Spans name their credential (`nhi.credential.id`) as they please,
 * so a compromised agent could name another agent's token and have its own alerts revoke it (review20
 * F18). The first identity seen with a credential owns it. Replicas of one peer group often share one
 * (a service account's key): they may. An identity of another peer group may not: its alerts do not
 * revoke the credential (revocation/engine.ts), and presenting it raises a `telemetry_integrity` alert.
 * In memory and bounded, the oldest forgotten first: after a restart, or once forgotten, the next identity
 * to present it owns it, and its real holder presents it with every action.
 */
import type { Action } from '../actions/types.js';

const MAX_CREDENTIALS = 200_000;
/** Peer groups remembered per credential: its owner's, as it moves (a renamed service). */
const MAX_GROUPS = 8;

export interface Owner {
  identity: string;
  /** The peer groups its owner presented it in: replicas in any of them may share it (a rename rolling out). */
  peerGroups: string[];
}

export class CredentialOwners {
  private readonly owners = new Map<string, Owner>();

  /** @param onDisputed called for an action presenting a credential an identity of another peer group presented first. */
  constructor(private readonly onDisputed: (action: Action, owner: Owner) => void) {}

  /** Notes the credentials of actions in arrival order (a sink ahead of the detection engine). */
  note(actions: readonly Action[]): void {
    for (const a of actions) {
      const id = a.credential?.id;
      if (id === undefined) continue;
      const owner = this.owners.get(id);
      if (owner === undefined) {
        if (this.owners.size >= MAX_CREDENTIALS) this.owners.delete(this.owners.keys().next().value!);
        this.owners.set(id, { identity: a.identity, peerGroups: [a.peerGroup] });
      } else if (owner.identity === a.identity) {
        if (!owner.peerGroups.includes(a.peerGroup) && owner.peerGroups.length < MAX_GROUPS) owner.peerGroups.push(a.peerGroup);
      } else if (!owner.peerGroups.includes(a.peerGroup)) this.onDisputed(a, owner);
    }
  }

  /** The owner of a credential when `holder` (an identity and its peer group) may not use it, else undefined. */
  disputed(credentialId: string, holder: { identity: string; peerGroup: string }): Owner | undefined {
    const owner = this.owners.get(credentialId);
    return owner !== undefined && owner.identity !== holder.identity && !owner.peerGroups.includes(holder.peerGroup) ? owner : undefined;
  }
}
