/**
 * What counts as known to an identity's peer group. For an identity judged against itself, its peers'
 * word counts only from members judged against themselves too (mature), and from two of them (the one
 * other, in a pair). An identity can learn anything where nobody judges it (new, under a `service.name`
 * of its own, since the sender sets that) and then join the group with it; taken as the group's, its
 * items would quiet the group's alerts, and two such throw-away identities made any quorum (review19
 * F10). A new instance, judged against its peers, may do what any one of them does: it is often the
 * redeployment of the one member that held a role.
 */
import type { BaselineView } from './types.js';

const QUORUM = 2;

/**
 * `quorum`: mature peers needed; by default two, or the one other in a pair. A sensitive flow asks for
 * two whatever the group's size (`FLOW_QUORUM`): one other member is not enough to excuse a secret
 * leaving for an outside host.
 */
export function knownToPeers(view: BaselineView, key: string, quorum = Math.min(QUORUM, view.peerGroupSize - 1)): boolean {
  const peers = view.peers(key);
  return peers > 0 && (view.phase === 'peer' || view.maturePeers(key) >= quorum);
}

export const FLOW_QUORUM = QUORUM;

/**
 * "2 of its peers (0 of them established)": who in the group knows an item that is not the group's.
 * Members still judged against the group (new) are named apart, or "only 2" would read as a quorum.
 */
function fewPeers(view: BaselineView, key: string): string {
  const peers = view.peers(key);
  const mature = view.maturePeers(key);
  return `${peers} of its peers${mature < peers ? ` (${mature} of them established)` : ''}`;
}

/** How the peers' use of an item reads after "it never did this", when it did not make it the group's. */
export function peersNote(view: BaselineView, key: string): string {
  return view.peers(key) === 0 ? 'nor did its peers' : `and only ${fewPeers(view, key)} did, not enough to make it the group's`;
}

/**
 * The same as a sentence of its own. "Learned", not "use": a peer's use that raised an alert, or is held,
 * is not learned, and "none of its peers use it" read false beside it (review27 H3).
 */
export function peersSentence(view: BaselineView, key: string): string {
  return view.peers(key) === 0 ? 'None of its peers have learned it either.' : `Only ${peersHaveLearned(view, key)} it, not enough to make it the group's.`;
}

/** "1 of its peers has learned", "3 of its peers (1 of them established) have learned". */
export function peersHaveLearned(view: BaselineView, key: string): string {
  return `${fewPeers(view, key)} ${view.peers(key) === 1 ? 'has' : 'have'} learned`;
}
