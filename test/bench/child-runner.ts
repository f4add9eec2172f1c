/**
 * The benchmark's child processes: a compiled entry beside this file (load-generator.js, alert-probe.js,
 * sdk-exporter.js, detect-bench.js) forked with IPC, given its config and awaited for its result.
 */
import { fork, type ChildProcess, type Serializable } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A path beside this (compiled) file: the child entries are forked by their dist/test/bench path. */
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export type ChildMessage = { type: string; result?: unknown; error?: string } & Record<string, unknown>;

/**
 * A forked compiled child entry: sent {type:'run', config} at once; its progress messages go to
 * `onMessage`; `result` settles with its {type:'result'} (or rejects on {type:'failed'}, an exit without a
 * result, or the time limit, which kills it). `send` talks back to it (the probe's `go`, the load's `stop`).
 */
export class Child<R> {
  readonly result: Promise<R>;
  /** Resolves once the process has exited (a --cpu-prof profile is written by then). */
  readonly exited: Promise<void>;
  private readonly proc: ChildProcess;

  constructor(file: string, config: unknown, timeoutMs: number, onMessage: (msg: ChildMessage) => void = () => {}, execArgv: string[] = []) {
    this.proc = fork(here(file), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [...process.execArgv, ...execArgv] });
    running.add(this.proc);
    this.exited = new Promise((r) => this.proc.once('exit', () => (running.delete(this.proc), r())));
    this.result = new Promise<R>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      const timer = setTimeout(() => {
        this.proc.kill('SIGKILL');
        settle(() => reject(new Error(`${file} did not finish within ${timeoutMs} ms`)));
      }, timeoutMs);
      this.proc.on('message', (msg: ChildMessage) => {
        if (msg.type === 'result') settle(() => resolve(msg.result as R));
        else if (msg.type === 'failed') settle(() => reject(new Error(`${file}: ${msg.error}`)));
        else onMessage(msg);
      });
      this.proc.once('exit', (code, signal) => settle(() => reject(new Error(`${file} exited (code ${code}, signal ${signal}) without a result`))));
    });
    this.result.catch(() => undefined); // awaited by the caller; never an unhandled rejection meanwhile
    this.proc.send({ type: 'run', config } as Serializable);
  }

  send(msg: Serializable): void {
    if (this.proc.connected) this.proc.send(msg);
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}

/** Children not yet exited: killed if the benchmark itself dies first. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/** Forks a compiled child entry, sends it {type:'run', config}, relays its progress, resolves its result. */
export function runChild<R>(file: string, config: unknown, timeoutMs: number, onMessage: (type: string) => void = () => {}): Promise<R> {
  return new Child<R>(file, config, timeoutMs, (msg) => onMessage(msg.type)).result;
}
