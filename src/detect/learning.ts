/**
 * What the engine teaches baselines, once an action has been judged and raised no alert (STYLE habit 3):
 * its identity its scope items, access classes, outcome and failures per subject; its peer group its
 * outcome; the trace owner its chain (transitions and the sensitive flows the action completes). And the
 * two counts learned outside that order: a source's last hour of sensitive reads as its peak, and the
 * failures a raised storm takes back.
 */
import type { BaselineStore } from '../../baselines/store.js';
import type { BaselineSettings, IdentityBaseline } from '../../baselines/identity.js';
import type { PeerGroupBaseline } from '../../baselines/peer-group.js';
import { crossFlowKey, failuresKey, flowKey, key, peakKey, raisedBulkKey, transitionKey } from '../../baselines/keys.js';
import type { ScopeItem, SensitiveRead, StepContext } from '../../detectors/types.js';
import { BULK_FACTOR, BULK_MIN } from '../../detectors/scope-drift.js';
import { accessKeys } from '../../detectors/unexpected-write.js';
import { madeInSpan, madeInTrace, type Action } from '../actions/types.js';
import type { ReadCount, ReadVolume } from './read-volume.js';
import type { RetryWindows } from './windows.js';

export class BaselineLearning {
  constructor(
    private readonly baselines: BaselineStore,
    private readonly settings: BaselineSettings,
  ) {}

  /**
   * What an action that raised no alert teaches. `subjectAsKey`: its retry_storm subject as a baseline key;
   * `sensitiveReads`: the trace owner's reads before it (egress only); `actorReads`: its own, when delegated.
   */
  action(
    a: Action,
    b: IdentityBaseline,
    group: PeerGroupBaseline,
    step: StepContext,
    scope: readonly ScopeItem[],
    subjectAsKey: string | null,
    sensitiveReads: readonly SensitiveRead[],
    actorReads: readonly SensitiveRead[],
  ): void {
    const bad = a.failed || a.retry;
    for (const it of scope) this.key(b, it.key, a.time);
    for (const k of accessKeys(a)) this.key(b, k, a.time);
    b.learnOutcome(a.time, bad, this.settings);
    // Failures per tool or target (its uses are its scope item), for retry_storm's judgement of a subject.
    if (bad && subjectAsKey !== null) this.key(b, failuresKey(subjectAsKey), a.time);
    group.learnOutcome(a.time, bad, this.settings.halfLifeMs);
    // Transitions and flows belong to the trace owner: its chain is judged by what it has learned.
    const owner = step.owner === a.identity ? b : this.baselines.known(step.owner);
    if (owner) {
      if (step.name && step.previous) this.transition(owner, step.previous.name, step.name, a.time);
      // Transitions judged with it (a late step's way out, a hop's adopted chain): learned as their later
      // steps would have learned them, unless that step raised.
      for (const [from, to] of step.transitions ?? []) if (to.learned) this.transition(owner, from.name, to.name, a.time);
      this.flows(owner, a, sensitiveReads);
    }
    this.flows(b, a, actorReads);
  }

  /** Only the access classes of `a` (a tool's later class: `Action.classOnly`). */
  access(a: Action, b: IdentityBaseline): void {
    for (const k of accessKeys(a)) this.key(b, k, a.time);
  }

  /** The owner's chain steps from `from` to `to`. */
  transition(owner: IdentityBaseline, from: string, to: string, time: number): void {
    this.key(owner, transitionKey(from, to), time);
    this.key(owner, key('from', from), time);
  }

  /** The sensitive flows egress `a` completes: within its task a flow, from another task only an `xflow`. */
  flows(b: IdentityBaseline, a: Action, reads: readonly SensitiveRead[]): void {
    if (reads.length === 0) return;
    const task = madeInTrace(a);
    for (const r of reads) if (r.time <= a.time) this.key(b, r.task === task ? flowKey(r.target, a.host!) : crossFlowKey(r.target, a.host!), a.time);
  }

  /**
   * Counts a sensitive read towards its source's hour and its identity's (the tool it was made in, else
   * its target, is the source), learning an hour it settles as that source's peak, or, if the hour raised
   * a bulk read, as its largest raised hour (whole: it is what an operator's allow makes usual).
   */
  readCount(a: Action, b: IdentityBaseline, volume: ReadVolume, step: StepContext, mature: boolean): readonly ReadCount[] {
    const isCall = step.within !== null;
    const settle = (source: string, n: number, raised: boolean) => {
      if (raised) return b.learnPeak(raisedBulkKey(source), n, a.time, this.settings, Infinity);
      this.learnPeak(b, source, n, a.time, mature);
    };
    return volume.count(step.within ?? a.target, isCall ? madeInSpan(a) : a.spanId, isCall, a.time, settle);
  }

  /**
   * A settled hour of `n` reads of `source` becomes part of its peak. A mature identity's peak is its
   * group's too (the largest of them). A newcomer's first peak is at most twice its group's, or 10: its
   * hours were judged against the group's peak, and 10 times it would have passed (review33 M2).
   */
  private learnPeak(b: IdentityBaseline, source: string, n: number, time: number, mature: boolean): void {
    const k = peakKey(source);
    const group = this.baselines.group(b.peerGroup);
    const { halfLifeMs } = this.settings;
    const first = !mature && !b.counters.has(k);
    b.learnPeak(k, first ? Math.min(n, Math.max(BULK_MIN / BULK_FACTOR, 2 * group.readPeaks.value(source, time, halfLifeMs))) : n, time, this.settings);
    if (mature) group.learnReadPeak(source, b.count(k, time, this.settings), time, halfLifeMs);
  }

  /**
   * A storm raised: the failures + retries of its window learned before it was one leave the identity's
   * and its group's baselines (else each storm of a loop just under the thresholds raised the usual share
   * its next one is judged against: review31 F7); only `subject`'s, when it was judged on that subject.
   */
  takeBackStorm(b: IdentityBaseline, group: PeerGroupBaseline, retry: RetryWindows, time: number, subject: string | null): void {
    const learned = retry.forgetLearnedFailures(subject);
    if (learned.all === 0) return;
    b.takeBackFailures(time, learned.all, learned.bySubject, this.settings);
    group.takeBackFailures(time, learned.all, this.settings.halfLifeMs);
  }

  /**
   * Learns one item into `b`; an item new to `b` is news to its peer group too (users, rollout
   * evidence). One key at a time, so the hot path builds no array of keys per action.
   */
  key(b: IdentityBaseline, k: string, time: number): void {
    if (b.learnOne(k, time, this.settings)) this.baselines.group(b.peerGroup).learned(b.identity, k, time);
  }
}
