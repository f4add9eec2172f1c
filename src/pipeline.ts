/**
 * The pipeline between the receivers and the store: bounded queue -> ingest worker (decode, validate,
 * spans -> actions) -> stages on this thread (identity records, detection) -> group commit.
 *
 * Acknowledgement rule: an export is answered only after the group commit that follows the processing of
 * its spans, so a `kill -9` never loses the effect of an acknowledged export on the store — except for
 * spans of traces still held in the per-trace buffer (up to `MAX_HOLD_WAITS × traces.wait` behind, or
 * `REPAIR_HOLD_WAITS × traces.wait` for a call context repair holds for its tool, bounded by
 * `traces.maxTraces`), which are turned into actions and committed once their trace is ready.
 *
 * Backpressure (what is queued for the worker, and in what order) is the export queue's:
 * ingest/export-queue.ts. This file is what happens to the worker's results.
 */
import { toActionLine, type Action } from './actions/types.js';
import type { ActionSink, Stage } from './stage.js';
import type { Config } from './config/schema.js';
import { VigilError } from './errors.js';
import { IngestWorker, type Batch } from './ingest/ingest-worker.js';
import { ExportQueue, type Outcome, type Processed } from './ingest/export-queue.js';
import type { BadLine, Done, Format, SuspectSpans } from './ingest/protocol.js';
import type { Logger } from './log.js';
import type { Metrics, Receiver } from './metrics.js';
import type { BodyBudget } from './receiver/read-body.js';
import type { KnownClient } from './receiver/client-identities.js';
import type { Db } from './store/database.js';
import type { IdentityStore } from './store/identities.js';

export interface PipelineDeps {
  config: Config;
  db: Db;
  identities: IdentityStore;
  metrics: Metrics;
  logger: Logger;
  /** `replay` feeds OTLP/JSON lines in event time (`replayLines`) instead of exports. */
  mode?: 'serve' | 'replay';
}

/** How often a commit is tried while the store refuses (review35 M1: a write lock froze the daemon). */
const RETRY_REFUSED_STORE_MS = 1000;

export class Pipeline {
  /**
   * Public for tests, which pause it to fill it deterministically and read its depth. Receivers go through
   * `ingest`, which refuses first while closing or shedding.
   */
  readonly exports: ExportQueue;
  private readonly worker: IngestWorker;
  /** Exports the worker has processed, acknowledged by the next group commit that succeeds. */
  private readonly awaitingCommit: Processed[] = [];
  private readonly replayWaiters = new Map<number, { resolve(bad: BadLine[]): void; reject(err: Error): void }>();
  private drainWaiter: { resolve(): void; reject(err: Error): void } | null = null;
  private idleWaiter: (() => void) | null = null;
  private readonly stages: Stage[] = [];
  private commitScheduled = false;
  private lastCommit = 0;
  private storeHealthy = true;
  private closing = false;
  private closed = false;
  private readonly tick?: NodeJS.Timeout;

  constructor(private readonly deps: PipelineDeps) {
    this.exports = new ExportQueue(deps.config.ingest, deps.metrics, (exports, fast) => this.worker.post({ t: 'exports', exports }, fast));
    this.worker = new IngestWorker({ config: deps.config, mode: deps.mode ?? 'serve' }, deps, {
      onBatch: (batch) => this.onBatch(batch),
      onCrash: () => this.onWorkerCrash(),
    });
    if (deps.mode !== 'replay') {
      // Commits also come with the clock, not only with batches: stages do time-driven work in them
      // (baseline checkpoints, findings whose hold has expired) that must happen on an idle daemon too.
      const every = Math.max(50, Math.min(1000, deps.config.storage.flushInterval));
      this.tick = setInterval(() => {
        if (!this.closing && this.commitDue()) this.commit();
      }, every);
      this.tick.unref();
    }
  }

  /** Adds a consumer of actions (called synchronously, in order, before the commit that covers them). */
  addSink(sink: ActionSink): void {
    this.stages.push({ process: (actions) => sink(actions as Action[]), finish() {}, beforeCommit() {}, commit() {}, afterCommit() {} });
  }

  /** Who hears of spans rejected for a reason an alert must say (ingest/suspects.ts). */
  onSuspectSpans: (suspects: SuspectSpans[]) => void = () => {};

  /** Adds a stage (called in order with every action, and in every commit). */
  addStage(stage: Stage): void {
    this.stages.push(stage);
  }

