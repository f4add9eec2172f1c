/**
 * The detection engine: for each action, in order — place it in its trace (steps), look up its baseline,
 * judge it with every enabled detector, route findings to the alert manager, then learn from it.
 *
 * Learn after judging, and never learn what raised an alert (STYLE habit 3): an attacker cannot teach the
 * baseline their behaviour by repeating it. A new item becomes normal only through use that raised no
 * alert, a peer rollout, or an operator's allow (operator.ts, which also resets and shows a baseline).
 */
import Database from 'better-sqlite3';
import { BaselineStore } from '../../baselines/store.js';
import type { BaselineSettings, IdentityBaseline } from '../../baselines/identity.js';
import type { PeerGroupBaseline } from '../../baselines/peer-group.js';
import { DETECTORS } from '../../detectors/index.js';
import { flowWhileLearning, isEgress, lateralChaining } from '../../detectors/lateral-chaining.js';
import { subjectKey } from '../../detectors/retry-storm.js';
import { scopeItems } from '../../detectors/scope-drift.js';
import { unexpectedWrite, writeSubjectKeys } from '../../detectors/unexpected-write.js';
import type { BaselineView, DetectorInput, Finding, ScopeItem, SensitiveRead, StepContext } from '../../detectors/types.js';
import { isWrite, madeInSpan, madeInTrace, type Action } from '../actions/types.js';
import type { HeldFinding } from '../alerts/held-finding.js';
import type { AlertManager } from '../alerts/manager.js';
import type { Config } from '../config/schema.js';
import type { Stage } from '../stage.js';
import type { Db } from '../store/database.js';
import { CheckpointSchedule } from './checkpoints.js';
import { decideHeld, rolloutKeys } from './held.js';
import { mergeFindings, type Reported } from './merge.js';
import { BaselineLearning } from './learning.js';
import { TraceSteps } from './steps.js';
import type { ReadCount, ReadVolume } from './read-volume.js';
import { UnownedEgress } from './unowned-egress.js';
import { makeView } from './view.js';
import { IdentityWindows, type RetryWindows } from './windows.js';

/**
 * Serving, no action judged for this long: the stream has gone quiet (the end of a backfill or of a test's
 * fixture), so a hold that ended by the wall clock is decided without waiting for more event time.
 */
const QUIET_STREAM_MS = 5000;

/** What nearly every action yields: shared, not one array per action. */
const NO_FINDINGS: readonly Reported[] = [];

