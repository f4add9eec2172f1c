/** The BaselineView detectors read: one identity's baseline plus its peer group, at an event time. */
import { valueAt } from '../../baselines/decay.js';
import type { BaselineSettings, IdentityBaseline } from '../../baselines/identity.js';
import { SEP } from '../../baselines/keys.js';
import type { PeerGroupBaseline } from '../../baselines/peer-group.js';
import type { BaselineView } from '../../detectors/types.js';

/**
 * How long after a baseline began counting failures per subject (an upgrade from a version that did not)
 * its subjects' failure shares are trusted: by then the uses it learned before weigh an eighth of what
 * they did, and no longer make a flaky target look as if it never failed (review26 H1).
 */
const UNCOUNTED_HALF_LIVES = 3;

/**
 * One view per judged action: a class instance rather than an object of closures, so making one is a
 * single allocation on the hot path (the methods live on the prototype).
 */
class View implements BaselineView {
  readonly actions: number;
  readonly firstSeen: number;
  readonly evidence: number;
  readonly peerGroupSize: number;
  readonly rolloutPopulation: number;
  readonly failuresBySubject: boolean;

  constructor(
    private readonly b: IdentityBaseline,
    private readonly g: PeerGroupBaseline,
    readonly phase: 'own' | 'peer',
    private readonly now: number,
    private readonly s: BaselineSettings,
  ) {
    this.actions = b.actions;
    this.firstSeen = b.firstSeen;
    this.evidence = phase === 'own' ? b.actions : g.history.actions;
    this.peerGroupSize = g.members.size;
    this.rolloutPopulation = g.rolloutPopulation(phase === 'own');
    this.failuresBySubject = b.subjectFailuresFrom <= now - UNCOUNTED_HALF_LIVES * s.halfLifeMs;
  }

  own(k: string): number {
    return this.b.count(k, this.now, this.s);
  }

  peers(k: string): number {
    return Math.max(0, this.g.users(k) - (this.b.counters.has(k) ? 1 : 0));
  }

  maturePeers(k: string): number {
    return this.g.matureAdopters(k, this.b.identity);
  }

  /**
   * A new identity's own few actions (perhaps the misbehaviour itself) say nothing of what is usual:
   * until it is judged against itself, its usual outcome is its peer group's. Computed when read (only
   * retry_storm reads it, on failed or retried actions); nothing changes the baseline while detectors run.
   */
  get outcome(): { actions: number; bad: number } {
    const o = (this.phase === 'own' ? this.b : this.g).outcome;
    return { actions: valueAt(o.actions, this.now, this.s.halfLifeMs), bad: valueAt(o.bad, this.now, this.s.halfLifeMs) };
  }

  peerReadPeak(source: string): number {
    return this.g.readPeaks.value(source, this.now, this.s.halfLifeMs);
  }

  adopters(k: string, from: number, to: number): number {
    return this.g.rolloutAdopters(k, from, to, this.b.identity, this.phase === 'own');
  }

  firstTried(k: string): number | undefined {
    return this.g.firstTried(k, this.b.identity);
  }

  top(dimension: string, n: number): Array<[string, number]> {
    const prefix = dimension + SEP;
    const items: Array<[string, number]> = [];
    for (const [k, c] of this.b.counters) {
      if (k.startsWith(prefix)) items.push([k.slice(prefix.length), valueAt(c, this.now, this.s.halfLifeMs)]);
    }
    return items.sort((x, y) => y[1] - x[1]).slice(0, n);
  }
}

export function makeView(b: IdentityBaseline, g: PeerGroupBaseline, phase: 'own' | 'peer', now: number, s: BaselineSettings): BaselineView {
  return new View(b, g, phase, now, s);
}

/** Judged against itself, against its peer group while new, or not yet at all (a group still learning). */
export function phaseOf(b: IdentityBaseline, group: PeerGroupBaseline, s: BaselineSettings): 'own' | 'peer' | null {
  return b.isMature(s) ? 'own' : group.hasBaseline(s, b.identity) ? 'peer' : null;
}