  /**
   * What receivers call with an export's bytes (`client`: who sent it, the identities it may speak for
   * and the peer groups it may claim, when rules name clients). Resolves with its partial-success outcome once durable; rejects when
   * it cannot be decoded.
   * @throws VigilError VIGIL_ERR_OVERLOADED when its spans or bytes do not fit the queue (retryable, nothing kept),
   *   VIGIL_ERR_DECODE when protobuf is malformed at the span level.
   */
  ingest(bytes: Uint8Array, format: Format, receiver: Receiver, client: KnownClient | null = null): Promise<Outcome> {
    if (this.closing) throw new VigilError('VIGIL_ERR_SHUTTING_DOWN');
    if (this.shedding()) {
      this.deps.metrics.requestsRejected.inc({ receiver, reason: 'store_unavailable' });
      throw new VigilError('VIGIL_ERR_UNAVAILABLE', 'the store refuses writes and what waits to be written has reached its bound');
    }
    return this.exports.admit(bytes, format, receiver, client);
  }

  /**
   * While the store refuses writes (disk full, read-only volume), exports are still judged, each refused
   * (retryable) after its commit fails, so the exporter's retry is recognised as already seen and an
   * outage of seconds costs nothing. What waits to be written stays in memory meanwhile; once it passes
   * its bound (`baselines.maxHotIdentities` identities), exports are refused before they are judged, so
   * a long outage cannot exhaust memory. Commits go on with the clock, and the first that succeeds ends it.
   */
  private shedding(): boolean {
    return !this.storeHealthy && (this.deps.identities.overBound || this.stages.some((s) => s.overBound?.() === true));
  }

  /** A budget for one request body while it is read (see QueueBounds.bodyBudget). */
  bodyBudget(): BodyBudget & { release(): void } {
    return this.exports.bodyBudget();
  }

  /**
   * Replay's path: OTLP/JSON lines of `file` (the first is line `firstLine`), decoded and turned into
   * actions in event time by the worker, then through the same stages. Resolves, with the lines that
   * could not be decoded, once their actions have gone through the stages. The caller commits with
   * `flush` now and then so a long replay's memory stays bounded.
   */
  replayLines(file: string, firstLine: number, lines: string[]): Promise<BadLine[]> {
    return new Promise((resolve, reject) => {
      const id = this.exports.newId();
      this.replayWaiters.set(id, { resolve, reject });
      this.worker.post({ t: 'lines', id, file, firstLine, lines });
    });
  }

  /** Ends a replay: emits every held trace, settles the stages, and commits. */
  async finishReplay(): Promise<void> {
    await this.drainWorker();
    for (const stage of this.stages) stage.finish();
    if (!this.commit(true)) throw new VigilError('VIGIL_ERR_UNAVAILABLE', 'the store could not commit');
  }

  /** Commits now (replay calls it periodically; serve commits on its own schedule). Throws if it fails. */
  flush(): void {
    if (!this.commit()) throw new VigilError('VIGIL_ERR_UNAVAILABLE', 'the store could not commit');
  }

  private onBatch(batch: Batch): void {
    // The worker gets its next message before this thread judges the batch, so both threads stay busy.
    this.exports.messageAnswered(batch.done);
    this.exports.dispatch();
    this.emit(batch.actions);
    if (batch.suspects.length > 0) this.onSuspectSpans(batch.suspects);
    for (const d of batch.done) this.answered(d, batch.badLines);
    if (batch.drained) {
      this.drainWaiter?.resolve();
      this.drainWaiter = null;
    }
    this.exports.reportMetrics();
    const idle = this.exports.idle;
    if (idle) this.idleWaiter?.();
    // Replay commits every so many lines (its caller's `flush`), not by the wall clock.
    if (this.closed || this.deps.mode === 'replay') return;
    if (this.commitDue()) this.commit();
    else if (idle && this.storeHealthy) this.scheduleCommit();
  }

  /** The worker is done with an export (to be acknowledged by the next commit) or a replay chunk. */
  private answered(d: Done, badLines: BadLine[]): void {
    const waiter = this.replayWaiters.get(d.id);
    if (waiter) {
      this.replayWaiters.delete(d.id);
      waiter.resolve(badLines);
      return;
    }
    const processed = this.exports.answered(d);
    if (processed) this.awaitingCommit.push(processed);
  }

  /** The worker died with this work unanswered: exporters retry what was in flight; the queue goes on. */
  private onWorkerCrash(): void {
    const lost = new VigilError('VIGIL_ERR_UNAVAILABLE', 'the ingest worker restarted');
    this.exports.failInFlight(lost);
    for (const w of this.replayWaiters.values()) w.reject(lost);
    this.replayWaiters.clear();
    this.drainWaiter?.reject(lost);
    this.drainWaiter = null;
    this.exports.dispatch();
    // A shutdown waiting for the work that was lost goes on (the restarted worker has nothing to answer).
    if (this.exports.idle) this.idleWaiter?.();
  }

