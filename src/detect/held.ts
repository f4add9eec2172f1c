/**
 * What becomes of a held scope_drift finding when its hold (`rolloutGrace`) ends: the item it found new
 * is judged again against what the identity's peer group did meanwhile.
 */
import type { PeerGroupBaseline } from '../../baselines/peer-group.js';
import { EXTERNAL_ZONE } from '../actions/zones.js';
import type { HeldFinding } from '../alerts/manager.js';
import type { Config } from '../config/schema.js';

export interface HeldDecision {
  /** The alert to raise (the finding as held, or lowered), or null. */
  raise: HeldFinding | null;
  /** The identity learns the item (a rollout). */
  learn: boolean;
}

/**
 * Dropped (and learned) when enough peers adopted the item within the hold (a rollout), raised at low
 * severity when some did, else raised as found. (An operator's allow ends the hold at once: engine.ts.)
 * That the identity knows the item by now says nothing: its own uses during the hold, once the rollout
 * was under way, taught it.
 */
export function decideHeld(h: HeldFinding, group: PeerGroupBaseline, sd: Config['detectors']['scope_drift']): HeldDecision {
  const threshold = Math.max(2, Math.ceil(sd.rolloutShare * (group.members.size - 1)));
  const adopters = group.adoptersBetween(h.finding.rolloutKey!, h.action.time - sd.rolloutWindow, h.finding.holdUntil!, h.identity);
  const note = ` ${adopters} other identit${adopters === 1 ? 'y' : 'ies'} of its peer group started using it within the hold.`;
  const low: HeldFinding = { ...h, finding: { ...h.finding, severity: 'low', explanation: h.finding.explanation + note } };
  if (adopters >= threshold) {
    // A new external destination is learned as a rollout too, but never silently: the same prompt
    // injection reaching several instances at once looks just like a rollout.
    const external = h.action.zone === EXTERNAL_ZONE && h.finding.subject.startsWith('host:');
    return { raise: external ? low : null, learn: true };
  }
  // Peers started using it too, just not enough of them yet: more likely a change being rolled out than
  // one identity drifting. Still worth a look, at the lowest severity.
  return { raise: adopters > 0 ? low : h, learn: false };
}
