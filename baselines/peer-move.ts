import type { IdentityBaseline } from './identity.js';

/**
 * An identity moves to another peer group once, in event time, its actions have named only that group
 * for this long and this many times: a renamed service moves its identities within minutes, while one
 * identity shared by two services (each naming its own group) stays where it is, instead of moving
 * (a pass over all it learned) every time the other service acts.
 */
export const MOVE_AFTER_MS = 10 * 60_000;
export const MOVE_AFTER_ACTIONS = 8;

/** Whether `b`, in another group (or none yet), has now named only `peerGroup` long enough to move there. */
export function movesTo(b: IdentityBaseline, peerGroup: string, time: number): boolean {
  if (b.peerGroup === '') return true;
  if (time <= b.ownGroupSeen) return false; // its own group was named later in event time
  let c = b.groupCandidate;
  if (c === null || c.name !== peerGroup) c = b.groupCandidate = { name: peerGroup, first: time, last: time, actions: 0 };
  c.actions++;
  if (time < c.first) c.first = time;
  if (time > c.last) c.last = time;
  return c.actions >= MOVE_AFTER_ACTIONS && c.last - c.first >= MOVE_AFTER_MS;
}
