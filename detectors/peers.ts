/**
 * What counts as known to an identity's peer group. For an identity judged against itself, one other
 * member's word is not enough: an identity can learn anything where nobody judges it (new, under a
 * `service.name` of its own, since the sender sets that) and then join the group with it; taken as the
 * group's, its items would quiet the group's alerts. So an item is the group's once at least two other
 * members learned it (the one other, in a pair). A new instance, judged against its peers, may do what
 * any one of them does: it is often the redeployment of the one member that held a role.
 */
import type { BaselineView } from './types.js';

const QUORUM = 2;

export function knownToPeers(view: BaselineView, key: string): boolean {
  const peers = view.peers(key);
  return peers > 0 && (view.phase === 'peer' || peers >= Math.min(QUORUM, view.peerGroupSize - 1));
}

/** How the peers' use of an item reads in an explanation, when it did not make it the group's. */
export function peersNote(view: BaselineView, key: string): string {
  const peers = view.peers(key);
  return peers === 0 ? 'nor did its peers' : `and only ${peers} of its peers did, too few to make it the group's`;
}