  /**
   * Every `storage.flushInterval`; while the store refuses, once every RETRY_REFUSED_STORE_MS: each try may
   * wait out another program's write lock (busy_timeout), and the thread serves nothing meanwhile.
   */
  private commitDue(): boolean {
    return Date.now() - this.lastCommit >= (this.storeHealthy ? this.deps.config.storage.flushInterval : RETRY_REFUSED_STORE_MS);
  }

  /**
   * Commits once pending I/O has had a turn: requests arriving meanwhile join this commit instead of
   * each paying their own (under load the queue empties many times a second).
   */
  private scheduleCommit(): void {
    if (this.commitScheduled) return;
    this.commitScheduled = true;
    setImmediate(() => {
      this.commitScheduled = false;
      if (this.closed) return;
      if (this.exports.inFlightCount === 0 || this.exports.isPaused) this.commit();
      // else: the next batch commits when due or when the worker is next idle.
    });
  }

  private emit(actions: Action[]): void {
    if (actions.length === 0) return;
    const { identities, metrics } = this.deps;
    const byKind = new Map<string, number>();
    for (const a of actions) {
      if (a.classOnly) continue; // a tool's later class, not a call: counted when the call came
      identities.record(a);
      byKind.set(a.kind, (byKind.get(a.kind) ?? 0) + 1);
    }
    for (const [kind, n] of byKind) metrics.actions.inc({ kind }, n);
    // At debug level every derived action is explained (the same line `replay --actions` prints; it
    // carries no payload attribute, so it is safe to log).
    if (this.deps.logger.isLevelEnabled('debug')) for (const a of actions) this.deps.logger.debug({ action: toActionLine(a) }, 'action');
    for (const stage of this.stages) stage.process(actions);
  }

  /**
   * The group commit: every dirty record in one transaction, then the exports it covers are acknowledged.
   * When the store refuses (disk full, read-only, I/O error) nothing is acknowledged (the exporters
   * retry), what was to be written stays dirty for the next commit, and the daemon goes on serving.
   * Returns false then.
   */
  private commit(final = false): boolean {
    const { db, identities, metrics, logger } = this.deps;
    const done = this.awaitingCommit.splice(0);
    const stop = metrics.commitDuration.startTimer();
    let ok = false;
    try {
      for (const stage of this.stages) stage.beforeCommit();
      db.transaction(() => {
        identities.flush();
        for (const stage of this.stages) stage.commit(final);
      })();
      ok = true;
    } catch (err) {
      metrics.commitFailures.inc();
      // Once per outage, not once per commit (20 a second): the exporters' retries say the rest.
      if (this.storeHealthy) logger.error({ err }, 'store commit failed; exports are refused (retryable) until it succeeds');
      for (const e of done) {
        // Counted as refused (review28 M1); its spans, valid, stay counted as accepted, and come again.
        metrics.requestsRejected.inc({ receiver: e.receiver, reason: 'store_unavailable' });
        e.ticket.reject(new VigilError('VIGIL_ERR_UNAVAILABLE', 'the store could not commit'));
      }
    } finally {
      stop();
      this.lastCommit = Date.now();
      identities.afterCommit(ok);
      for (const stage of this.stages) stage.afterCommit(ok);
    }
    if (ok && !this.storeHealthy) logger.info('store commits succeed again');
    this.storeHealthy = ok;
    if (!ok) return false;
    metrics.identities.set(identities.size);
    for (const e of done) e.ticket.resolve(e.outcome);
    return true;
  }

  /** False while the last group commit failed (readiness reports it). */
  get storeWritable(): boolean {
    return this.storeHealthy;
  }

  /** Asks the worker for every held trace and waits for them to go through the stages. */
  private drainWorker(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.drainWaiter = { resolve, reject };
      this.worker.post({ t: 'drain' });
    });
  }

  /**
   * Stops accepting, processes everything queued, emits every held trace, commits, and stops the worker.
   * Idempotent. Receivers must be closed first so no request is accepted after the final commit.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.tick);
    this.exports.resume();
    if (!this.exports.idle) await new Promise<void>((resolve) => (this.idleWaiter = resolve));
    try {
      await this.drainWorker();
    } catch (err) {
      this.deps.logger.error({ err }, 'held traces could not be drained at shutdown');
    }
    // No stage.finish() here: what stages hold (e.g. held findings) is persisted and resumes at restart.
    this.commit(true);
    this.closed = true;
    await this.worker.close();
  }
}
