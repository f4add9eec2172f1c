/**
 * The pipeline between the receivers and the store: validate -> bounded queue -> actions -> store.
 *
 * Acknowledgement rule: an export is answered only after the group commit that follows the processing of
 * its spans, so a `kill -9` never loses the effect of an acknowledged export on the store — except for
 * spans of traces still held in the per-trace buffer (at most `traces.wait` of them, bounded by
 * `traces.maxTraces`), which are turned into actions and committed once their trace is ready.
 *
 * Backpressure: `submit` refuses a request whole (retryable) when its spans do not fit the queue, so memory
 * stays bounded whatever the clients do; the work loop yields to the event loop every slice so sockets,
 * health checks and metrics stay responsive under load.
 */
import { rejectReason, type ActionBuilder, type RejectReason } from './actions/index.js';
import { toActionLine, type Action } from './actions/types.js';
import type { Config } from './config/schema.js';
import { VigilError } from './errors.js';
import type { Logger } from './log.js';
import type { Metrics, Receiver } from './metrics.js';
import type { DecodedRequest, DecodedSpan } from './model.js';
import type { Db } from './store/database.js';
import type { IdentityStore } from './store/identities.js';

/**
 * Spans turned into actions per event-loop turn: large enough to amortise, small enough that a turn
 * stays under ~10 ms (4096 made 50-80 ms turns, the tail of alert latency under load).
 */
const SLICE_SPANS = 512;
/**
 * Exports this small skip the line: a single agent's trace should not wait behind every 512-span batch
 * a Collector queued before it. Order between requests is not promised by OTLP anyway.
 */
const FAST_LANE_SPANS = 64;
/**
 * Exports larger than this are decoded in the work loop rather than where they are received: a burst of
 * large batches would otherwise be decoded back to back in one I/O turn, ahead of everything else.
 */
const DEFER_DECODE_BYTES = 32 * 1024;
/** Bytes per span assumed when bounding the queue by an undecoded export's size (real spans are ~450 B). */
const ESTIMATE_BYTES_PER_SPAN = 256;

export interface SubmitResult {
  rejected: number;
  /** A summary of why spans were rejected, '' when none were (OTLP `error_message`). */
  errorMessage: string;
  /** Resolves once the accepted spans are processed and committed; rejects if the daemon stops first. */
  durable: Promise<void>;
}

/** Something that wants every action, in order. */
export type ActionSink = (actions: Action[]) => void;

/** A stage after the actions: the detection engine. It also writes its state in the group commit. */
export interface Stage {
  process(actions: readonly Action[]): void;
  /** No more actions will come (end of a replay): settle anything pending. */
  finish(): void;
  /** Called inside the commit transaction; `final` at shutdown and the end of a replay. */
  commit(final: boolean): void;
}

/** What an export is answered with once durable (OTLP partial success). */
export interface Outcome {
  rejected: number;
  errorMessage: string;
}

interface Ticket {
  resolve(outcome: Outcome): void;
  reject(err: Error): void;
}

interface QueueEntry {
  spans: DecodedSpan[];
  offset: number;
  ticket: Ticket;
  /** A large export still undecoded: decoded when it reaches the head of the queue (see `ingest`). */
  decode?: () => DecodedRequest;
  /** Spans counted against the queue bound for an undecoded export (an estimate from its size). */
  estimate: number;
  outcome: Outcome;
}

export interface PipelineDeps {
  config: Config;
  db: Db;
  identities: IdentityStore;
  builder: ActionBuilder;
  metrics: Metrics;
  logger: Logger;
  /** Wall clock (ms). Replay uses event time instead and does not go through the queue. */
  now?: () => number;
}

export class Pipeline {
  private readonly queue: QueueEntry[] = [];
  private queuedSpans = 0;
  private readonly awaitingCommit: QueueEntry[] = [];
  private readonly stages: Stage[] = [];
  private scheduled = false;
  private paused = false;
  private commitScheduled = false;
  /** Small exports sit at the front of the queue, in arrival order, before this index. */
  private fastLaneEnd = 0;
  private lastCommit = 0;
  private closed = false;
  private readonly waitTimer: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(private readonly deps: PipelineDeps) {
    this.now = deps.now ?? Date.now;
    deps.metrics.queueCapacity.set(deps.config.ingest.queueSpans);
    // Traces waiting for late children become ready with the passage of time, not only with new spans.
    this.waitTimer = setInterval(() => this.schedule(), Math.max(50, Math.min(1000, deps.config.traces.wait / 4)));
    this.waitTimer.unref();
  }

  /** Adds a consumer of actions (called synchronously, in order, before the commit that covers them). */
  addSink(sink: ActionSink): void {
    this.stages.push({ process: (actions) => sink(actions as Action[]), finish() {}, commit() {} });
  }

  /** Adds a stage (called in order with every action, and in every commit). */
  addStage(stage: Stage): void {
    this.stages.push(stage);
  }

