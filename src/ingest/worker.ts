/**
 * The ingest worker: decodes exports, validates spans, and turns them into actions in its own thread,
 * so on a machine with two cores the main thread is left with judging, learning and committing. Every
 * message is answered by one batch, in order; serve mode also sends batches on its own when held traces
 * become ready with the passage of time.
 */
import v8 from 'node:v8';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { attributeFilterFor } from '../actions/attributes.js';
import { ActionBuilder } from '../actions/builder.js';
import { compileGlob, type Glob } from '../actions/glob.js';
import { rejectReason, type ClientAllowance, type RejectReason } from '../actions/identity.js';
import type { Action } from '../actions/types.js';
import type { DecodedRequest, DecodedSpan } from '../model.js';
import { VigilError } from '../errors.js';
import { decodeJsonRequest } from '../receiver/otlp-json.js';
import { decodeProtobufRequest } from '../receiver/otlp-protobuf.js';
import { ActionEncoder } from './action-codec.js';
import { SuspectTally } from './suspects.js';
import type { BadLine, Done, ExportJob, FromWorker, LogRecord, ToWorker, WorkerSetup } from './protocol.js';
import type { Receiver } from '../metrics.js';
import { Memo } from '../collections/memo.js';

const { config, mode, logLevel, fastPort } = workerData as WorkerSetup;
const port = parentPort!;
const filter = attributeFilterFor(config);
const encoder = new ActionEncoder();
const suspects = new SuspectTally(config);
const debug = logLevel === 'debug' || logLevel === 'trace';

const received = new Map<Receiver, number>();
const accepted = new Map<Receiver, number>();
const rejected = new Map<string, [Receiver, string, number]>();
const ignored = new Map<string, number>();
let logs: LogRecord[] = [];
const add = <K>(m: Map<K, number>, k: K, n: number) => m.set(k, (m.get(k) ?? 0) + n);

const builder = new ActionBuilder(config, (reason) => {
  add(ignored, reason, 1);
  if (debug) logs.push({ level: 'debug', obj: { reason }, msg: 'span counted under an ignore reason' });
});

/** Event time of a replay: the newest span start seen so far (a backtest has no wall clock). */
let eventNow = 0;

/**
 * Compiled identity and peer-group patterns of the clients seen: few, one list per client rule and
 * client. Bounded because `{client}` rules make one list per client.
 */
const allowedGlobs = new Memo<Glob[]>(1000);
function globsOf(patterns: string[] | undefined): Glob[] | null {
  if (patterns === undefined) return null;
  const key = patterns.join('\n');
  let globs = allowedGlobs.get(key);
  if (globs === undefined) {
    // Identities and peer groups are keys as sent: a case variant is another one, and must not pass as this one.
    allowedGlobs.set(key, (globs = patterns.map((p) => compileGlob(p, { caseSensitive: true }))));
  }
  return globs;
}

/** What an export's client may send, compiled; null when no rules name clients. */
function allowanceOf(job: ExportJob): ClientAllowance | null {
  const identities = globsOf(job.identities);
  return identities === null ? null : { identities, peerGroups: globsOf(job.peerGroups) };
}

/** `at`: when an alert about a rejected span says it was seen (replay: its event time); `client`: who sent them. */
function validate(spans: DecodedSpan[], receiver: Receiver, now: number, at = now, allowed: ClientAllowance | null = null, client?: string) {
  add(received, receiver, spans.length);
  const ok: DecodedSpan[] = [];
  let rejects: Map<RejectReason, number> | undefined;
  for (const span of spans) {
    const reason = rejectReason(span, now, config, allowed);
    if (reason === null) ok.push(span);
    else {
      (rejects ??= new Map()).set(reason, (rejects.get(reason) ?? 0) + 1);
      suspects.note(reason, span, receiver, now, at, client);
    }
  }
  let errorMessage = '';
  if (rejects) {
    for (const [reason, n] of rejects) {
      const entry = rejected.get(receiver + reason) ?? [receiver, reason, 0];
      entry[2] += n;
      rejected.set(receiver + reason, entry);
    }
    errorMessage = [...rejects].map(([reason, n]) => `${n} span(s) rejected: ${reason}`).join('; ');
    if (debug) logs.push({ level: 'debug', obj: { receiver, rejected: Object.fromEntries(rejects) }, msg: 'spans rejected' });
  }
  add(accepted, receiver, ok.length);
  return { ok, rejected: spans.length - ok.length, errorMessage };
}

