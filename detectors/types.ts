/**
 * The detector interface. A detector is pure: an action, what the engine knows of its context and a view
 * of the baseline go in; findings come out. No I/O, no logging, no wall clock — `now` is event time.
 */
import type { Access, Action } from '../src/actions/types.js';
import type { KeyedItem } from '../baselines/keys.js';
import type { Config, Severity } from '../src/config/schema.js';
import type { ReadCount } from '../src/detect/read-volume.js';

export const DETECTOR_IDS = ['scope_drift', 'lateral_chaining', 'retry_storm', 'unexpected_write'] as const;
export type DetectorId = (typeof DETECTOR_IDS)[number];
/**
 * What raises alerts: the detectors, and alerts about the telemetry itself (spans refused as dated ahead
 * of the clock or as another identity's: src/detect/telemetry-integrity.ts), which never revoke.
 */
export const ALERT_SOURCES = [...DETECTOR_IDS, 'telemetry_integrity'] as const;
export type AlertSource = (typeof ALERT_SOURCES)[number];

/** What the baseline says, as a detector may ask it. Keys are built with baselines/keys.ts. */
export interface BaselineView {
  /** `own`: judged against its own history; `peer`: a new identity judged against its peer group. */
  readonly phase: 'own' | 'peer';
  /** Actions this identity was seen doing, and since when (event time). */
  readonly actions: number;
  readonly firstSeen: number;
  /**
   * Actions the judgement rests on, for scores: the identity's own when judged against itself, its peer
   * group's when new (a new instance doing what none of its peers did in 20,000 actions is no small surprise).
   */
  readonly evidence: number;
  /** The identity's own decayed count of an item (0: never, or forgotten). */
  own(key: string): number;
  /** Identities of the peer group, other than this one, that learned the item. */
  peers(key: string): number;
  /**
   * Of those, the members judged against themselves (mature): peers whose knowledge was judged for a day
   * or more, not learned by a newcomer where nobody judged it.
   */
  maturePeers(key: string): number;
  /**
   * The peer group's busiest hour of sensitive reads of a source: the largest peak its mature members
   * learned, decayed (0: none). A new member's own hours were never judged against a peak.
   */
  peerReadPeak(source: string): number;
  /** Members of the peer group (this identity included). */
  readonly peerGroupSize: number;
  /** Decayed learned actions, and failures + retries among them. */
  readonly outcome: { actions: number; bad: number };
  /** Whether its failures per subject (`failuresKey`) cover its learned uses of each subject (identity.ts). */
  readonly failuresBySubject: boolean;
  /**
   * Peers (not this identity) whose first use of the item fell in [from, to]: rollout evidence. For an
   * identity judged against itself, its mature peers only: newcomers adopting an item must not make a
   * rollout of an established member's use of it (review19 F15).
   */
  adopters(key: string, from: number, to: number): number;
  /** The members a rollout's share is of: the group's, or its mature members for an identity judged against itself. */
  readonly rolloutPopulation: number;
  /** The identity's most used items of a dimension, most used first (for explanations; not hot-path). */
  top(dimension: string, n: number): Array<[item: string, count: number]>;
  /**
   * When the identity first tried an item, learned or not (what raised an alert is not learned, and what
   * is rarely used fades), as its peer group recorded it for rollouts; undefined when not recorded.
   */
  firstTried(key: string): number | undefined;
}

/** A step of a trace as a transition reads it. */
export interface ChainStep {
  name: string;
  /** Zones the step reached (its own, or its calls'). */
  zones: readonly string[];
  spanId: string;
  /** What the step did (a transition into a write is judged). */
  access: Access | null;
  /** The identity that took it. */
  actor: string;
  /** The trace owner's own step, not a delegated agent's. */
  own: boolean;
  /** Learned when judged (false once it raised): a transition into it found later is learned only then. */
  learned: boolean;
}

/** The action's place in its trace, for transition rules. */
export interface StepContext {
  /** This action as a step (`tool:crm.search`), null when it is a call made inside a tool. */
  name: string | null;
  /** Zones this step reached (its own, or its calls'). */
  zones: readonly string[];
  /** The previous step of the same trace owner, null when this is the first. */
  previous: { name: string; zones: readonly string[]; spanId: string } | null;
  /**
   * Transitions between steps judged with this one, whose later step came in an earlier batch: the way out
   * of a step exported after later steps of its trace (placed by its start, it is their previous now: review45
   * M1, else a sender who spreads a chain's start times over batches hides its middle), and the chain a
   * delegation's callee made when its steps came first (merged into the caller's chain with the hop:
   * review47; with the transitions into steps its history had trimmed: review48). Each was judged against
   * another step, or as the callee's own chain, when it came.
   */
  transitions?: Array<readonly [from: ChainStep, to: ChainStep]>;
  /** The identity whose task the trace is (differs from the action's when it was delegated to). */
  owner: string;
  /** For a call made inside a tool: that tool's name (what an analyst recognises the call by). */
  within: string | null;
}

