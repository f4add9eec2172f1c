/**
 * The compiled CLI (`vigil …`, built into dist/) in a child process, without blocking this one: the
 * in-process daemon it calls answers from here. Its API token comes from VIGIL_API_TOKEN.
 */
import { spawn } from 'node:child_process';
import { TEST_TOKEN } from './daemon.js';
import { CLI, ROOT } from './serve-process.js';

export function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, VIGIL_API_TOKEN: TEST_TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
