/**
 * The loop that drains a durable queue into HTTP receivers, one lane per receiver (a webhook endpoint, a
 * revocation broker). It owns only timing and concurrency; what is due, how to attempt it and what an
 * answer means stay with the queue (webhook outbox, revocation engine), which records every outcome in
 * SQLite before its attempt resolves.
 *
 * - Never blocks the pipeline: attempts run from a timer and `kick()`, never from the caller's stack.
 * - Bounded concurrency per lane (`delivery.concurrency`) so one alert storm cannot open hundreds of
 *   sockets to one receiver; while a lane is failing it sends one probe at a time, paused between probes
 *   by the backoff (or the receiver's `Retry-After` when that is longer, never shorter), so a receiver
 *   that is down sees one request per backoff interval rather than one per queued delivery.
 * - A lane is failing once two different jobs have failed since its last success. Failures of one job
 *   alone (a receiver that refuses one alert, a broker that answers 503 for one credential) are that
 *   job's: it waits out its own backoff (the queue's `next_at`), and the others go on as usual, instead
 *   of every new alert and revocation waiting behind it for up to `retryMax`.
 * - At least once: an attempt interrupted by a crash left its row in SQLite, so it is simply due again at
 *   the next start. Receivers dedupe on the stable message id.
 */
import { retryDelay, type RetryPolicy } from './retry.js';

/** How an attempt went, as far as the lane's health is concerned. */
export type LaneVerdict =
  | { kind: 'healthy' }
  /** The receiver failed (or asked us to back off); `retryAfterMs` is its `Retry-After` when it sent one. */
  | { kind: 'failing'; retryAfterMs: number | null }
  /** The receiver is gone for good (410): stop the lane. */
  | { kind: 'gone' };

/** One receiver's queue, as the loop sees it. */
export interface Lane<J> {
  readonly name: string;
  /** Job identity, to keep a job that is in flight from being started twice. */
  key(job: J): string | number;
  /** Due jobs, oldest first, at most `limit`, none of whose keys are in `busy`. */
  due(limit: number, now: number, busy: ReadonlySet<string | number>): J[];
  /** One attempt; records its outcome durably before resolving. `signal` aborts at shutdown. */
  attempt(job: J, signal: AbortSignal): Promise<LaneVerdict>;
}

interface LaneState<J> {
  lane: Lane<J>;
  busy: Map<string | number, Promise<void>>;
  /** Failed attempts since the lane began failing, and the jobs that failed since its last success (LANE_FAULT: a fault of the lane's own). */
  failures: number;
  failedJobs: Set<string | number | symbol>;
  pausedUntil: number;
  /** A fault of the lane's own was reported since its last success: the next ones are not (one per outage). */
  faultReported: boolean;
}

/** An attempt that threw (a bug, a database error): not one job's trouble, so the lane fails at once. */
const LANE_FAULT = Symbol('lane fault');

/** Whether a lane's failures are the receiver's (two different jobs failed) rather than one job's. */
const failing = (state: LaneState<unknown>) => state.failedJobs.size >= 2;

export interface DeliveryLoopOptions {
  policy: RetryPolicy;
  concurrency: number;
  /** How often due jobs are looked for when nothing kicks the loop (retries becoming due). */
  pollMs?: number;
  now?: () => number;
  /** A lane's own fault (a bug, a database error), once per outage: a store that refuses writes fails every attempt. */
  onError(err: unknown, lane: string): void;
}

export class DeliveryLoop<J> {
  private readonly lanes = new Map<string, LaneState<J>>();
  /** Every attempt in flight, also those of lanes already stopped, so close() can wait for them all. */
  private readonly running = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;
  private scheduled = false;
  private closed = false;

  constructor(private readonly opts: DeliveryLoopOptions) {
    this.now = opts.now ?? Date.now;
    this.timer = setInterval(() => this.pump(), opts.pollMs ?? 100);
    this.timer.unref();
  }

  addLane(lane: Lane<J>): void {
    this.lanes.set(lane.name, { lane, busy: new Map(), failures: 0, failedJobs: new Set(), pausedUntil: 0, faultReported: false });
    this.kick();
  }

  /** Looks for due work soon (after the caller's transaction has committed and its stack unwound). */
  kick(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /**
   * Ends a failing lane's pause now (an operator says its receiver is back). It stays failing, so it
   * probes one job at a time until an attempt succeeds.
   */
  resume(lane: string): void {
    const state = this.lanes.get(lane);
    if (state === undefined) return;
    state.pausedUntil = 0;
    this.kick();
  }

  /** When `lane`'s pause ends (ms); 0 when it is not paused, or no longer a lane (410). */
  pausedUntil(lane: string): number {
    return this.lanes.get(lane)?.pausedUntil ?? 0;
  }

  private pump(): void {
    if (this.closed) return;
    const now = this.now();
    for (const state of this.lanes.values()) {
      if (state.pausedUntil > now) continue;
      const limit = (failing(state) ? 1 : this.opts.concurrency) - state.busy.size;
      if (limit <= 0) continue;
      let jobs: J[];
      try {
        jobs = state.lane.due(limit, now, new Set(state.busy.keys()));
      } catch (err) {
        this.fault(state, err);
        continue;
      }
      for (const job of jobs.slice(0, limit)) this.start(state, job);
    }
  }

  private start(state: LaneState<J>, job: J): void {
    const key = state.lane.key(job);
    const run = state.lane
      .attempt(job, this.abort.signal)
      .then((verdict) => this.settle(state, key, verdict))
      .catch((err: unknown) => {
        // A bug or a database error: treat the lane as failing so a persistent fault cannot spin.
        this.fault(state, err);
        state.failedJobs.add(LANE_FAULT);
        this.settle(state, key, { kind: 'failing', retryAfterMs: null });
      })
      .finally(() => {
        state.busy.delete(key);
        this.kick();
      });
    state.busy.set(key, run);
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  /** Reports a fault of the lane's own, the first since its last success (review35 L1: one stack a retry, for a full disk). */
  private fault(state: LaneState<J>, err: unknown): void {
    if (state.faultReported) return;
    state.faultReported = true;
    this.opts.onError(err, state.lane.name);
  }

  private settle(state: LaneState<J>, key: string | number, verdict: LaneVerdict): void {
    if (verdict.kind === 'healthy') {
      state.faultReported = false;
      state.failures = 0;
      state.failedJobs.clear();
      state.pausedUntil = 0;
    } else if (verdict.kind === 'gone') {
      this.lanes.delete(state.lane.name);
    } else if (!this.abort.signal.aborted) {
      state.failedJobs.add(key);
      if (!failing(state)) return; // one job's trouble so far: its own backoff holds it back
      state.failures++; // the receiver's failures: the lone job's before them do not lengthen its pause
      const wait = retryDelay(state.failures, this.opts.policy, verdict.retryAfterMs);
      state.pausedUntil = Math.max(state.pausedUntil, this.now() + wait);
    }
  }

  /**
   * Stops starting attempts, gives those in flight up to `graceMs` to finish, then aborts the rest (their
   * rows stay due and are sent again at the next start). Idempotent.
   */
  async close(graceMs = 1000): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      clearInterval(this.timer);
    }
    const running = [...this.running];
    if (running.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((r) => (timer = setTimeout(r, graceMs)));
    await Promise.race([Promise.allSettled(running), grace]);
    clearTimeout(timer);
    this.abort.abort();
    await Promise.allSettled(running);
  }
}
