/**
 * The detection engine: for each action, in order — place it in its trace (steps), look up its baseline,
 * judge it with every enabled detector, route findings to the alert manager, then learn from it.
 *
 * Learn after judging, and never learn what raised an alert (STYLE habit 3): an attacker cannot teach the
 * baseline their behaviour by repeating it. A new item becomes normal only through use that raised no
 * alert, a peer rollout, or an operator's allow (operator.ts, which also resets and shows a baseline).
 */
import { BaselineStore } from '../../baselines/store.js';
import type { BaselineSettings, IdentityBaseline } from '../../baselines/identity.js';
import type { PeerGroupBaseline } from '../../baselines/peer-group.js';
import { DETECTORS } from '../../detectors/index.js';
import { isEgress, lateralChaining, transitionsWith } from '../../detectors/lateral-chaining.js';
import { subjectKey } from '../../detectors/retry-storm.js';
import { scopeItems } from '../../detectors/scope-drift.js';
import { unexpectedWrite, writeSubjectKeys } from '../../detectors/unexpected-write.js';
import type { BaselineView, DetectorInput, Finding, ScopeItem, SensitiveRead, StepContext } from '../../detectors/types.js';
import { isWrite, madeInSpan, madeInTrace, type Action } from '../actions/types.js';
import type { AlertManager } from '../alerts/manager.js';
import type { Config } from '../config/schema.js';
import type { Stage } from '../stage.js';
import type { Db } from '../store/database.js';
import { CheckpointSchedule } from './checkpoints.js';
import { HeldReleases } from './held-releases.js';
import { mergeFindings, NO_FINDINGS, type Reported } from './merge.js';
import { BaselineLearning } from './learning.js';
import { TraceSteps } from './steps.js';
import { NO_COUNTS, type ReadCount, type ReadVolume } from './read-volume.js';
import { SavedReads } from './saved-reads.js';
import { TaskFlows } from './task-flows.js';
import { makeView, phaseOf } from './view.js';
import { IdentityWindows, type RetryWindows } from './windows.js';

/** A non-egress action's reads: shared, not one per action. Not frozen, like scope-drift's NO_ITEMS. */
const NO_READS: readonly SensitiveRead[] = [];
/** What nearly every step has: no transitions of earlier steps to judge with it (a late step and a hop may). Never added to. */
const NO_TRANSITIONS: readonly ReturnType<typeof transitionsWith>[number][] = [];

/** Idle peer-group members are looked for this often, as a share of `baselines.peerIdleAfter`. */
const IDLE_SCAN_SHARE = 1 / 24;
/** Members that leave per commit at most (each may need its baseline read from SQLite). */
const LEAVES_PER_COMMIT = 1000;

export class DetectionEngine implements Stage {
  readonly baselines: BaselineStore;
  /** How baselines decay and mature; shared with the operator (operator.ts), which allows and shows with the same. */
  readonly settings: BaselineSettings;
  private readonly learning: BaselineLearning;
  private readonly steps = new TraceSteps();
  private readonly flows: TaskFlows;
  private readonly windows: IdentityWindows;
  private readonly enabled;
  /** Newest event time seen: held findings are released against it. */
  private watermark = 0;
  private readonly held: HeldReleases;
  private readonly checkpoints: CheckpointSchedule;
  /** Event time of the last scan for idle members; NaN until the first. */
  private idleScanAt = Number.NaN;
  private idleLeft = false;
  late = 0;
  /** Told how many peer-group members left early for `baselines.maxPeerMembers`/`maxPeerGroups` (metrics, a warning). */
  onMembersEvicted: (n: number) => void = () => {};