  /**
   * Validates a decoded request, counts rejects, and queues the rest.
   * @throws VigilError VIGIL_ERR_OVERLOADED when the spans do not fit the queue (retryable, nothing kept).
   */
  submit(request: DecodedRequest, receiver: Receiver): SubmitResult {
    const { metrics, config } = this.deps;
    if (this.closed) throw new VigilError('VIGIL_ERR_SHUTTING_DOWN');
    const spans = request.spans;
    if (this.queuedSpans + spans.length > config.ingest.queueSpans && this.queuedSpans > 0) {
      metrics.requestsRejected.inc({ receiver, reason: 'overloaded' });
      throw new VigilError('VIGIL_ERR_OVERLOADED', `${this.queuedSpans} spans queued`);
    }
    const { accepted, rejected, errorMessage } = this.validate(spans, receiver, this.now());
    const outcome = { rejected, errorMessage };

    let ticket!: Ticket;
    const durable = new Promise<Outcome>((resolve, reject) => (ticket = { resolve, reject }));
    if (accepted.length === 0) {
      ticket.resolve(outcome);
    } else {
      const entry: QueueEntry = { spans: accepted, offset: 0, ticket, estimate: 0, outcome };
      if (accepted.length <= FAST_LANE_SPANS) this.queue.splice(this.fastLaneEnd++, 0, entry);
      else this.queue.push(entry);
      this.queuedSpans += accepted.length;
      metrics.queueDepth.set(this.queuedSpans);
      this.schedule();
    }
    return { rejected, errorMessage, durable: durable.then(() => undefined) };
  }

  /**
   * What receivers call: decodes a small export at once, a large one when it reaches the head of the
   * queue, and resolves with its partial-success outcome once it is durable.
   * @throws VigilError (or rejects with it) when it cannot be decoded, or the queue is full.
   */
  ingest(bytes: number, decode: () => DecodedRequest, receiver: Receiver): Promise<Outcome> {
    if (bytes <= DEFER_DECODE_BYTES) {
      const result = this.submit(decode(), receiver);
      return result.durable.then(() => ({ rejected: result.rejected, errorMessage: result.errorMessage }));
    }
    const { metrics, config } = this.deps;
    if (this.closed) throw new VigilError('VIGIL_ERR_SHUTTING_DOWN');
    const estimate = Math.ceil(bytes / ESTIMATE_BYTES_PER_SPAN);
    if (this.queuedSpans + estimate > config.ingest.queueSpans && this.queuedSpans > 0) {
      metrics.requestsRejected.inc({ receiver, reason: 'overloaded' });
      throw new VigilError('VIGIL_ERR_OVERLOADED', `${this.queuedSpans} spans queued`);
    }
    return new Promise<Outcome>((resolve, reject) => {
      const ticket = { resolve, reject };
      this.queue.push({ spans: [], offset: 0, ticket, estimate, outcome: { rejected: 0, errorMessage: '' }, decode: () => {
        const request = decode();
        const { accepted, rejected, errorMessage } = this.validate(request.spans, receiver, this.now());
        return Object.assign(request, { spans: accepted, outcome: { rejected, errorMessage } });
      } });
      this.queuedSpans += estimate;
      metrics.queueDepth.set(this.queuedSpans);
      this.schedule();
    });
  }

  /** Decodes the undecoded export at the head of the queue; false when it failed (and was answered). */
  private decodeHead(entry: QueueEntry): boolean {
    this.queuedSpans -= entry.estimate;
    entry.estimate = 0;
    const decode = entry.decode!;
    entry.decode = undefined;
    try {
      const decoded = decode() as DecodedRequest & { outcome: Outcome };
      entry.spans = decoded.spans;
      entry.outcome = decoded.outcome;
      this.queuedSpans += entry.spans.length;
      return true;
    } catch (err) {
      this.queue.shift();
      entry.ticket.reject(err as Error);
      return false;
    }
  }

  /**
   * Replay's path: the same validation and stages, synchronously, in event time (`eventNow` is the newest
   * span start seen). The caller commits with `flush` now and then so a long replay's memory stays bounded.
   */
  replay(request: DecodedRequest, eventNow: number): number {
    // A backtest has no "future": spans are judged against their own clock.
    const { accepted, rejected } = this.validate(request.spans, 'replay', Number.POSITIVE_INFINITY);
    this.deps.builder.add(accepted, eventNow);
    this.emit(this.deps.builder.take(eventNow));
    return rejected;
  }

  /** Ends a replay: emits every held trace, settles the stages, and commits. */
  finishReplay(): void {
    this.emit(this.deps.builder.drain());
    for (const stage of this.stages) stage.finish();
    this.commit(true);
  }

  /** Commits now (replay calls it periodically; serve commits on its own schedule). */
  flush(): void {
    this.commit();
  }