export interface SensitiveRead {
  /** What was read: the tool a call was made in (what the explanation names), else the action's target. */
  target: string;
  time: number;
  traceId: string;
  /** The trace it was made in (`madeInTrace`): a read and an egress of one task share it. */
  task: string;
  /** The action that read. */
  spanId: string;
  /** For a call made inside a tool, that tool's span (the step `target` names); null otherwise. */
  stepSpanId: string | null;
}

/** Actions, and failures + retries among them. */
export interface SubjectOutcome {
  readonly actions: number;
  readonly bad: number;
}

/**
 * Failures and retries of the identity within a retry window, ending with this action. Subjects are named
 * by their baseline key (`subjectKey`: the tool, target or agent), or by the action's target when it has
 * none (a model call).
 */
export interface OutcomeWindow {
  /** The window's length (ms). */
  readonly length: number;
  readonly actions: number;
  readonly bad: number;
  /** Actions and failures + retries per subject in the window (the first 64 subjects of each bucket). */
  readonly bySubject: ReadonlyMap<string, SubjectOutcome>;
  /** Actions on one subject in the window, and failures + retries among them. */
  subject(subject: string): SubjectOutcome;
  /**
   * What of the window the baseline has learned, as a whole and on one subject: an action that raised
   * an alert is not learned, so it must not be taken out of the learned history the window is judged against.
   */
  readonly learned: SubjectOutcome;
  learnedOn(subject: string): SubjectOutcome;
  /** Event time of the window's oldest counted action. */
  readonly since: number;
  /**
   * The identity's run of storms on `subject` (a finding's subject): storms that have followed each other
   * with no gap of more than two windows up to `now`; null when none is going on. Kept by the sustained window.
   */
  stormRun(subject: string, now: number): StormRun | null;
}

/** A run of retry storms on one subject (retry_storm raises those of a long run at low). */
export interface StormRun {
  /** When its first storm was raised. */
  readonly since: number;
  /**
   * The most calls to the subject, and failures + retries on it, that its storms raised at their own
   * severity had in the short window (each at most: they need not be one storm's).
   */
  readonly level: SubjectOutcome;
}

/** An item an action uses (its tool, target, host, zone, scopes...) and the item's baseline key. */
export type ScopeItem = KeyedItem;

export interface DetectorInput {
  action: Action;
  /**
   * `scopeItems(action)` (scope-drift.ts): made once per action and shared by scope_drift and
   * learning, which both walk the same items.
   */
  scope: readonly ScopeItem[];
  now: number;
  view: BaselineView;
  step: StepContext;
  /**
   * Sensitive reads of the trace owner before the action: this task's, however long ago (while
   * remembered), and the latest of each source read in its other traces within the lateral window.
   */
  sensitiveReads: readonly SensitiveRead[];
  /**
   * For a sensitive read, the identity's reads this hour of its source, then of all its sources (`*`), for
   * scope_drift's bulk reads; else empty.
   */
  readVolume: readonly ReadCount[];
  /** The identity's short retry window (`retry_storm.window`) and its sustained one (`sustainedWindow`). */
  window: OutcomeWindow;
  sustainedWindow: OutcomeWindow;
  config: Config;
}

export interface Finding {
  detector: AlertSource;
  severity: Severity;
  /**
   * How surprising the action is under the baseline, in [0, 1). The alert's score places it within its
   * severity's band (`alertScore`), so that a more severe alert always outranks a less severe one.
   */
  surprise: number;
  /** What findings fold on, with identity and detector: the new item, the flow, the tool or target. */
  subject: string;
  title: string;
  explanation: string;
  traceIds: string[];
  spanIds: string[];
  details: Record<string, unknown>;
  tags: string[];
  /** When set, the finding waits until this event time for a peer rollout to explain it (scope_drift). */
  holdUntil?: number;
  /** The baseline key whose adoption by peers would explain a held finding. */
  rolloutKey?: string;
  /** Raised for the record, but what the action uses is learned all the same (part of a rollout). */
  learn?: true;
  /** retry_storm: its subject's run of storms with this one in it, which the sustained window keeps. */
  stormRun?: StormRun;
}

export interface Detector {
  readonly id: DetectorId;
  evaluate(input: DetectorInput): Finding | null;
}
