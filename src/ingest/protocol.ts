/**
 * Messages between the pipeline (main thread) and the ingest worker (worker.ts). The worker owns
 * decoding, validation and the trace buffer; the main thread owns everything after the actions.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Config } from '../config/schema.js';
import type { Receiver } from '../metrics.js';
import type { EncodedActions } from './action-codec.js';

export type Format = 'protobuf' | 'json';

export interface WorkerSetup {
  config: Config;
  /**
   * Fast-lane exports come on this port of their own: the worker looks at it between export jobs, so a
   * single agent's small export waits behind at most one job, not every bulk message already posted.
   */
  fastPort?: MessagePort;
  /** Serve: wall clock, and a timer emits traces once their wait is over. Replay: event time only. */
  mode: 'serve' | 'replay';
  /** The main logger's level: the worker sends only records at or above it. */
  logLevel: string;
}

export interface ExportJob {
  id: number;
  receiver: Receiver;
  format: Format;
  bytes: Uint8Array;
  /** The identity patterns its client may send spans for (receivers.otlp.clientIdentities); absent: any. */
  identities?: string[];
  /** The peer-group patterns those spans may claim; absent: any. */
  peerGroups?: string[];
  /** That client's name (its certificate's SPIFFE ID or CN), when rules name clients. */
  client?: string;
}

export type ToWorker =
  /** Exports in queue order; answered together by one batch (a message costs ~0.1-0.5 ms to deliver). */
  | { t: 'exports'; exports: ExportJob[] }
  /** Replay: OTLP/JSON lines of `file` from line `firstLine` on, processed one by one in event time. */
  | { t: 'lines'; id: number; file: string; firstLine: number; lines: string[] }
  /** Emit every held trace (shutdown, end of a replay); answered with a batch whose `drained` is true. */
  | { t: 'drain' }
  /** Exit once this is read (a clean exit, so `--cpu-prof` and friends write their files). */
  | { t: 'stop' };

/** One export's (or replay chunk's) result: counts for the partial-success answer, or why it failed. */
export type Done =
  | { id: number; spans: number; rejected: number; errorMessage: string }
  | { id: number; spans: number; error: { code: string; message: string } };

/**
 * Spans rejected for a reason a security team must hear about, not only count: dated ahead of the clock
 * (what they record goes unjudged) or claiming an identity or a peer group their client may not speak
 * for. One per reason and who (the identity, or the client), per batch, however many identities or groups
 * were claimed (alerts: src/detect/telemetry-integrity.ts).
 */
export interface SuspectSpans {
  reason: 'future_start' | 'no_start_time' | 'identity_not_allowed' | 'peer_group_not_allowed';
  /** Who the alert is about: the spans' identity (future_start, no_start_time), or the client that sent them. */
  identity: string;
  peerGroup: string;
  /**
   * identity_not_allowed, peer_group_not_allowed: the identities the spans claimed, the first
   * MAX_CLAIMS_LISTED (suspects.ts) distinct in the order sent; `moreIdentities` when some were left out.
   */
  claimedIdentities: string[];
  moreIdentities: boolean;
  /** peer_group_not_allowed: the peer groups they claimed (as derived: actions/identity.ts), likewise. */
  claimedPeerGroups: string[];
  morePeerGroups: boolean;
  receiver: Receiver;
  spans: number;
  /** The first such span: the alert's evidence. */
  traceId: string;
  spanId: string;
  /** future_start: how far ahead of the clock the furthest one started, ms. */
  aheadMs: number;
  /** When they were rejected: the daemon's clock, or in replay the event time reached. */
  time: number;
}

export interface BadLine {
  file: string;
  line: number;
  message: string;
}

/** Counter increments since the previous batch (the main thread owns the Prometheus registry). */
export interface WorkerStats {
  received: Array<[Receiver, number]>;
  accepted: Array<[Receiver, number]>;
  rejected: Array<[Receiver, string, number]>;
  ignored: Array<[string, number]>;
  /** The worker's V8 heap when the batch was sent (the main thread's own is in the default metrics). */
  heap: { usedBytes: number; totalBytes: number };
}

export interface LogRecord {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string;
}

export interface FromWorker {
  t: 'batch';
  actions: EncodedActions | null;
  done: Done[];
  badLines: BadLine[];
  suspects: SuspectSpans[];
  stats: WorkerStats;
  /** Spans held in the trace buffer after this batch. */
  held: number;
  logs: LogRecord[];
  drained: boolean;
}