  constructor(
    db: Db,
    private readonly config: Config,
    private readonly alerts: AlertManager,
    /** Schedules checkpoints and, serving, ends holds (HeldReleases); detection itself runs in event time. */
    private readonly wallClock: () => number = Date.now,
    /**
     * Serving: held findings are also released by the wall clock (`beforeCommit`), so an identity or a
     * stream gone quiet has them decided. Replay must not do this.
     */
    live = false,
  ) {
    const b = config.baselines;
    this.settings = { halfLifeMs: b.halfLife, minActions: b.minActions, minAgeMs: b.minAge, forgetBelow: 0.05, firstSeenBackMs: config.time.lateness };
    this.baselines = new BaselineStore(db, b.maxHotIdentities, this.settings, { maxMembers: b.maxPeerMembers, maxGroups: b.maxPeerGroups });
    this.learning = new BaselineLearning(this.baselines, this.settings);
    this.checkpoints = new CheckpointSchedule(this.baselines, b.checkpointInterval, config.storage.flushInterval);
    this.enabled = DETECTORS.filter((d) => config.detectors[d.id].enabled);
    this.windows = new IdentityWindows(config.detectors.retry_storm, config.detectors.lateral_chaining.window, new SavedReads(db));
    this.flows = new TaskFlows(this.baselines, this.windows, this.learning, config, this.settings, this.enabled.includes(lateralChaining));
    this.held = new HeldReleases(alerts, this.baselines, this.learning, config, wallClock, live);
  }

  /**
   * The pipeline stage: judges and learns every action of a batch, in order. A tool call and the calls it
   * made are one step to an analyst, so their findings of one detector merge into one (the most severe
   * leads) before they reach the alert manager.
   */
  process(actions: readonly Action[]): void {
    this.held.batchJudged();
    const steps = this.steps.annotate(actions);
    const merged = new Map<string, Reported>();
    const add = (findings: readonly Reported[], a: Action, inTool: boolean) => {
      // A call made inside a tool (context repair may have found that tool in another trace) merges
      // into the tool's step.
      const stepSpan = inTool ? madeInSpan(a) : a.spanId;
      const traceId = inTool ? madeInTrace(a) : a.traceId;
      for (const r of findings) {
        const k = `${traceId}/${stepSpan}/${r.f.detector}/${r.identity}/${r.apart ?? ''}`;
        const earlier = merged.get(k);
        merged.set(k, earlier ? mergeFindings(earlier, r) : r);
      }
    };
    let hops: Action[] | null = null;
    for (let i = 0; i < actions.length; i++) {
      const a = actions[i];
      const step = steps[i];
      if (a.classOnly) add(this.processClass(a, step), a, false);
      else add(this.processOne(a, step), a, step.name === null && a.kind !== 'model');
      if (a.kind === 'delegation') (hops ??= []).push(a);
    }
    // After the whole batch: the caller's sensitive reads that came with the hop are in its windows by now.
    if (hops !== null) for (const hop of hops) this.flows.foundHop(hop, (findings, e) => add(findings, e, true));
    // Sends judged again when a late read (or a hop's reads) came: merged like any finding of their step.
    for (const r of this.flows.lateFlows) add([r], r.action, true);
    this.flows.lateFlows.length = 0;
    for (const r of merged.values()) {
      // Holds that ended before this finding's event time are decided first (a batch can span hours in
      // a replay): a repeat after the hold then meets the alert raised, folding into it only within its
      // suppression window, and a held alert is raised before findings made after its hold ended.
      this.held.dueBy(r.action.time);
      this.alerts.report(r.f, r.action, r.identity);
    }
    this.held.dueBy(this.watermark);
  }

