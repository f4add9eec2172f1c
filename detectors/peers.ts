/**
 * What counts as known to an identity's peer group. One other member's word is not enough: an identity
 * can learn anything where nobody judges it (new, under a `service.name` of its own, since the sender sets
 * that) and then join the group with it; taken as the group's, its items would quiet the group's alerts.
 * So an item is the group's once at least two other members learned it (the one other, in a pair).
 */
import type { BaselineView } from './types.js';

const QUORUM = 2;

export function knownToPeers(view: BaselineView, key: string): boolean {
  const peers = view.peers(key);
  return peers > 0 && peers >= Math.min(QUORUM, view.peerGroupSize - 1);
}
