/**
 * Flows judged as the task owner's when the task's parts came out of order (exports in another order
 * than the work): a callee's sends found before the hop that makes them its caller's, and sensitive reads
 * that arrive after the sends they came before. Also lateral_chaining's sensitive-flow rule on its own,
 * which the engine uses for a delegated actor's own reads and for an identity still learning.
 */
import type { BaselineSettings, IdentityBaseline } from '../../baselines/identity.js';
import type { PeerGroupBaseline } from '../../baselines/peer-group.js';
import type { BaselineStore } from '../../baselines/store.js';
import { flowWhileLearning, lateralChaining } from '../../detectors/lateral-chaining.js';
import { scopeItems } from '../../detectors/scope-drift.js';
import type { BaselineView, Finding, SensitiveRead, StepContext } from '../../detectors/types.js';
import { madeInTrace, type Action } from '../actions/types.js';
import type { Config } from '../config/schema.js';
import type { BaselineLearning } from './learning.js';
import { NO_FINDINGS, type Reported } from './merge.js';
import { NO_COUNTS } from './read-volume.js';
import { UnownedEgress } from './unowned-egress.js';
import { makeView, phaseOf } from './view.js';
import type { IdentityWindows } from './windows.js';

export class TaskFlows {
  /** A callee's external sends not yet known to be another identity's task (`foundHop` takes them). */
  readonly unowned = new UnownedEgress();
  /** Flows found when a sensitive read came after its sends (`judgeSendsAfter`), for the engine to report. */
  readonly lateFlows: Reported[] = [];

  constructor(
    private readonly baselines: BaselineStore,
    private readonly windows: IdentityWindows,
    private readonly learning: BaselineLearning,
    private readonly config: Config,
    private readonly settings: BaselineSettings,
    /** lateral_chaining is enabled. */
    private readonly lateral: boolean,
  ) {}

  /**
   * A delegation whose callee's work came first (review31 F3, review32 H1): its external sends judged as
   * the callee's flow are judged again as the task owner's (the hop's caller, else the hop's identity:
   * `report`), against the owner's sensitive reads in the task; learned as the owner's flow when they
   * raise nothing. (Its steps join the owner's chain in TraceSteps, judged with the hop.)
   */
  foundHop(hop: Action, report: (findings: readonly Reported[], egress: Action) => void): void {
    const owner = hop.caller ?? hop.identity;
    this.adoptReads(hop, owner);
    const egress = this.unowned.takeOwnedByCallee(hop);
    if (egress.length === 0) return;
    const b = this.baselines.known(owner);
    if (!b) return;
    // Judged on the callee's clock; the caller's is the task's, which its reads were stamped by (review32 M2).
    const shift = hop.calleeClockShiftMs ?? 0;
    for (const taken of egress) {
      const e = shift === 0 ? taken : { ...taken, time: taken.time + shift, endTime: taken.endTime + shift };
      report(this.judgeAsOwners(b, e), e);
      this.unowned.remember(e, owner); // for a hop into the owner in turn, its caller's spans still to come
    }
  }

  /**
   * A sensitive read that arrived after external sends it came before (review37 F2: exports in another
   * order): each such send is judged now as `owner`'s flow from this read, as it would have been in order,
   * and learned as its flow when it raises nothing. The findings wait in `lateFlows` for the engine to report.
   */
  judgeSendsAfter(read: SensitiveRead, w: ReturnType<IdentityWindows['of']>, owner: string): void {
    const sends = w.sendsAfter(read);
    if (sends.length === 0) return;
    const b = this.baselines.known(owner);
    if (!b) return;
    const view = this.lateral ? this.viewOf(owner, read.time) : undefined;
    for (const e of sends) {
      const f = view === undefined ? null : this.flowFinding(e, owner, view, [read]);
      if (f === null) this.learning.flows(b, e, [read]);
      else this.lateFlows.push({ f, action: e.identity === owner ? e : { ...e, identity: owner, peerGroup: b.peerGroup, credential: null }, identity: owner });
    }
  }

  /**
   * The callee's sensitive reads in the hop's task, taken as its own when its spans came first, are the
   * owner's too (review39 H4: an MCP server's SELECT for the agent, then the agent's paste): added to the
   * owner's reads, on the owner's clock, and the owner's sends after them judged (`judgeSendsAfter`).
   */
  private adoptReads(hop: Action, owner: string): void {
    const reads = this.windows.peek(hop.target)?.reads.ofTask(madeInTrace(hop));
    if (reads === undefined || reads.length === 0 || hop.target === owner) return;
    const w = this.windows.of(owner);
    const shift = hop.calleeClockShiftMs ?? 0;
    for (const r of reads) {
      const read = shift === 0 ? r : { ...r, time: r.time + shift };
      w.reads.add(read);
      this.judgeSendsAfter(read, w, owner);
    }
  }

  /** `egress`, judged as the flow of the task owner `b`: against its sensitive reads in the task. */
  private judgeAsOwners(b: IdentityBaseline, egress: Action): readonly Reported[] {
    const reads = this.windows.of(b.identity).reads.before(egress.time, madeInTrace(egress));
    if (reads.length === 0) return NO_FINDINGS;
    const view = this.lateral ? this.viewOf(b.identity, egress.time) : undefined;
    const f = view === undefined ? null : this.flowFinding(egress, b.identity, view, reads);
    if (f === null) {
      this.learning.flows(b, egress, reads);
      return NO_FINDINGS;
    }
    return [{ f, action: { ...egress, identity: b.identity, peerGroup: b.peerGroup, credential: null }, identity: b.identity }];
  }

  /** An identity not judged yet (its group still learning): a sensitive flow its group never showed is recorded at low. */
  flowWhileLearning(a: Action, b: IdentityBaseline, group: PeerGroupBaseline, reads: readonly SensitiveRead[]): Reported[] | null {
    if (!this.lateral) return null;
    const view = makeView(b, group, 'own', a.time, this.settings);
    const flow = this.flowFinding(a, a.identity, view, reads);
    const f = flow && flowWhileLearning(flow, view);
    return f ? [{ f, action: a, identity: a.identity }] : null;
  }

  /**
   * lateral_chaining's sensitive-flow rule alone: `egress` as a flow of `owner`'s, against `reads` (a step
   * with no name, so no transition is judged: the chain is judged, or learned, in its own place).
   */
  flowFinding(egress: Action, owner: string, view: BaselineView, reads: readonly SensitiveRead[]): Finding | null {
    const step: StepContext = { name: null, zones: [], previous: null, owner, within: null };
    const retry = this.windows.of(egress.identity).retry; // not read by the rule, but part of every input
    return lateralChaining.evaluate({ action: egress, scope: scopeItems(egress), now: egress.time, view, step, sensitiveReads: reads, readVolume: NO_COUNTS, window: retry.short, sustainedWindow: retry.sustained, config: this.config });
  }

  viewOf(identity: string, time: number): BaselineView | undefined {
    const b = this.baselines.known(identity);
    if (!b) return undefined;
    const group = this.baselines.group(b.peerGroup);
    const phase = phaseOf(b, group, this.settings);
    return phase ? makeView(b, group, phase, time, this.settings) : undefined;
  }
}