  /**
   * One action: placed in its identity's baseline and windows, judged, then learned — or, when it raised
   * an alert, only remembered as rollout evidence (STYLE habit 3: what raised an alert is not learned).
   */
  private processOne(named: Action, step: StepContext): readonly Reported[] {
    const b = this.baselines.identity(named.identity, named.peerGroup, named.time);
    const group = this.baselines.joinGroup(named.peerGroup, b, named.time);
    // Judged, explained, alerted and held as a member of the group it is in (joinGroup: an action may
    // name another group for a while before the identity moves there).
    const a = named.peerGroup === b.peerGroup ? named : { ...named, peerGroup: b.peerGroup };
    const late = a.time < b.lastSeen - this.config.time.lateness;
    if (late) this.late++;
    b.observe(a.time, this.settings.firstSeenBackMs);
    if (a.time > this.watermark) this.watermark = a.time;
    if (b.isMature(this.settings)) group.markMature(a.identity);
    const phase = this.phaseOf(b, group);

    const scope = scopeItems(a);
    const own = this.windows.of(a.identity);
    const bad = a.failed || a.retry;
    // Late actions have retry windows of their own, in their own event time (IdentityWindows.lateRetry). A subject
    // is counted by its baseline key, by which retry_storm finds its usual share.
    const subjectAsKey = subjectKey(a, scope);
    const subject = subjectAsKey ?? a.target;
    // (One still inside the live sustained window counts there too: RetryWindows.add.)
    const retry = (late ? this.windows.lateRetry(a.identity, own) : own.retry).add(a.time, bad, subject);
    const ownerWindows = step.owner === a.identity ? own : this.windows.of(step.owner);
    const ownerReads = ownerWindows.reads;
    const task = madeInTrace(a);
    const sensitiveReads = isEgress(a) ? ownerReads.before(a.time, task) : NO_READS;
    const delegated = step.owner !== a.identity;
    // A delegated egress is the owner's flow; with the actor's own sensitive reads it is the actor's too (an
    // MCP server sending its own secret out in a caller's request, review20 F20): judged, learned as its.
    const actorReads = delegated && isEgress(a) ? own.reads.before(a.time, task) : NO_READS;
    const readVolume = a.sensitive && !isWrite(a.access) ? this.learning.readCount(a, b, own.readVolume(), step, phase === 'own') : NO_COUNTS;

    const findings = phase || delegated
      ? this.judge(a, b, group, phase, step, scope, retry, sensitiveReads, actorReads, readVolume)
      : sensitiveReads.length > 0 ? this.flows.flowWhileLearning(a, b, group, sensitiveReads) : null;
    if (readVolume.length > 0 && findings !== null) {
      for (const r of findings) if (r.f.details.rule === 'bulk_read') own.readVolume().alerted(r.f.details.source as string, Date.parse(r.f.details.since as string));
    }

    const storm = findings?.find((r) => r.f.detector === 'retry_storm');
    const stormRaised = storm !== undefined;
    if (stormRaised) retry.raisedStorm(a.time, subject, storm.f);
    if (findings === null || findings.every((r) => r.f.learn)) {
      // (A finding raised only for the record, as part of a rollout, does not keep it from being learned.)
      this.learning.action(a, b, group, step, scope, subjectAsKey, sensitiveReads, actorReads);
    } else {
      // Rollout evidence: this identity tried these items, even though nothing it did here is learned.
      for (const it of scope) group.attempted(a.identity, it.key, a.time);
      // A first write on a subject is rollout evidence too (unexpected_write holds one for a rollout).
      if (isWrite(a.access)) for (const k of writeSubjectKeys(a)) group.attempted(a.identity, k, a.time);
      retry.unlearned(a.time, bad, subject, stormRaised);
      if (step.name !== null) this.steps.notLearned(a);
      if (stormRaised) this.learning.takeBackStorm(b, group, retry, a.time, storm.f.details.judged === 'subject' ? subject : null);
    }
    if (isEgress(a)) {
      this.flows.unowned.remember(a, step.owner);
      ownerWindows.egress().add(a);
    }
    if (a.sensitive) {
      const stepSpanId = step.within === null ? null : madeInSpan(a);
      const read: SensitiveRead = { target: step.within ?? a.target, time: a.time, traceId: a.traceId, task, spanId: a.spanId, stepSpanId };
      ownerReads.add(read);
      this.flows.judgeSendsAfter(read, ownerWindows, step.owner);
    }
    return findings ?? NO_FINDINGS;
  }

