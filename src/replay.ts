/**
 * `vigil replay`: a backtest. Reads OTLP/JSON lines files (the Collector file exporter's format, `.gz`
 * too) in argument order, runs the serve pipeline synchronously in event time, prints alerts (or, with
 * `--actions`, every derived action) as JSON lines on stdout, and a summary on stderr. Calls no webhook
 * and no broker. Lines go to the ingest worker in chunks (decoded and turned into actions there, one by
 * one, in order) while this thread judges the chunks before them.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import zlib from 'node:zlib';
import { toActionLine } from './actions/types.js';
import type { Config } from './config/schema.js';
import { buildDetection } from './detection.js';
import { matchRule } from './revocation/rules.js';
import { UserError } from './errors.js';
import { createLogger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { MIGRATION_WAIT_MS, openDatabase, readingStore } from './store/database.js';

/** Lines between commits: bounds the work a commit does without paying a commit per line. */
const COMMIT_EVERY_LINES = 256;
/** A chunk for the worker: this many lines or this many characters, whichever comes first. */
const CHUNK_LINES = 64;
const CHUNK_CHARS = 1 << 20;
/** Chunks handed to the worker and not yet judged: keeps both threads busy and memory bounded. */
const CHUNKS_IN_FLIGHT = 4;
/** The file name that reads standard input (`zcat dump.jsonl.gz | vigil replay -`). */
const STDIN = '-';

export interface ReplayOptions {
  config: Config;
  files: string[];
  db: string;
  printActions: boolean;
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
}

export async function runReplay(opts: ReplayOptions): Promise<void> {
  const out = opts.out ?? process.stdout;
  const errOut = opts.err ?? process.stderr;
  for (const file of opts.files) {
    if (file !== STDIN && !fs.existsSync(file)) throw new UserError(`cannot read ${file}: no such file`);
  }
  if (opts.files.filter((f) => f === STDIN).length > 1) throw new UserError('standard input (-) can be read only once');
  const { config } = opts;
  const metrics = createMetrics(['replay']);
  const db = openDatabase(opts.db, '--db', MIGRATION_WAIT_MS);
  const logger = createLogger(config.log.level === 'info' ? 'warn' : config.log.level);
  const { pipeline, identities, alerts } = readingStore(opts.db, '--db', () => buildDetection({ config, db, metrics, logger, mode: 'replay' }));
  // A backtest calls no broker, but says which alerts a revocation rule would have acted on (as a dry run).
  alerts.setResponder({
    begin: () => {},
    respond: (alert, action) => (matchRule(config.revocation.rules, alert, action.credential?.type ?? null) ? { action: 'revoke', mode: 'dry_run' } : undefined),
    revokesAnew: () => false,
  });

  let buffered = '';
  const write = (line: string) => {
    buffered += line + '\n';
    if (buffered.length > 65_536) {
      out.write(buffered);
      buffered = '';
    }
  };
  // Per detector: alerts raised and the findings folded into them (final counts), with the findings
  // folded into alerts an earlier replay into the same --db raised.
  const byDetector = new Map<string, { alerts: number; findings: number }>();
  const detectorOf = new Map<string, string>();
  const storedDetector = db.prepare('SELECT detector FROM alerts WHERE id = ?').pluck();
  const tally = (detector: string, alerts: number, findings: number) => {
    const d = byDetector.get(detector) ?? { alerts: 0, findings: 0 };
    byDetector.set(detector, { alerts: d.alerts + alerts, findings: d.findings + findings });
  };
  alerts.subscribe((e) => {
    if (e.type === 'alert') {
      if (!opts.printActions) write(JSON.stringify(e.alert));
      detectorOf.set(e.alert.id, e.alert.detector);
      tally(e.alert.detector, 1, e.alert.count);
    } else {
      tally(detectorOf.get(e.update.id) ?? String(storedDetector.get(e.update.id)), 0, 1);
    }
  });
  if (opts.printActions) pipeline.addSink((actions) => actions.forEach((a) => a.classOnly || write(JSON.stringify(toActionLine(a)))));

  let badLines = 0;
  let sinceCommit = 0;
  const inFlight: Array<Promise<void>> = [];
  const send = (file: string, firstLine: number, lines: string[]) => {
    const judged = pipeline.replayLines(file, firstLine, lines).then((bad) => {
        for (const b of bad) {
          badLines++;
          metrics.requestsRejected.inc({ receiver: 'replay', reason: 'decode' });
          errOut.write(`vigil replay: ${b.file}:${b.line}: skipped: ${b.message}\n`);
        }
        sinceCommit += lines.length;
        if (sinceCommit >= COMMIT_EVERY_LINES) {
          pipeline.flush();
          sinceCommit = 0;
        }
      });
    judged.catch(() => {}); // awaited below; a failure must not also surface as an unhandled rejection
    inFlight.push(judged);
  };
  try {
    for (const file of opts.files) {
      let lineNo = 0;
      let chunk: string[] = [];
      let chars = 0;
      for await (const line of readLines(file)) {
        lineNo++;
        chunk.push(line);
        chars += line.length;
        if (chunk.length < CHUNK_LINES && chars < CHUNK_CHARS) continue;
        send(file, lineNo - chunk.length + 1, chunk);
        chunk = [];
        chars = 0;
        if (inFlight.length >= CHUNKS_IN_FLIGHT) await inFlight.shift();
      }
      if (chunk.length > 0) send(file, lineNo - chunk.length + 1, chunk);
    }
    await Promise.all(inFlight);
    await pipeline.finishReplay();
    out.write(buffered);
    buffered = '';
    errOut.write(await summary(metrics, identities.size, badLines, byDetector));
  } finally {
    // What was raised is printed even when the replay stops on an error: it is stored already.
    if (buffered) out.write(buffered);
    await Promise.allSettled(inFlight);
    await pipeline.close();
    db.close();
  }
}

