/** A finding the alert manager holds back (a rollout grace, a store refusing writes) and the repeats it gathers meanwhile. */
import type { Finding } from '../../detectors/types.js';
import type { Action } from '../actions/types.js';

/** A finding waiting for its hold to end (scope_drift's rollout grace), or for the store to take writes. */
export interface HeldFinding {
  finding: Finding;
  action: Action;
  identity: string;
  count: number;
  lastEventTime: number;
  /**
   * Wall time it was held at (ms): serving, a hold also ends once as long has passed in wall time, for an
   * identity whose event time stopped moving. Absent in rows held by an earlier version (ended then at once).
   */
  heldAtWall?: number;
  /**
   * Repeats that carried another credential while it waited, one entry per credential (its first repeat,
   * and its uses, not in `count`). Decided as the finding is raised, in the same transaction: a
   * credential that a rule would revoke anew gets an alert of its own, as a repeat of a raised alert does
   * (`newCredential`); the uses of any other fold into the raised alert.
   */
  others?: WaitingCredential[];
}

export interface WaitingCredential {
  finding: Finding;
  action: Action;
  count: number;
  lastEventTime: number;
}

/**
 * Other credentials told apart per waiting finding (an agent refreshing its token every few minutes
 * while a finding is held for hours). Past this, repeats count on the finding itself, and their
 * credentials get no alert of their own.
 */
const MAX_OTHER_CREDENTIALS = 64;

/** Where a waiting finding counts a repeat: on its credential's own entry when it carries another one. */
export function usesOf(waiting: HeldFinding, finding: Finding, action: Action): HeldFinding | WaitingCredential {
  const id = action.credential?.id;
  if (id === undefined || id === waiting.action.credential?.id) return waiting;
  const others = (waiting.others ??= []);
  const known = others.find((o) => o.action.credential?.id === id);
  if (known !== undefined) return known;
  if (others.length >= MAX_OTHER_CREDENTIALS) return waiting;
  const entry: WaitingCredential = { finding, action, count: 0, lastEventTime: action.time };
  others.push(entry);
  return entry;
}

/** A held finding as stored: one saved before the alert score had severity bands names its surprise `score`. */
export function restoreHeld(body: string): HeldFinding {
  const held = JSON.parse(body) as HeldFinding;
  for (const f of [held.finding, ...(held.others ?? []).map((o) => o.finding)]) f.surprise ??= (f as { score?: number }).score ?? 0.5;
  return held;
}