/** A non-egress action's reads: shared, not one per action. Not frozen, like scope-drift's NO_ITEMS. */
const NO_READS: readonly SensitiveRead[] = [];
/** What an action that is no sensitive read counts towards bulk reads. */
const NO_COUNTS: readonly ReadCount[] = [];

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
  /** Flows found when a sensitive read came after its sends (`judgeSendsAfter`), reported by `process`. */
  private readonly lateFlows: Reported[] = [];
  private readonly unowned = new UnownedEgress();
  private readonly windows: IdentityWindows;
  private readonly enabled;
  /** Newest event time seen: held findings are released against it. */
  private watermark = 0;
  /** Wall time the last batch of actions was judged at (serving: how long the stream has been quiet). */
  private lastBatchWall = Number.NEGATIVE_INFINITY;
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
    /** Schedules checkpoints only; detection itself runs in event time. */
    private readonly wallClock: () => number = Date.now,
    /**
     * Serving: held findings are also released by the wall clock (`beforeCommit`), so an identity or a
     * stream gone quiet has them decided. Replay must not do this.
     */
    private readonly live = false,
  ) {
    const b = config.baselines;
    this.settings = { halfLifeMs: b.halfLife, minActions: b.minActions, minAgeMs: b.minAge, forgetBelow: 0.05 };
    this.baselines = new BaselineStore(db, b.maxHotIdentities, this.settings, { maxMembers: b.maxPeerMembers, maxGroups: b.maxPeerGroups });
    this.learning = new BaselineLearning(this.baselines, this.settings);
    this.checkpoints = new CheckpointSchedule(this.baselines, b.checkpointInterval, config.storage.flushInterval);
    this.enabled = DETECTORS.filter((d) => config.detectors[d.id].enabled);
    this.windows = new IdentityWindows(config.detectors.retry_storm, config.detectors.lateral_chaining.window);
  }

  /**
   * The pipeline stage: judges and learns every action of a batch, in order. A tool call and the calls it
   * made are one step to an analyst, so their findings of one detector merge into one (the most severe
   * leads) before they reach the alert manager.
   */
  process(actions: readonly Action[]): void {
    if (this.live) this.lastBatchWall = this.wallClock();
    const steps = this.steps.annotate(actions);
    const merged = new Map<string, Reported>();
    const add = (findings: readonly Reported[], a: Action, inTool: boolean) => {
      // A call made inside a tool (context repair may have found that tool in another trace) merges
      // into the tool's step.
      const stepSpan = inTool ? madeInSpan(a) : a.spanId;
      const traceId = inTool ? madeInTrace(a) : a.traceId;
      for (const r of findings) {
        const k = `${traceId}/${stepSpan}/${r.f.detector}/${r.identity}`;
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
    if (hops !== null) for (const hop of hops) this.foundHop(hop, (findings, e) => add(findings, e, true));
    // Sends judged again when a late read (or a hop's reads) came: merged like any finding of their step.
    for (const r of this.lateFlows) add([r], r.action, true);
    this.lateFlows.length = 0;
    for (const r of merged.values()) {
      // Holds that ended before this finding's event time are decided first (a batch can span hours in
      // a replay): a repeat after the hold then meets the alert raised, folding into it only within its
      // suppression window, and a held alert is raised before findings made after its hold ended.
      this.releaseDueBy(r.action.time);
      this.alerts.report(r.f, r.action, r.identity);
    }
    this.releaseDueBy(this.watermark);
  }

  private releaseDueBy(now: number): void {
    try {
      this.releaseDue(now);
    } catch (err) {
      // The store refuses writes: held findings stay held, and the next commit tries again and fails.
      if (!(err instanceof Database.SqliteError)) throw err;
    }
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
    b.observe(a.time);
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
      : sensitiveReads.length > 0 ? this.flowWhileLearning(a, b, group, sensitiveReads) : null;
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
      if (stormRaised) this.learning.takeBackStorm(b, group, retry, a.time, storm.f.details.judged === 'subject' ? subject : null);
    }
    if (isEgress(a)) {
      this.unowned.remember(a, step.owner);
      ownerWindows.egress().add(a);
    }
    if (a.sensitive) {
      const stepSpanId = step.within === null ? null : madeInSpan(a);
      const read: SensitiveRead = { target: step.within ?? a.target, time: a.time, traceId: a.traceId, task, spanId: a.spanId, stepSpanId };
      ownerReads.add(read);
      this.judgeSendsAfter(read, ownerWindows, step.owner);
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
    let input: DetectorInput | undefined; // one per action, not per detector
    for (const d of this.enabled) {
      // An action far behind its identity's event time is judged too (else backdating a span would
      // hide it, and it would be learned unjudged), retry storms included (in the late retry windows).
      // Chains are the trace owner's: a delegated step is judged by what the caller has learned,
      // whether or not the callee has a baseline of its own.
      const byOwner = delegated && d.id === 'lateral_chaining';
      if (byOwner) ownerView ??= this.viewOf(step.owner, a.time);
      const v = byOwner ? ownerView : view;
      if (v === undefined) continue;
      input ??= { action: a, scope, now: a.time, view: v, step, sensitiveReads, readVolume, window, sustainedWindow, config: this.config };
      const f = d.evaluate(v === input.view ? input : { ...input, view: v });
      if (f === null) continue;
      // The caller's alert carries the caller's peer group and no credential: the callee's (say, a shared MCP
      // server's lease) is not the caller's to revoke; nor is a tool's, for a write another identity made below it.
      if (byOwner) ownerAction ??= { ...a, identity: step.owner, peerGroup: this.baselines.peek(step.owner)!.peerGroup, credential: null };
      const acting = byOwner ? ownerAction! : d.id === 'unexpected_write' && a.accessBy ? { ...a, credential: null } : a;
      (findings ??= []).push({ f, action: acting, identity: byOwner ? step.owner : a.identity });
    }
    if (view !== undefined && actorReads.length > 0 && this.enabled.includes(lateralChaining)) {
      const f = this.flowFinding(a, a.identity, view, actorReads); // the chain is the owner's
      if (f !== null) (findings ??= []).push({ f, action: a, identity: a.identity });
    }
    return findings;
  }

  /**
   * A delegation whose callee's work came first (review31 F3, review32 H1, M3): its steps become the
   * task owner's (the hop's caller, else the hop's identity), which learns their transitions, and its
   * external sends judged as the callee's flow are judged again as the owner's (`report`), against the
   * owner's sensitive reads in the task; learned as the owner's flow when they raise nothing.
   */
  private foundHop(hop: Action, report: (findings: readonly Reported[], egress: Action) => void): void {
    const owner = hop.caller ?? hop.identity;
    this.adoptReads(hop, owner);
    const transitions = this.steps.adopt(hop.traceId, hop.target, owner);
    const egress = this.unowned.takeOwnedByCallee(hop);
    if (transitions.length === 0 && egress.length === 0) return;
    const b = this.baselines.known(owner);
    if (!b) return;
    for (const [from, to] of transitions) this.learning.transition(b, from, to, hop.time);
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
   * and learned as its flow when it raises nothing. The findings wait in `lateFlows` for `process`.
   */
  private judgeSendsAfter(read: SensitiveRead, w: ReturnType<IdentityWindows['of']>, owner: string): void {
    const sends = w.sendsAfter(read);
    if (sends.length === 0) return;
    const b = this.baselines.known(owner);
    if (!b) return;
    const view = this.enabled.includes(lateralChaining) ? this.viewOf(owner, read.time) : undefined;
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
    const view = this.enabled.includes(lateralChaining) ? this.viewOf(b.identity, egress.time) : undefined;
    const f = view === undefined ? null : this.flowFinding(egress, b.identity, view, reads);
    if (f === null) {
      this.learning.flows(b, egress, reads);
      return NO_FINDINGS;
    }
    return [{ f, action: { ...egress, identity: b.identity, peerGroup: b.peerGroup, credential: null }, identity: b.identity }];
  }

  /** An identity not judged yet (its group still learning): a sensitive flow its group never showed is recorded at low. */
  private flowWhileLearning(a: Action, b: IdentityBaseline, group: PeerGroupBaseline, reads: readonly SensitiveRead[]): Reported[] | null {
    if (!this.enabled.includes(lateralChaining)) return null;
    const view = makeView(b, group, 'own', a.time, this.settings);
    const flow = this.flowFinding(a, a.identity, view, reads);
    const f = flow && flowWhileLearning(flow, view);
    return f ? [{ f, action: a, identity: a.identity }] : null;
  }

  /**
   * lateral_chaining's sensitive-flow rule alone: `egress` as a flow of `owner`'s, against `reads` (a step
   * with no name, so no transition is judged: the chain is judged, or learned, in its own place).
   */
  private flowFinding(egress: Action, owner: string, view: BaselineView, reads: readonly SensitiveRead[]): Finding | null {
    const step: StepContext = { name: null, zones: [], previous: null, owner, within: null };
    const retry = this.windows.of(egress.identity).retry; // not read by the rule, but part of every input
    return lateralChaining.evaluate({ action: egress, scope: scopeItems(egress), now: egress.time, view, step, sensitiveReads: reads, readVolume: NO_COUNTS, window: retry.short, sustainedWindow: retry.sustained, config: this.config });
  }

  private viewOf(identity: string, time: number): BaselineView | undefined {
    const b = this.baselines.known(identity);
    if (!b) return undefined;
    const group = this.baselines.group(b.peerGroup);
    const phase = this.phaseOf(b, group);
    return phase ? makeView(b, group, phase, time, this.settings) : undefined;
  }

  /** Judged against itself, against its peer group while new, or not yet at all (a group still learning). */
  phaseOf(b: IdentityBaseline, group: PeerGroupBaseline): 'own' | 'peer' | null {
    return b.isMature(this.settings) ? 'own' : group.hasBaseline(this.settings, b.identity) ? 'peer' : null;
  }

  /**
   * Ends held findings, each in a transaction of its own (AlertManager.release), as
   * `decideHeld` says. What a rollout teaches is learned only once the release is stored, so a release
   * the store refused is decided again, the same way, at the next commit.
   */
  private releaseHeld(due: HeldFinding[]): void {
    for (const h of due) {
      const b = this.baselines.identity(h.identity, h.action.peerGroup, h.action.time);
      // The group it is in now: it may have moved since the finding was held.
      const decision = decideHeld(h, this.baselines.group(b.peerGroup), this.config.detectors.scope_drift);
      this.alerts.release(h, decision.raise);
      if (decision.learn) for (const k of rolloutKeys(h.finding)) this.learning.key(b, k, h.lastEventTime);
    }
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

  /**
   * Decides the held findings due by event time `now`, after the findings the store refused earlier (so
   * seq follows the order found). Throws while the store refuses writes.
   */
  private releaseDue(now: number, wall?: { now: number; quiet: boolean }): void {
    this.alerts.storePending();
    this.releaseHeld(this.alerts.dueHeld(now, wall, this.groupTime));
  }

  /** The latest event time of a peer group's members (its holds end by it); none known (gone, or every member left), no bound. */
  private readonly groupTime = (peerGroup: string): number => {
    const seen = this.baselines.knownGroup(peerGroup)?.history.lastSeen;
    return seen === undefined || seen === Number.NEGATIVE_INFINITY ? Number.POSITIVE_INFINITY : seen;
  };

  /** Ends a replay or a shutdown: held findings are decided with what is known now. */
  finish(): void {
    this.alerts.storePending();
    this.releaseHeld(this.alerts.allHeld());
  }

  /**
   * Before the group commit, outside it: what the store refused earlier is stored, and serving, held
   * findings are released with the wall clock too, so an identity or a stream gone quiet still has its
   * findings decided (AlertManager.dueHeld). Throws (failing the commit) while the store refuses.
   */
  beforeCommit(): void {
    this.alerts.storePending();
    if (!this.live) return;
    const now = this.wallClock();
    this.releaseDue(this.watermark, { now: now - this.config.time.lateness, quiet: now - this.lastBatchWall >= QUIET_STREAM_MS });
  }

  /** The commit succeeded (`ok`) or rolled back: what it wrote is clean, or is written again later. */
  afterCommit(ok: boolean): void {
    this.alerts.afterCommit(ok);
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
    this.removeIdle();
    const evicted = this.baselines.removeOverflow(LEAVES_PER_COMMIT);
    if (evicted > 0) this.onMembersEvicted(evicted);
    this.checkpoints.commit(this.wallClock(), final);
  }
}
