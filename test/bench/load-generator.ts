/**
 * Load generator, run as a separate process (`child_process.fork`) so its CPU does not share the daemon's
 * event loop. Sends pre-encoded 512-span OTLP/protobuf batches (fresh trace ids per send) over gRPC or
 * HTTP with a fixed number of requests in flight, for a warm-up then a measured window.
 *
 * Two modes: closed loop (default: `concurrency` requests always in flight, as fast as the daemon answers)
 * and paced (`spansPerSec`: one batch every 512/spansPerSec s, open loop, with `concurrency` as a cap on
 * requests in flight; a send that finds the cap reached is skipped and counted, never sent late in a burst).
 *
 * IPC: parent -> {type:'run', config}; child -> {type:'built'} once batches are encoded,
 * {type:'window-start'}, {type:'window-end'}, then {type:'result', result}, and exits. The parent may send
 * {type:'stop'} to end the measured window early (the latency bench stops the load once its probes are done).
 */
import http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { buildBatches, rejectedSpans, TraceIdStamper, type BatchShape, type StampedBatch } from './bench-batches.js';

export interface LoadConfig extends BatchShape {
  transport: 'grpc' | 'http';
  /** host:port */
  target: string;
  concurrency: number;
  /** gRPC channels (distinct HTTP/2 connections) the requests are spread over. */
  channels: number;
  warmupMs: number;
  durationMs: number;
  requestTimeoutMs: number;
  /** Paced mode: offered load in spans/s (whole batches); closed loop when absent or 0. */
  spansPerSec?: number;
}

export interface WindowStats {
  ms: number;
  requests: number;
  spansAcked: number;
  spansRejected: number;
  backpressure: number;
  errors: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** The generator's own CPU in the window, % of one core (near 100 means client-bound). */
  clientCpuPct: number;
  /** Paced mode: sends skipped because `concurrency` requests were still in flight (the daemon fell behind). */
  skippedSends: number;
}

export interface LoadResult {
  window: WindowStats;
  /** Over the whole run, warm-up and drain included (what the daemon's counters should show). */
  total: { requests: number; spansSent: number; spansAcked: number; spansRejected: number; backpressure: number; errors: number };
  batchBytes: number;
  errorSamples: string[];
}

type Outcome = { kind: 'ok'; rejected: number } | { kind: 'backpressure'; what: string } | { kind: 'error'; what: string };
type Sender = (batch: StampedBatch, done: (o: Outcome) => void) => void;

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

function grpcSender(cfg: LoadConfig): { send: Sender; close(): void } {
  const clients: grpc.Client[] = [];
  for (let i = 0; i < cfg.channels; i++) {
    // grpc-js shares subchannels (connections) between channels with equal options through a global
    // pool; a local pool per client gives each its own HTTP/2 connection.
    clients.push(new grpc.Client(cfg.target, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.primary_user_agent': `vigil-bench-${i}`,
      'grpc.max_send_message_length': 64 * 1024 * 1024,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    }));
  }
  let next = 0;
  const pass = (b: Buffer) => b;
  const send: Sender = (batch, done) => {
    const client = clients[next++ % clients.length];
    client.makeUnaryRequest<Buffer, Buffer>(EXPORT_PATH, pass, pass, batch.buf, new grpc.Metadata(), { deadline: Date.now() + cfg.requestTimeoutMs }, (err, resp) => {
      if (err) {
        const what = `grpc ${grpc.status[err.code] ?? err.code}: ${err.details}`;
        done(err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.RESOURCE_EXHAUSTED ? { kind: 'backpressure', what } : { kind: 'error', what });
        return;
      }
      const rejected = rejectedSpans(resp ?? Buffer.alloc(0));
      done(rejected < 0 ? { kind: 'error', what: 'grpc: unparsable response' } : { kind: 'ok', rejected });
    });
  };
  return { send, close: () => clients.forEach((c) => c.close()) };
}

