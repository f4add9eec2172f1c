/**
 * The export queue: what goes to the ingest worker, and in what order. Exports wait here, are handed to the
 * worker a bounded window at a time, small ones first, and are released from the bounds once the worker
 * has answered; what then happens to their results (stages, group commit, acknowledgement) is the
 * pipeline's. Separate from pipeline.ts so that each file holds one of its two rules: this one
 * backpressure, the pipeline the acknowledgement rule.
 *
 * Backpressure: `admit` refuses a request whole (retryable) when its spans or its bytes do not fit the
 * queue (`ingest.queueSpans`, `ingest.queueBytes`), so the queue's memory stays bounded whatever the
 * clients send (queue-bounds.ts). The worker is handed a bounded window of exports at a time; the rest
 * wait here, small exports first.
 */
import type { Config } from '../config/schema.js';
import { errorFromWorker, VigilError } from '../errors.js';
import type { Metrics, Receiver } from '../metrics.js';
import type { KnownClient } from '../receiver/client-identities.js';
import { countProtobufSpans } from '../receiver/otlp-protobuf.js';
import type { BodyBudget } from '../receiver/read-body.js';
import type { Done, ExportJob, Format } from './protocol.js';
import { QueueBounds, type Charge } from './queue-bounds.js';

/**
 * Exports go to the worker in messages of up to MESSAGE_SPANS spans, at most MESSAGES_IN_FLIGHT
 * unanswered: one being worked on, one waiting, so the worker never idles while a batch travels back.
 * Delivering a message between threads costs ~0.1-0.5 ms here, so a message carries several exports when
 * they are queued; and an export in the fast lane waits behind at most this much.
 */
const MESSAGE_SPANS = 512;
const MESSAGES_IN_FLIGHT = 3;
/**
 * Exports this small skip the line: a single agent's trace should not wait behind every 512-span batch a
 * Collector queued. They travel in messages of their own, outside the in-flight bound, so they wait behind
 * at most the bulk messages already handed to the worker (OTLP promises no order between requests).
 */
const FAST_LANE_SPANS = 64;
/** Bytes per span assumed for an OTLP/JSON export until the worker has counted (real spans are larger). */
const ESTIMATE_JSON_BYTES_PER_SPAN = 256;

/** What an export is answered with once durable (OTLP partial success). */
export interface Outcome {
  rejected: number;
  errorMessage: string;
}

interface Ticket {
  resolve(outcome: Outcome): void;
  reject(err: Error): void;
}

/** An export the worker has processed: the pipeline resolves its ticket after the group commit that covers it. */
export interface Processed {
  ticket: Ticket;
  outcome: Outcome;
  receiver: Receiver;
}

interface Pending {
  /** What the worker is sent (the ticket's functions cannot cross threads). */
  job: ExportJob;
  /** Counted (protobuf) or estimated (JSON) spans, at least 1, and bytes: held against the bounds until answered. */
  charge: Charge;
  ticket: Ticket;
}

/** Posts exports to the worker; `fast` ones take its fast-lane port (IngestWorker.post). */
type PostExports = (exports: ExportJob[], fast: boolean) => void;

export class ExportQueue {
  private readonly queue: Pending[] = [];
  /** Small exports sit at the front of the queue, in arrival order, before this index. */
  private fastLaneEnd = 0;
  private readonly inFlight = new Map<number, Pending>();
  /** Bulk messages posted to the worker and not yet answered, by the id of their first export. */
  private readonly bulkInFlight = new Set<number>();
  private readonly bounds: QueueBounds;
  private nextId = 1;
  private paused = false;

  constructor(
    limits: Pick<Config['ingest'], 'queueSpans' | 'queueBytes'>,
    private readonly metrics: Metrics,
    private readonly post: PostExports,
  ) {
    metrics.queueCapacity.set(limits.queueSpans);
    this.bounds = new QueueBounds(limits.queueSpans, limits.queueBytes);
  }

