/** The BaselineView detectors read: one identity's baseline plus its peer group, at an event time. */
import { valueAt } from '../../baselines/decay.js';
import type { BaselineSettings, IdentityBaseline } from '../../baselines/identity.js';
import { SEP } from '../../baselines/keys.js';
import type { PeerGroupBaseline } from '../../baselines/peer-group.js';
import type { BaselineView } from '../../detectors/types.js';

export function makeView(b: IdentityBaseline, g: PeerGroupBaseline, phase: 'own' | 'peer', now: number, s: BaselineSettings): BaselineView {
  return {
    phase,
    actions: b.actions,
    firstSeen: b.firstSeen,
    own: (k) => b.count(k, now, s),
    peers: (k) => Math.max(0, g.users(k) - (b.counters.has(k) ? 1 : 0)),
    peerGroupSize: g.members.size,
    // A new identity's own few actions (perhaps the misbehaviour itself) say nothing of what is usual:
    // until it is judged against itself, its usual outcome is its peer group's.
    outcome: {
      actions: valueAt((phase === 'own' ? b : g).outcome.actions, now, s.halfLifeMs),
      bad: valueAt((phase === 'own' ? b : g).outcome.bad, now, s.halfLifeMs),
    },
    adopters: (k, from, to) => g.adoptersBetween(k, from, to, b.identity),
    top(dimension, n) {
      const prefix = dimension + SEP;
      const items: Array<[string, number]> = [];
      for (const [k, c] of b.counters) {
        if (k.startsWith(prefix)) items.push([k.slice(prefix.length), valueAt(c, now, s.halfLifeMs)]);
      }
      return items.sort((x, y) => y[1] - x[1]).slice(0, n);
    },
  };
}
