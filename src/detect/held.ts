/**
 * What becomes of a held finding (scope_drift's new item, unexpected_write's new write, lateral_chaining's
 * chain into a new step) when its hold (`rolloutGrace`) ends: its rollout key is judged again against what
 * the identity's peer group did meanwhile.
 */
import { key, type DimensionItem } from '../../baselines/keys.js';
import type { PeerGroupBaseline } from '../../baselines/peer-group.js';
import type { Finding } from '../../detectors/types.js';
import { raisedDespiteRollout, rolloutThreshold } from '../../detectors/scope-drift.js';
import type { HeldFinding } from '../alerts/held-finding.js';
import type { Config } from '../config/schema.js';

/** The surprise of a finding lowered to low because peers took up its item (as scope_drift scores one its peers know). */
const LOW_SURPRISE = 0.3;

export interface HeldDecision {
  /** The alert to raise (the finding as held, or lowered), or null. */
  raise: HeldFinding | null;
  /** The identity learns the item (a rollout). */
  learn: boolean;
}

/**
 * Dropped (and learned) when enough peers adopted the item within the hold (a rollout), raised at low
 * severity when some did, else raised as found. (An operator's allow ends the hold at once: operator.ts.)
 * That the identity knows the item by now says nothing: its own uses during the hold, once the rollout
 * was under way, taught it.
 */
export function decideHeld(h: HeldFinding, group: PeerGroupBaseline, sd: Config['detectors']['scope_drift']): HeldDecision {
  // A mature member's new item is explained by its mature peers alone, as when it was found.
  const established = h.finding.details.phase === 'own';
  const adopters = group.rolloutAdopters(h.finding.rolloutKey!, h.action.time - sd.rolloutWindow, h.finding.holdUntil!, h.identity, established);
  const note = ` ${adopters} other identit${adopters === 1 ? 'y' : 'ies'} of its peer group started using it within the hold.`;
  // Lowered, it scores as a peer-known item does: its surprise is in question now (review27 M4).
  const low: HeldFinding = { ...h, finding: { ...h.finding, severity: 'low', surprise: Math.min(h.finding.surprise, LOW_SURPRISE), explanation: h.finding.explanation + note } };
  if (adopters >= rolloutThreshold(sd.rolloutShare, group.rolloutPopulation(established))) {
    const dimension = h.finding.subject.slice(0, h.finding.subject.indexOf(':'));
    return { raise: h.finding.detector === 'scope_drift' && raisedDespiteRollout(dimension) ? low : null, learn: true };
  }
  // Peers started using it too, just not enough of them yet: more likely a change being rolled out than
  // one identity drifting. Still worth a look, at the lowest severity.
  return { raise: adopters > 0 ? low : h, learn: false };
}

/**
 * What a finding dropped as part of a rollout teaches: its rollout key, and what an operator's allow of
 * it would (every new item of a scope_drift finding, the chain or write it names). Its rollout key alone
 * left a new tool unlearned when the step's host led the finding, so it was raised once the rollout
 * window passed (review34 F2).
 */
export function rolloutKeys(f: Finding): string[] {
  const { newItems = [], allow = [] } = f.details as { newItems?: DimensionItem[]; allow?: DimensionItem[] };
  return [...new Set([f.rolloutKey!, ...[...newItems, ...allow].map((i) => key(i.dimension, i.item))])];
}
