/**
 * Runs the compiled daemon (`vigil serve`, built into dist/ by `npm test`'s pretest) as a child process on
 * free ports, for tests that must kill it for real (SIGTERM, kill -9) and start it again on the same data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const CLI = path.join(ROOT, 'dist/src/cli.js');

export interface ServeProcess {
  child: ChildProcess;
  grpc: string;
  http: string;
  api: string;
  stderr: () => string;
  /** Resolves with the exit code (-1 when killed by a signal). */
  exited: Promise<number>;
}

/** Writes `config.yaml` in `dir` (ports 0, state under dir/state) plus `extraYaml`, and starts serve. */
export function serve(dir: string, extraYaml = '', env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  const config = path.join(dir, 'config.yaml');
  fs.writeFileSync(config, [
    'receivers: { otlp: { grpc: { endpoint: "127.0.0.1:0" }, http: { endpoint: "127.0.0.1:0" } } }',
    'api: { endpoint: "127.0.0.1:0" }',
    'storage: { path: "state/vigil.db" }',
    extraYaml,
  ].join('\n'));
  const child = spawn(process.execPath, [CLI, 'serve', '--config', config], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  const exited = new Promise<number>((r) => child.once('exit', (code, signal) => r(code ?? (signal ? -1 : 0))));
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (chunk) => {
      stderr += chunk;
      const line = stderr.split('\n').find((l) => l.includes('"vigil ready'));
      if (line) {
        const ready = JSON.parse(line);
        resolve({ child, grpc: ready.otlpGrpc, http: ready.otlpHttp, api: ready.api, stderr: () => stderr, exited });
      }
    });
    void exited.then((code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
  });
}
