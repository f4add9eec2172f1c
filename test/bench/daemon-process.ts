/**
 * The real daemon as a separate process for the end-to-end benchmark: `node dist/src/cli.js serve` with
 * a temporary config (every listener on 127.0.0.1 port 0, SQLite in a temp folder), bound ports read
 * from the "vigil ready" log line, CPU and memory read from /proc, /metrics scraped with the token.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_TOKEN = 'bench-token-0123456789abcdef';

/** dist/test/bench -> dist/src/cli.js; VIGIL_BENCH_CLI points at another build (e.g. an experiment's copy). */
const CLI = process.env.VIGIL_BENCH_CLI || fileURLToPath(new URL('../../src/cli.js', import.meta.url));

let clkTck = 0;
function ticksPerSecond(): number {
  if (clkTck === 0) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

export interface CpuSample {
  /** user + system CPU seconds of the whole process (all threads). */
  cpuSec: number;
  at: bigint;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From SIGTERM to exit (0 when it had exited already). */
  ms: number;
}

export interface DaemonOptions {
  label: string;
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir', dir]. */
  nodeArgs?: string[];
  readyTimeoutMs?: number;
  /** Extra top-level YAML lines appended to the config (e.g. a `webhooks:` section). */
  extraConfig?: string[];
}

/** Daemons not yet stopped: killed and cleaned up if the benchmark itself dies first. */
const running = new Set<DaemonProcess>();
process.once('exit', () => {
  for (const d of running) {
    d.child.kill('SIGKILL');
    d.cleanup();
  }
});

export class DaemonProcess {
  readonly dir: string;
  readonly child: ChildProcess;
  grpc = '';
  http = '';
  api = '';
  /** Lines of stderr that are not info/debug (warnings, errors), and the last few lines of all. */
  readonly problems: string[] = [];
  /** `alert: …` lines (serve logs every alert at warn): expected when alerts are raised, not problems. */
  alertLogLines = 0;
  private readonly tail: string[] = [];
  private exited: Promise<Exit & { at: number }>;
  private rssTimer: NodeJS.Timeout | null = null;
  peakRssKb = 0;
  /** Set once the process has exited (for whatever reason). */
  exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;

  private constructor(readonly options: DaemonOptions) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `vigil-bench-${options.label}-`));
    const config = [
      'receivers:',
      '  otlp:',
      '    grpc: { enabled: true, endpoint: "127.0.0.1:0" }',
      '    http: { enabled: true, endpoint: "127.0.0.1:0" }',
      'api:',
      '  endpoint: "127.0.0.1:0"',
      `  token: "${BENCH_TOKEN}"`,
      'storage:',
      `  path: ${JSON.stringify(path.join(this.dir, 'vigil.db'))}`,
      'log:',
      '  level: info', // the "vigil ready" line (ports) is info; the hot path logs nothing at info
      ...(options.extraConfig ?? []),
      '',
    ].join('\n');
    const configPath = path.join(this.dir, 'config.yaml');
    fs.writeFileSync(configPath, config);
    const env = { ...process.env, VIGIL_API_TOKEN: BENCH_TOKEN };
    this.child = spawn(process.execPath, [...(options.nodeArgs ?? []), CLI, 'serve', '--config', configPath], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    running.add(this);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        running.delete(this);
        this.exit = { code, signal };
        resolve({ code, signal, ms: 0, at: Date.now() });
      });
    });
  }

  get alive(): boolean {
    return this.exit === null;
  }

  /** Why it is gone, with the last lines it logged (a crash, an out-of-memory abort). */
  deathNote(): string {
    return `the daemon exited (code ${this.exit?.code}, signal ${this.exit?.signal}); last stderr lines:\n    ${this.tail.slice(-12).join('\n    ')}`;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Spawns the daemon and resolves once it logged "vigil ready" (with its bound addresses). */
  static async start(options: DaemonOptions): Promise<DaemonProcess> {
    const d = new DaemonProcess(options);
    try {
      await d.waitReady(options.readyTimeoutMs ?? 15_000);
    } catch (err) {
      await d.stop(2000);
      d.cleanup();
      throw err;
    }
    return d;
  }

  private waitReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let pending = '';
      let ready = false;
      const timer = setTimeout(() => reject(new Error(`daemon not ready after ${timeoutMs} ms:\n${this.tail.join('\n')}`)), timeoutMs);
      this.child.stderr!.setEncoding('utf8');
      this.child.stderr!.on('data', (chunk: string) => {
        pending += chunk;
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          this.tail.push(line);
          if (this.tail.length > 30) this.tail.shift();
          let rec: Record<string, unknown> | null = null;
          try {
            rec = JSON.parse(line) as Record<string, unknown>;
          } catch {
            this.problems.push(line); // not a log line: a crash or a node warning
            continue;
          }
          if (typeof rec.msg === 'string' && rec.msg.startsWith('alert: ') && rec.alert !== undefined) this.alertLogLines++;
          else if (typeof rec.level === 'number' && rec.level >= 40 && this.problems.length < 50) this.problems.push(line);
          if (!ready && typeof rec.msg === 'string' && rec.msg.startsWith('vigil ready')) {
            ready = true;
            this.grpc = String(rec.otlpGrpc);
            this.http = String(rec.otlpHttp);
            this.api = String(rec.api);
            clearTimeout(timer);
            resolve();
          }
        }
      });
      void this.exited.then((e) => {
        if (ready) return;
        clearTimeout(timer);
        reject(new Error(`daemon exited (code ${e.code}, signal ${e.signal}) before it was ready:\n${this.tail.join('\n')}`));
      });
    });
  }

  /** CPU seconds (user + sys, all threads) used so far, from /proc/<pid>/stat. */
  cpu(): CpuSample {
    const stat = fs.readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3; utime is 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { cpuSec: ticks / ticksPerSecond(), at: process.hrtime.bigint() };
  }

  /** VmRSS (now) and VmHWM (peak since start), KiB. */
  memory(): { rssKb: number; hwmKb: number } {
    const status = fs.readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
  }

  /** Samples VmRSS every `everyMs` for `peakRssKb` (VmHWM covers the peak too; this shows it is not a start-up spike). */
  watchRss(everyMs = 200): void {
    this.rssTimer ??= setInterval(() => {
      try {
        this.peakRssKb = Math.max(this.peakRssKb, this.memory().rssKb);
      } catch {
        // exited
      }
    }, everyMs);
  }

  unwatchRss(): void {
    if (this.rssTimer) clearInterval(this.rssTimer);
    this.rssTimer = null;
  }

  /** GET an API path with the bearer token. */
  get(pathname: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
    const i = this.api.lastIndexOf(':');
    return new Promise((resolve, reject) => {
      const req = http.get(
        { host: this.api.slice(0, i), port: Number(this.api.slice(i + 1)), path: pathname, headers: { Authorization: `Bearer ${BENCH_TOKEN}` }, agent: false },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          res.on('error', reject);
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${pathname} timed out`)));
      req.on('error', reject);
    });
  }

  async metrics(): Promise<Map<string, number>> {
    const { status, body } = await this.get('/metrics');
    if (status !== 200) throw new Error(`/metrics answered ${status}`);
    return sumMetrics(body);
  }

  /** Waits until the daemon has no queued spans and no buffered trace (bounded), so its counters are final. */
  async settledMetrics(timeoutMs = 6000): Promise<Map<string, number>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = await this.metrics();
      const busy = (m.get('vigil_ingest_queue_spans') ?? 0) + (m.get('vigil_trace_buffer_spans') ?? 0);
      if (busy === 0 || Date.now() > deadline) return m;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGTERM, then wait (bounded) for the exit; SIGKILL if it does not come. */
  async stop(timeoutMs = 15_000): Promise<Exit> {
    this.unwatchRss();
    const sentAt = Date.now();
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((r) => (timer = setTimeout(() => r(null), timeoutMs)));
    const exit = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (exit !== null) return { code: exit.code, signal: exit.signal, ms: Math.max(0, exit.at - sentAt) };
    this.child.kill('SIGKILL');
    const killed = await this.exited;
    return { code: killed.code ?? -1, signal: killed.signal, ms: killed.at - sentAt };
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  get logTail(): string[] {
    return this.tail.slice();
  }
}

/** CPU seconds the whole host has spent busy (all CPUs, every process), from /proc/stat. */
export function hostBusySeconds(): number {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0);
  return busy / ticksPerSecond();
}

/** Prometheus text -> metric name -> sum over all its label sets. */
export function sumMetrics(text: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const v = Number(m[3]);
    if (Number.isFinite(v)) sums.set(m[1], (sums.get(m[1]) ?? 0) + v);
  }
  return sums;
}
