/**
 * The main thread's handle on the ingest worker: starts it, posts work, and turns its batches back into
 * actions, metrics and log lines. If the worker dies (a bug, out of memory), it is started again and the
 * owner is told which work was lost so it can answer those exports with a retryable error.
 */
import { Worker } from 'node:worker_threads';
import type { Action } from '../actions/types.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { ActionDecoder } from './action-codec.js';
import type { BadLine, Done, FromWorker, ToWorker, WorkerSetup } from './protocol.js';

/**
 * The worker's compiled file. Under vitest this module runs from its TypeScript source, which a worker
 * thread cannot load: the build (`npm test` builds first) is used then.
 */
const WORKER_URL = import.meta.url.endsWith('.ts')
  ? new URL('../../dist/src/ingest/worker.js', import.meta.url)
  : new URL('./worker.js', import.meta.url);

/**
 * Decoding and building actions allocate short-lived objects fast; a larger young generation than the
 * default means fewer scavenges (GC was a quarter of the worker's time; ~8% more throughput measured).
 */
const YOUNG_GENERATION_MB = 48;

export interface Batch {
  actions: Action[];
  done: Done[];
  badLines: BadLine[];
  drained: boolean;
}

export interface IngestWorkerEvents {
  onBatch(batch: Batch): void;
  /** The worker died: the work posted and not answered is lost (the worker has been started again). */
  onCrash(err: Error): void;
}

export class IngestWorker {
  private worker!: Worker;
  private decoder!: ActionDecoder;
  private stopping = false;

  constructor(
    private readonly setup: Omit<WorkerSetup, 'logLevel'>,
    private readonly deps: { metrics: Metrics; logger: Logger },
    private readonly events: IngestWorkerEvents,
  ) {
    this.start();
  }

  private start(): void {
    const workerData: WorkerSetup = { ...this.setup, logLevel: this.deps.logger.level };
    this.decoder = new ActionDecoder();
    this.worker = new Worker(WORKER_URL, { workerData, name: 'vigil-ingest', resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
    const worker = this.worker;
    this.deps.metrics.watchIngestWorker(() => worker.performance.eventLoopUtilization());
    this.worker.on('message', (msg: FromWorker) => this.onMessage(msg));
    this.worker.on('error', (err) => this.crashed(err));
    this.worker.on('exit', (code) => {
      if (!this.stopping) this.crashed(new Error(`the ingest worker exited with code ${code}`));
    });
  }

  private crashed(err: Error): void {
    if (this.stopping) return;
    this.deps.logger.error({ err }, 'ingest worker failed; restarting it (held traces are lost, unanswered exports are refused as retryable)');
    this.worker.removeAllListeners();
    void this.worker.terminate();
    this.start();
    this.events.onCrash(err);
  }

  post(msg: ToWorker): void {
    this.worker.postMessage(msg);
  }

  private onMessage(msg: FromWorker): void {
    const { metrics, logger } = this.deps;
    const { stats } = msg;
    for (const [receiver, n] of stats.received) metrics.spansReceived.inc({ receiver }, n);
    for (const [receiver, n] of stats.accepted) metrics.spansAccepted.inc({ receiver }, n);
    for (const [receiver, reason, n] of stats.rejected) metrics.spansRejected.inc({ receiver, reason }, n);
    for (const [reason, n] of stats.ignored) metrics.spansIgnored.inc({ reason }, n);
    metrics.traceBufferSpans.set(msg.held);
    for (const r of msg.logs) logger[r.level](r.obj, r.msg);
    const actions = msg.actions ? this.decoder.decode(msg.actions) : [];
    this.events.onBatch({ actions, done: msg.done, badLines: msg.badLines, drained: msg.drained });
  }

  /** Asks the worker to exit, and terminates it if it has not within a second. */
  async close(): Promise<void> {
    this.stopping = true;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ t: 'stop' } satisfies ToWorker);
    const timer = setTimeout(() => void this.worker.terminate(), 1000);
    await exited;
    clearTimeout(timer);
  }
}