function send(actions: Action[], done: Done[], badLines: BadLine[] = [], drained = false): void {
  const encoded = actions.length > 0 ? encoder.encode(actions) : null;
  const heap = v8.getHeapStatistics();
  const msg: FromWorker = {
    t: 'batch',
    actions: encoded,
    done,
    badLines,
    suspects: suspects.take(),
    stats: { received: [...received], accepted: [...accepted], rejected: [...rejected.values()], ignored: [...ignored], heap: { usedBytes: heap.used_heap_size, totalBytes: heap.total_heap_size } },
    held: builder.heldSpans,
    logs,
    drained,
  };
  received.clear();
  accepted.clear();
  rejected.clear();
  ignored.clear();
  logs = [];
  port.postMessage(msg, encoded ? [encoded.rows.buffer as ArrayBuffer] : []);
}

function errorOf(err: unknown): { code: string; message: string } {
  if (err instanceof VigilError) return { code: err.code, message: err.message };
  return { code: 'VIGIL_ERR_INTERNAL', message: String(err) };
}

/** Fast-lane exports posted meanwhile are worked on first, each answered at once. */
function takeFastLane(): void {
  if (!fastPort) return;
  for (let m = receiveMessageOnPort(fastPort); m !== undefined; m = receiveMessageOnPort(fastPort)) {
    const msg = m.message as ToWorker;
    if (msg.t === 'exports') onExports(msg.exports, false);
  }
}

function onExports(jobs: ExportJob[], yieldToFastLane = true): void {
  const done: Done[] = [];
  for (const job of jobs) {
    const { id, receiver, format, bytes, client } = job;
    if (yieldToFastLane) takeFastLane();
    const now = Date.now();
    let request: DecodedRequest;
    try {
      request = format === 'json' ? decodeJsonRequest(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'), filter) : decodeProtobufRequest(bytes, filter);
    } catch (err) {
      done.push({ id, spans: 0, error: errorOf(err) });
      continue;
    }
    const v = validate(request.spans, receiver, now, now, allowanceOf(job), client);
    builder.add(v.ok, now);
    done.push({ id, spans: request.spans.length, rejected: v.rejected, errorMessage: v.errorMessage });
  }
  send(builder.take(Date.now()), done);
}

function onLines(id: number, file: string, firstLine: number, lines: string[]): void {
  const actions: Action[] = [];
  const badLines: BadLine[] = [];
  let spans = 0;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    let request: DecodedRequest;
    try {
      request = decodeJsonRequest(lines[i], filter);
    } catch (err) {
      badLines.push({ file, line: firstLine + i, message: errorOf(err).message });
      continue;
    }
    spans += request.spans.length;
    // Spans are judged against their own clock, but recorded traffic has no spans from after the wall
    // clock: one dated months ahead would move event time there and forget every identity's baseline
    // (time.maxFutureSkew, as serve does).
    const now = Date.now();
    const ok = validate(request.spans, 'replay', now, eventNow > 0 ? eventNow : now).ok;
    for (const s of ok) if (s.startMs > eventNow) eventNow = s.startMs;
    builder.add(ok, eventNow);
    for (const a of builder.take(eventNow)) actions.push(a);
  }
  send(actions, [{ id, spans, rejected: 0, errorMessage: '' }], badLines);
}

function onDrain(): void {
  const actions = mode === 'serve' ? builder.take(Date.now()) : [];
  for (const a of builder.drain()) actions.push(a);
  send(actions, [], [], true);
}

port.on('message', (msg: ToWorker) => {
  if (msg.t === 'exports') onExports(msg.exports);
  else if (msg.t === 'lines') onLines(msg.id, msg.file, msg.firstLine, msg.lines);
  else if (msg.t === 'drain') {
    takeFastLane(); // a shutdown drains after every export, fast or not
    onDrain();
  } else {
    fastPort?.close();
    port.close(); // nothing else keeps the thread alive: it exits
  }
});
fastPort?.on('message', (msg: ToWorker) => {
  if (msg.t === 'exports') onExports(msg.exports, false);
});

if (mode === 'serve') {
  // Traces waiting for late children become ready with the passage of time, not only with new spans.
  const timer = setInterval(() => {
    const actions = builder.take(Date.now());
    if (actions.length > 0 || received.size > 0 || ignored.size > 0) send(actions, []);
  }, Math.max(50, Math.min(1000, config.traces.wait / 4)));
  timer.unref();
}