async function* readLines(file: string): AsyncGenerator<string> {
  let stream: NodeJS.ReadableStream = file === STDIN ? process.stdin : fs.createReadStream(file);
  if (file.endsWith('.gz')) stream = stream.pipe(zlib.createGunzip());
  const rl = readline.createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of rl) yield line;
  } catch (err) {
    throw new UserError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

async function total(metric: { get(): Promise<{ values: Array<{ value: number; labels: Record<string, unknown> }> }> }, label?: string) {
  const byLabel = new Map<string, number>();
  let sum = 0;
  for (const v of (await metric.get()).values) {
    sum += v.value;
    if (label && v.value > 0) byLabel.set(String(v.labels[label]), (byLabel.get(String(v.labels[label])) ?? 0) + v.value);
  }
  return { sum, byLabel };
}

async function summary(metrics: Metrics, identities: number, badLines: number, byDetector: Map<string, { alerts: number; findings: number }>): Promise<string> {
  const spans = await total(metrics.spansReceived);
  const actions = await total(metrics.actions, 'kind');
  const rejected = await total(metrics.spansRejected, 'reason');
  const ignored = await total(metrics.spansIgnored, 'reason');
  const late = await total(metrics.actionsLate);
  const list = (m: Map<string, number>) => ([...m].map(([k, n]) => `${k}=${n}`).join(' ') || 'none');
  return [
    `replay summary`,
    `  spans       ${spans.sum}`,
    `  actions     ${actions.sum} (${list(actions.byLabel)}), ${late.sum} late (more than time.lateness behind their identity)`,
    `  identities  ${identities}`,
    `  rejected    ${rejected.sum} (${list(rejected.byLabel)})`,
    `  ignored     ${ignored.sum} (${list(ignored.byLabel)})`,
    `  bad lines   ${badLines}`,
    `  alerts      ${[...byDetector.values()].reduce((n, d) => n + d.alerts, 0)} (${[...byDetector].map(([d, c]) => `${d}=${c.alerts} alerts/${c.findings} findings`).join(' ') || 'none'})`,
    '',
  ].join('\n');
}