  /**
   * A tool's class learned after the tool was judged (`Action.classOnly`: an MCP server's delete exported
   * after the agent's `tools/call`, a tool's call in a later export): judged by unexpected_write alone, as
   * the tool with that class would have been, and only that access is learned (the call was counted when
   * it came).
   */
  private processClass(named: Action, step: StepContext): readonly Reported[] {
    const b = this.baselines.identity(named.identity, named.peerGroup, named.time);
    const group = this.baselines.joinGroup(named.peerGroup, b, named.time);
    const a = named.peerGroup === b.peerGroup ? named : { ...named, peerGroup: b.peerGroup };
    const phase = this.phaseOf(b, group);
    let f: Finding | null = null;
    if (phase && this.enabled.includes(unexpectedWrite)) {
      const retry = this.windows.of(a.identity).retry;
      const view = makeView(b, group, phase, a.time, this.settings);
      f = unexpectedWrite.evaluate({
        action: a, scope: scopeItems(a), now: a.time, view, step, sensitiveReads: NO_READS, readVolume: NO_COUNTS,
        window: retry.short, sustainedWindow: retry.sustained, config: this.config,
      });
    }
    if (f === null || f.learn) this.learning.access(a, b);
    else for (const k of writeSubjectKeys(a)) group.attempted(a.identity, k, a.time);
    // Another identity's credential did it, not the tool's (unexpected_write's accessBy rule).
    return f === null ? NO_FINDINGS : [{ f, action: a.accessBy ? { ...a, credential: null } : a, identity: a.identity }];
  }

  /**
   * Every enabled detector's verdict on `a`, against its own baseline view (`phase`) or, for a delegated
   * step's chain, the trace owner's; null when none found anything (nearly every action).
   */
  private judge(
    a: Action,
    b: IdentityBaseline,
    group: PeerGroupBaseline,
    phase: 'own' | 'peer' | null,
    step: StepContext,
    scope: readonly ScopeItem[],
    retry: RetryWindows,
    sensitiveReads: readonly SensitiveRead[],
    actorReads: readonly SensitiveRead[],
    readVolume: readonly ReadCount[],
  ): Reported[] | null {
    const delegated = step.owner !== a.identity;
    const window = retry.short;
    const sustainedWindow = retry.sustained;
    let findings: Reported[] | null = null; // made at the first finding: nearly every action has none
    const view = phase ? makeView(b, group, phase, a.time, this.settings) : undefined;
    let ownerView: BaselineView | undefined;
    let ownerAction: Action | undefined;
    let delegatedAction: Action | undefined;
    let input: DetectorInput | undefined; // one per action, not per detector
    for (const d of this.enabled) {
      // An action far behind its identity's event time is judged too (else backdating a span would
      // hide it, and it would be learned unjudged), retry storms included (in the late retry windows).
      // Chains are the trace owner's: a delegated step is judged by what the caller has learned,
      // whether or not the callee has a baseline of its own.
      const byOwner = delegated && d.id === 'lateral_chaining';
      if (byOwner) ownerView ??= this.flows.viewOf(step.owner, a.time);
      const v = byOwner ? ownerView : view;
      if (v === undefined) continue;
      input ??= { action: a, scope, now: a.time, view: v, step, sensitiveReads, readVolume, window, sustainedWindow, config: this.config };
      const given = v === input.view ? input : { ...input, view: v };
      const f = d.evaluate(given);
      const out = d.id === 'lateral_chaining' && step.transitions !== undefined ? transitionsWith(given) : NO_TRANSITIONS;
      if (f === null && out.length === 0) continue;
      // The caller's alert carries the caller's peer group and no credential: the callee's (say, a shared MCP
      // server's lease) is not the caller's to revoke; nor is a tool's, for a write another identity made below it.
      if (byOwner) ownerAction ??= { ...a, identity: step.owner, peerGroup: this.baselines.peek(step.owner)!.peerGroup, credential: null };
      const acting = byOwner ? ownerAction! : d.id === 'unexpected_write' && a.accessBy ? { ...a, credential: null } : a;
      const identity = byOwner ? step.owner : a.identity;
      if (f !== null) (findings ??= []).push({ f, action: acting, identity });
      for (const { f: o, to } of out) {
        // Into a delegated agent's step (a hop's adopted chain), the alert names no credential, as above.
        (findings ??= []).push({ f: o, action: to.own ? acting : (delegatedAction ??= { ...acting, credential: null }), identity, apart: o.subject });
        to.learned = false; // as that step would have been, had it raised when it came (review47 F2)
      }
    }
    if (view !== undefined && actorReads.length > 0 && this.enabled.includes(lateralChaining)) {
      const f = this.flows.flowFinding(a, a.identity, view, actorReads); // the chain is the owner's
      if (f !== null) (findings ??= []).push({ f, action: a, identity: a.identity });
    }
    return findings;
  }