function httpSender(cfg: LoadConfig): { send: Sender; close(): void } {
  const i = cfg.target.lastIndexOf(':');
  const host = cfg.target.slice(0, i);
  const port = Number(cfg.target.slice(i + 1));
  const agent = new http.Agent({ keepAlive: true, maxSockets: cfg.concurrency });
  const send: Sender = (batch, done) => {
    let finished = false;
    const finish = (o: Outcome) => {
      if (!finished) {
        finished = true;
        done(o);
      }
    };
    const req = http.request(
      { host, port, method: 'POST', path: '/v1/traces', agent, headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': batch.buf.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => finish({ kind: 'error', what: `http response: ${err.message}` }));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status === 200) {
            const rejected = rejectedSpans(Buffer.concat(chunks));
            finish(rejected < 0 ? { kind: 'error', what: 'http: unparsable response' } : { kind: 'ok', rejected });
          } else if (status === 429 || status === 502 || status === 503 || status === 504) {
            finish({ kind: 'backpressure', what: `http ${status}` });
          } else {
            finish({ kind: 'error', what: `http ${status}: ${Buffer.concat(chunks).toString('utf8').slice(0, 200)}` });
          }
        });
      },
    );
    req.setTimeout(cfg.requestTimeoutMs, () => req.destroy(new Error('request timed out')));
    req.on('error', (err) => finish({ kind: 'error', what: `http: ${err.message}` }));
    req.end(batch.buf);
  };
  return { send, close: () => agent.destroy() };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export async function runLoad(cfg: LoadConfig, notify: (msg: { type: string }) => void, stop?: AbortSignal): Promise<LoadResult> {
  // Spans start a minute ago by the shared host clock: recent, never in the future.
  const batches = buildBatches(cfg, Date.now() - 60_000);
  notify({ type: 'built' });
  const stamper = new TraceIdStamper();
  if (batches.length < cfg.concurrency) throw new Error(`${batches.length} batches cannot feed ${cfg.concurrency} requests in flight`);
  const free = batches.slice();
  const sender = cfg.transport === 'grpc' ? grpcSender(cfg) : httpSender(cfg);

  const total = { requests: 0, spansSent: 0, spansAcked: 0, spansRejected: 0, backpressure: 0, errors: 0 };
  const win = { requests: 0, spansAcked: 0, spansRejected: 0, backpressure: 0, errors: 0 };
  const latencies = new Float64Array(1 << 20);
  let nLat = 0;
  const errorSamples: string[] = [];

  const t0 = performance.now();
  const windowEnd = t0 + cfg.warmupMs + cfg.durationMs;
  let inWindow = false;
  let windowOver = false;
  let windowStartedAt = 0;
  let windowMs = 0;
  let cpuAtStart = process.cpuUsage();
  let cpuInWindow = { user: 0, system: 0 };
  let active = 0;
  const paced = (cfg.spansPerSec ?? 0) > 0;
  let skippedSends = 0;

  // Window edges are marked by timers, not by responses, so an idle stretch cannot move them.
  const startTimer = setTimeout(() => {
    inWindow = true;
    windowStartedAt = performance.now();
    cpuAtStart = process.cpuUsage();
    notify({ type: 'window-start' });
  }, cfg.warmupMs);
  let stoppedEarly = false;
  const endWindow = (early: boolean) => {
    if (windowOver) return;
    clearTimeout(endTimer);
    stoppedEarly = early;
    if (inWindow) {
      windowMs = performance.now() - windowStartedAt;
      cpuInWindow = process.cpuUsage(cpuAtStart);
    }
    inWindow = false;
    windowOver = true;
    notify({ type: 'window-end' });
  };
  const endTimer = setTimeout(() => endWindow(false), cfg.warmupMs + cfg.durationMs);
  stop?.addEventListener('abort', () => endWindow(true), { once: true });

  await new Promise<void>((resolveAll) => {
    const over = () => windowOver || performance.now() >= windowEnd;
    const launch = () => {
      if (over()) {
        if (active === 0) resolveAll();
        return;
      }
      launchOne();
    };
    const launchOne = () => {
      const batch = free.shift()!; // FIFO: every batch (and so every identity) takes its turn
      stamper.stamp(batch);
      active++;
      total.requests++;
      total.spansSent += batch.spans;
      const sentAt = performance.now();
      sender.send(batch, (o) => {
        const now = performance.now();
        active--;
        free.push(batch);
        const counted = inWindow; // completed inside the measured window
        if (o.kind === 'ok') {
          total.spansAcked += batch.spans - o.rejected;
          total.spansRejected += o.rejected;
          if (counted) {
            win.requests++;
            win.spansAcked += batch.spans - o.rejected;
            win.spansRejected += o.rejected;
            if (nLat < latencies.length) latencies[nLat++] = now - sentAt;
          }
        } else {
          if (o.kind === 'backpressure') total.backpressure++;
          else total.errors++;
          if (counted) {
            if (o.kind === 'backpressure') win.backpressure++;
            else win.errors++;
          }
          if (errorSamples.length < 5) errorSamples.push(o.what);
        }
        if (paced) {
          if (over() && active === 0) resolveAll();
          return; // the pacer launches the next one
        }
        // A refused request is followed at once by the next one: the load stays at `concurrency`. After
        // a failure (daemon gone, connection refused) pause briefly rather than spin.
        if (o.kind === 'error') setTimeout(launch, 20);
        else launch();
      });
    };
    if (!paced) {
      for (let i = 0; i < cfg.concurrency; i++) launch();
      return;
    }
    // Paced: send k is due at t0 + k * gap; a timer wakes for the next due send.
    const gapMs = (cfg.spansPerBatch / cfg.spansPerSec!) * 1000;
    let sent = 0;
    const pace = () => {
      if (over()) {
        if (active === 0) resolveAll();
        return;
      }
      const due = Math.floor((performance.now() - t0) / gapMs) + 1;
      while (sent < due && active < cfg.concurrency) {
        launchOne();
        sent++;
      }
      if (sent < due) {
        skippedSends += due - sent;
        sent = due;
      }
      setTimeout(pace, Math.max(0, t0 + sent * gapMs - performance.now()));
    };
    pace();
  });
  clearTimeout(startTimer);
  clearTimeout(endTimer);
  sender.close();

  const sorted = latencies.slice(0, nLat).sort();
  const cpuUs = cpuInWindow.user + cpuInWindow.system;
  // The window lasts durationMs unless a stop message ended it early (then as long as it really lasted).
  const ms = stoppedEarly ? Math.max(1, Math.round(windowMs)) : cfg.durationMs;
  return {
    window: {
      ms,
      requests: win.requests,
      spansAcked: win.spansAcked,
      spansRejected: win.spansRejected,
      backpressure: win.backpressure,
      errors: win.errors,
      latencyMs: { p50: round(percentile(sorted, 50)), p90: round(percentile(sorted, 90)), p99: round(percentile(sorted, 99)), max: round(sorted[sorted.length - 1] ?? 0) },
      clientCpuPct: round((cpuUs / 1000 / ms) * 100, 1),
      skippedSends,
    },
    total,
    batchBytes: Math.round(batches.reduce((n, b) => n + b.buf.length, 0) / batches.length),
    errorSamples,
  };
}

// Child-process entry.
if (process.send !== undefined) {
  const send = (msg: unknown) => process.send!(msg);
  const last = (msg: unknown) => process.send!(msg, () => process.exit(0));
  const stop = new AbortController();
  process.on('message', (msg: { type: string; config: LoadConfig }) => {
    if (msg.type === 'stop') stop.abort();
    if (msg.type !== 'run') return;
    runLoad(msg.config, send, stop.signal).then(
      (result) => last({ type: 'result', result }),
      (err: unknown) => last({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
}
