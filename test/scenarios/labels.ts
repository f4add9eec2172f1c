/**
 * The ground truth a scenario writes beside its traces: one label per injected anomaly, and the benign
 * traps with their time windows (so a false alert can be traced to the trap that provoked it).
 */

export const DETECTORS = ['scope_drift', 'lateral_chaining', 'retry_storm', 'unexpected_write'] as const;
export type Detector = (typeof DETECTORS)[number];

export interface Label {
  id: string;
  detector: Detector;
  /** Which entry of the anomaly catalogue (README) produced it. */
  variant: string;
  identity: string;
  peerGroup: string;
  /** RFC 3339: start of the first anomalous span, end of the last. */
  startTime: string;
  endTime: string;
  traceIds: string[];
  spanIds: string[];
  /** Uses, writes, failures or traces — what "more" means for this variant (see `strengthUnit`). */
  strength: number;
  strengthUnit: string;
  /** A new instance whose very first actions are this anomaly (judged against its peer group). */
  newInstance: boolean;
}

export type TrapKind = 'burst' | 'rollout' | 'new_instance' | 'flaky' | 'warmup' | 'session' | 'routine';

export interface Trap {
  trap: TrapKind;
  identity: string;
  startTime: string;
  endTime: string;
  note: string;
}

/** What `manifest.json` holds: counts and the per-identity facts scoring needs. */
export interface Manifest {
  seed: number;
  startTime: string;
  endTime: string;
  lines: number;
  traces: number;
  spans: number;
  /** Tool, HTTP, DB and delegation actions in traces that carry no label (model calls not counted). */
  benignActions: number;
  /** Same, all traces. */
  totalActions: number;
  modelCalls: number;
  identities: number;
  /** Per identity: peer group, first action, and when it has 48 h and 300 actions behind it. */
  identityFacts: Record<string, { peerGroup: string; firstAction: string; learned: string; actions: number; joinedLate: boolean }>;
  traps: Trap[];
}