  private validate(spans: DecodedSpan[], receiver: Receiver, now: number) {
    const { metrics, config } = this.deps;
    metrics.spansReceived.inc({ receiver }, spans.length);
    const accepted: DecodedSpan[] = [];
    let rejects: Map<RejectReason, number> | undefined;
    for (const span of spans) {
      const reason = rejectReason(span, now, config);
      if (reason === null) accepted.push(span);
      else (rejects ??= new Map()).set(reason, (rejects.get(reason) ?? 0) + 1);
    }
    let errorMessage = '';
    if (rejects) {
      for (const [reason, n] of rejects) metrics.spansRejected.inc({ receiver, reason }, n);
      errorMessage = [...rejects].map(([reason, n]) => `${n} span(s) rejected: ${reason}`).join('; ');
      this.deps.logger.debug({ receiver, rejected: Object.fromEntries(rejects) }, 'spans rejected');
    }
    metrics.spansAccepted.inc({ receiver }, accepted.length);
    return { accepted, rejected: spans.length - accepted.length, errorMessage };
  }

  get queueDepth(): number {
    return this.queuedSpans;
  }

  /**
   * Stops turning queued spans into actions until `resume`; requests still queue up to the bound. Tests use
   * it to fill the queue deterministically; an operator-facing pause would use it too.
   */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.closed || this.paused) return;
    this.scheduled = true;
    setImmediate(() => this.work());
  }

  /** One slice of work: turn queued spans into actions, then commit if the queue is empty or a commit is due. */
  private work(): void {
    this.scheduled = false;
    if (this.paused) return;
    const { builder, metrics } = this.deps;
    let budget = SLICE_SPANS;
    while (budget > 0 && this.queue.length > 0) {
      const entry = this.queue[0];
      if (entry.decode && !this.decodeHead(entry)) continue;
      const n = Math.min(budget, entry.spans.length - entry.offset);
      const slice = entry.offset === 0 && n === entry.spans.length ? entry.spans : entry.spans.slice(entry.offset, entry.offset + n);
      builder.add(slice, this.now());
      entry.offset += n;
      budget -= n;
      this.queuedSpans -= n;
      if (entry.offset === entry.spans.length) {
        this.queue.shift();
        if (this.fastLaneEnd > 0) this.fastLaneEnd--;
        this.awaitingCommit.push(entry);
      }
    }
    this.emit(builder.take(this.now()));
    metrics.queueDepth.set(this.queuedSpans);
    metrics.traceBufferSpans.set(builder.heldSpans);

    const due = this.now() - this.lastCommit >= this.deps.config.storage.flushInterval;
    if (due) this.commit();
    else if (this.queue.length === 0) this.scheduleCommit();
    if (this.queue.length > 0) this.schedule();
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
      if (this.queue.length === 0 || this.paused) this.commit();
      // else: work() is scheduled and commits when due or when the queue next empties.
    });
  }

  private emit(actions: Action[]): void {
    if (actions.length === 0) return;
    const { identities, metrics } = this.deps;
    const byKind = new Map<string, number>();
    for (const a of actions) {
      identities.record(a);
      byKind.set(a.kind, (byKind.get(a.kind) ?? 0) + 1);
    }
    for (const [kind, n] of byKind) metrics.actions.inc({ kind }, n);
    // At debug level every derived action is explained (the same line `replay --actions` prints; it
    // carries no payload attribute, so it is safe to log).
    if (this.deps.logger.isLevelEnabled('debug')) for (const a of actions) this.deps.logger.debug({ action: toActionLine(a) }, 'action');
    for (const stage of this.stages) stage.process(actions);
  }

  /** The group commit: every dirty record in one transaction, then the exports it covers are acknowledged. */
  private commit(final = false): void {
    const { db, identities, metrics, logger } = this.deps;
    const done = this.awaitingCommit.splice(0);
    const stop = metrics.commitDuration.startTimer();
    try {
      db.transaction(() => {
        identities.flush();
        for (const stage of this.stages) stage.commit(final);
      })();
    } catch (err) {
      // A failed commit (disk full, I/O error) must not be acknowledged: the exporters will retry.
      logger.error({ err }, 'store commit failed; exports not acknowledged');
      for (const e of done) e.ticket.reject(new VigilError('VIGIL_ERR_OVERLOADED', 'the store could not commit'));
      return;
    } finally {
      stop();
      this.lastCommit = this.now();
    }
    metrics.identities.set(identities.size);
    for (const e of done) e.ticket.resolve(e.outcome);
  }

  /**
   * Stops accepting, processes everything queued, emits every held trace, and commits. Idempotent.
   * Receivers must be closed first so no request is accepted after the final commit.
   */
  close(): void {
    if (this.closed) return;
    clearInterval(this.waitTimer);
    const { builder } = this.deps;
    this.fastLaneEnd = 0;
    while (this.queue.length > 0) {
      const entry = this.queue[0];
      if (entry.decode && !this.decodeHead(entry)) continue;
      this.queue.shift();
      builder.add(entry.offset === 0 ? entry.spans : entry.spans.slice(entry.offset), this.now());
      this.awaitingCommit.push(entry);
    }
    this.queuedSpans = 0;
    this.emit(builder.take(this.now()));
    this.emit(builder.drain());
    // No stage.finish() here: what stages hold (e.g. held findings) is persisted and resumes at restart.
    this.commit(true);
    this.closed = true;
  }
}