  /**
   * Queues an export. The promise is rejected here when the worker fails the export or dies with it, and
   * otherwise resolved by the pipeline, once the group commit after `answered` has made it durable.
   * @throws VigilError VIGIL_ERR_OVERLOADED when its spans or bytes do not fit the queue (retryable, nothing kept).
   */
  admit(bytes: Uint8Array, format: Format, receiver: Receiver, client: KnownClient | null): Promise<Outcome> {
    const counted = format === 'protobuf' ? countProtobufSpans(bytes) : Math.ceil(bytes.length / ESTIMATE_JSON_BYTES_PER_SPAN);
    const spans = Math.max(1, counted); // an export of no spans still costs its bytes and a slot
    const charge: Charge = { spans, bytes: bytes.length, small: spans <= FAST_LANE_SPANS };
    if (!this.bounds.admit(charge)) {
      // Counted by the receiver, under the catalogue's reason (errors.ts), like a body refused for load.
      throw new VigilError('VIGIL_ERR_OVERLOADED', `${this.bounds.spans} spans (${this.bounds.bytes} bytes) queued`);
    }
    return new Promise<Outcome>((resolve, reject) => {
      const entry: Pending = { job: { id: this.nextId++, receiver, format, bytes, ...(client && { identities: client.identities, peerGroups: client.peerGroups, client: client.name }) }, charge, ticket: { resolve, reject } };
      if (charge.small) this.queue.splice(this.fastLaneEnd++, 0, entry);
      else this.queue.push(entry);
      this.reportMetrics();
      this.dispatch();
    });
  }

  /** An id for other work sent to the worker (replay chunks): one sequence, so a Done names one thing. */
  newId(): number {
    return this.nextId++;
  }

  /** A budget for one request body while it is read (see QueueBounds.bodyBudget). */
  bodyBudget(): BodyBudget & { release(): void } {
    return this.bounds.bodyBudget();
  }

  /** Spans queued or at the worker, held against `ingest.queueSpans`. */
  get depth(): number {
    return this.bounds.spans;
  }

  /** Nothing waits here and nothing is at the worker. */
  get idle(): boolean {
    return this.queue.length === 0 && this.inFlight.size === 0;
  }

  /** Exports handed to the worker and not yet answered. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /**
   * Stops handing queued exports to the worker until `resume`; requests still queue up to the bound.
   * A test hook: tests use it to fill the queue deterministically.
   */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.dispatch();
  }

  /**
   * Hands queued exports to the worker: the fast lane at once, in messages of its own; bulk exports a
   * message at a time while fewer than MESSAGES_IN_FLIGHT bulk messages are out.
   */
  dispatch(): void {
    while (!this.paused && this.queue.length > 0) {
      const small = this.fastLaneEnd > 0;
      if (!small && this.bulkInFlight.size >= MESSAGES_IN_FLIGHT) return;
      const exports: ExportJob[] = [];
      let spans = 0;
      while (this.queue.length > 0 && (!small || this.fastLaneEnd > 0) && (exports.length === 0 || spans + this.queue[0].charge.spans <= MESSAGE_SPANS)) {
        const entry = this.queue.shift()!;
        if (small) this.fastLaneEnd--;
        this.inFlight.set(entry.job.id, entry);
        spans += entry.charge.spans;
        exports.push(entry.job);
      }
      if (!small) this.bulkInFlight.add(exports[0].id);
      this.post(exports, small);
    }
  }

  /** The worker answered a message (`done`, in order): if it was a bulk message, its slot is free. */
  messageAnswered(done: readonly Done[]): void {
    if (done.length > 0) this.bulkInFlight.delete(done[0].id);
  }

  /**
   * The worker is done with an export: its charge leaves the bounds, and it is rejected (its error) or
   * returned, to be acknowledged by the next group commit. Undefined for an id not queued here.
   */
  answered(d: Done): Processed | undefined {
    const entry = this.inFlight.get(d.id);
    if (!entry) return undefined;
    this.inFlight.delete(d.id);
    this.bounds.release(entry.charge);
    if ('error' in d) {
      entry.ticket.reject(errorFromWorker(d.error));
      return undefined;
    }
    return { ticket: entry.ticket, outcome: { rejected: d.rejected, errorMessage: d.errorMessage }, receiver: entry.job.receiver };
  }

  /** The worker died with these exports unanswered: each is refused with `err` (exporters retry); the queue stays. */
  failInFlight(err: Error): void {
    for (const entry of this.inFlight.values()) {
      this.bounds.release(entry.charge);
      entry.ticket.reject(err);
    }
    this.inFlight.clear();
    this.bulkInFlight.clear();
  }

  reportMetrics(): void {
    this.metrics.queueDepth.set(this.bounds.spans);
    this.metrics.queueBytes.set(this.bounds.bytes);
  }
}
