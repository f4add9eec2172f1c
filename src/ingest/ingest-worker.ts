/**
 * The main thread's handle on the ingest worker: starts it, posts work, and turns its batches back into
 * actions, metrics and log lines. If the worker dies (a bug, out of memory), it is started again and the
 * owner is told the work posted to it was lost, so those exports are answered with a retryable error. A
 * worker that keeps dying soon after its start is restarted with a growing delay (work waits meanwhile).
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { Action } from '../actions/types.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { ActionDecoder } from './action-codec.js';
import type { BadLine, Done, FromWorker, SuspectSpans, ToWorker, WorkerSetup } from './protocol.js';

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
/** A worker that dies this soon after its start counts as a crash loop: the next start waits. */
const CRASH_LOOP_MS = 10_000;
const MAX_RESTART_DELAY_MS = 10_000;

export interface Batch {
  actions: Action[];
  done: Done[];
  badLines: BadLine[];
  suspects: SuspectSpans[];
  drained: boolean;
}

export interface IngestWorkerEvents {
  onBatch(batch: Batch): void;
  /** The worker died: the work posted and not answered is lost (it is started again, at once or after a delay). */
  onCrash(err: Error): void;
}

export class IngestWorker {
  private worker: Worker | null = null;
  private fastPort: MessagePort | null = null;
  private decoder!: ActionDecoder;
  private stopping = false;
  private startedAt = 0;
  private quickCrashes = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  /** Messages posted while no worker runs (between a crash and a delayed restart). */
  private waiting: Array<{ msg: ToWorker; fast: boolean }> = [];

  constructor(
    private readonly setup: Omit<WorkerSetup, 'logLevel'>,
    private readonly deps: { metrics: Metrics; logger: Logger },
    private readonly events: IngestWorkerEvents,
  ) {
    if (!fs.existsSync(fileURLToPath(WORKER_URL))) {
      throw new Error(`the ingest worker ${fileURLToPath(WORKER_URL)} is missing: build Vigil first (npm run build)`);
    }
    this.start();
  }

  private start(): void {
    this.restartTimer = null;
    this.startedAt = Date.now();
    const fast = new MessageChannel();
    this.fastPort = fast.port1;
    const workerData: WorkerSetup = { ...this.setup, logLevel: this.deps.logger.level, fastPort: fast.port2 };
    this.decoder = new ActionDecoder();
    this.worker = new Worker(WORKER_URL, {
      workerData,
      transferList: [fast.port2],
      name: 'vigil-ingest',
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    const worker = this.worker;
    this.deps.metrics.watchIngestWorker(() => worker.performance.eventLoopUtilization());
    this.worker.on('message', (msg: FromWorker) => this.onMessage(msg));
    this.worker.on('error', (err) => this.crashed(err));
    this.worker.on('exit', (code) => {
      if (!this.stopping) this.crashed(new Error(`the ingest worker exited with code ${code}`));
    });
    for (const { msg, fast } of this.waiting.splice(0)) this.post(msg, fast);
  }

  private crashed(err: Error): void {
    if (this.stopping || this.worker === null) return;
    this.quickCrashes = Date.now() - this.startedAt < CRASH_LOOP_MS ? this.quickCrashes + 1 : 0;
    const delay = this.quickCrashes <= 1 ? 0 : Math.min(MAX_RESTART_DELAY_MS, 250 * 2 ** (this.quickCrashes - 2));
    this.deps.logger.error({ err, restartInMs: delay }, 'ingest worker failed; restarting it (held traces are lost, unanswered exports are refused as retryable)');
    this.worker.removeAllListeners();
    void this.worker.terminate();
    this.worker = null;
    this.fastPort?.close();
    this.fastPort = null;
    if (delay === 0) this.start();
    else this.restartTimer = setTimeout(() => this.start(), delay);
    this.events.onCrash(err);
  }

  /** Posts in order; `fast` exports take the worker's fast-lane port (see WorkerSetup.fastPort). */
  post(msg: ToWorker, fast = false): void {
    if (this.worker === null) this.waiting.push({ msg, fast });
    else if (fast && this.fastPort) this.fastPort.postMessage(msg);
    else this.worker.postMessage(msg);
  }

  private onMessage(msg: FromWorker): void {
    const { metrics, logger } = this.deps;
    const { stats } = msg;
    for (const [receiver, n] of stats.received) metrics.spansReceived.inc({ receiver }, n);
    for (const [receiver, n] of stats.accepted) metrics.spansAccepted.inc({ receiver }, n);
    for (const [receiver, reason, n] of stats.rejected) metrics.spansRejected.inc({ receiver, reason }, n);
    for (const [reason, n] of stats.ignored) metrics.spansIgnored.inc({ reason }, n);
    metrics.traceBufferSpans.set(msg.held);
    metrics.ingestHeapUsed.set(stats.heap.usedBytes);
    metrics.ingestHeapTotal.set(stats.heap.totalBytes);
    for (const r of msg.logs) logger[r.level](r.obj, r.msg);
    const actions = msg.actions ? this.decoder.decode(msg.actions) : [];
    this.events.onBatch({ actions, done: msg.done, badLines: msg.badLines, suspects: msg.suspects, drained: msg.drained });
  }

  /** Asks the worker to exit, and terminates it if it has not within a second. */
  async close(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const worker = this.worker;
    if (worker === null) return;
    this.fastPort?.close();
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ t: 'stop' } satisfies ToWorker);
    const timer = setTimeout(() => void worker.terminate(), 1000);
    await exited;
    clearTimeout(timer);
  }
}