  /** Judged against itself, against its peer group while new, or not yet at all (a group still learning). */
  phaseOf(b: IdentityBaseline, group: PeerGroupBaseline): 'own' | 'peer' | null {
    return phaseOf(b, group, this.settings);
  }

  /** The identity's sensitive reads this hour, when it has windows (an operator's `bulk` allow: operator.ts). */
  readVolumeOf(identity: string): ReadVolume | undefined {
    return this.windows.peek(identity)?.readVolume();
  }

  /** Forgets an identity idle past `baselines.forgetIdleAfter` (store/retention.ts). In a transaction. */
  forget(identity: string): void {
    this.baselines.forgetIdentity(identity);
    this.windows.delete(identity);
  }

  /**
   * Idle members leave their groups and unused group items are dropped, in event time (the watermark):
   * scanned every IDLE_SCAN_SHARE of `peerIdleAfter`, and again at the next commit while more members
   * are left than one commit removes.
   */
  private removeIdle(): void {
    const idleAfter = this.config.baselines.peerIdleAfter;
    if (Number.isNaN(this.idleScanAt)) this.idleScanAt = this.watermark;
    if (!this.idleLeft && !(this.watermark - this.idleScanAt >= idleAfter * IDLE_SCAN_SHARE)) return;
    this.idleScanAt = this.watermark;
    this.idleLeft = this.baselines.removeIdle(this.watermark - idleAfter, LEAVES_PER_COMMIT) === LEAVES_PER_COMMIT;
  }

  /** Ends a replay or a shutdown: held findings are decided with what is known now. */
  finish(): void {
    this.held.finish();
  }

  /**
   * Before the group commit, outside it: what the store refused earlier is stored, and serving, held
   * findings are released with the wall clock too (HeldReleases). Throws (failing the commit) while the
   * store refuses.
   */
  beforeCommit(): void {
    this.held.beforeCommit(this.watermark);
  }

  /** The commit succeeded (`ok`) or rolled back: what it wrote is clean, or is written again later. */
  afterCommit(ok: boolean): void {
    this.alerts.afterCommit(ok);
    this.windows.afterCommit(ok);
    this.baselines.afterCommit(ok);
    this.checkpoints.afterCommit(ok);
  }

  /** More hot baselines than `maxHotIdentities`: dirty ones the store refused to write cannot be evicted. */
  overBound(): boolean {
    return this.baselines.overBound;
  }

  /** Writes folded alert counts, and learned state when a checkpoint is due (checkpoints.ts). Runs in the commit transaction. */
  commit(final: boolean): void {
    this.alerts.flush();
    this.windows.saveReads();
    this.removeIdle();
    const evicted = this.baselines.removeOverflow(LEAVES_PER_COMMIT);
    if (evicted > 0) this.onMembersEvicted(evicted);
    this.checkpoints.commit(this.wallClock(), final);
  }
}
