/**
 * Runs Vigil as a black box on a generated scenario: the compiled CLI's `replay` in a child process,
 * alerts parsed from its stdout (one JSON object per line), the summary kept from stderr.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { audit, parseActions, readParents, type AuditResult } from './audit.js';
import { generateScenario, type Scenario, type ScenarioOptions } from './generator.js';
import { score, type Alert, type ScoreResult } from './score.js';

/** The repository root, found from this file whether it runs from test/ (vitest) or dist/test/ (eval). */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

export interface ReplayResult {
  alerts: Alert[];
  stderr: string;
  exitCode: number | null;
  ms: number;
  badStdoutLines: number;
}

/** `vigil replay --config <cfg> FILE` with the compiled CLI. */
export function replay(configFile: string, files: string[], extraArgs: string[] = []): Promise<ReplayResult> {
  const cli = path.join(repoRoot(), 'dist/src/cli.js');
  if (!fs.existsSync(cli)) return Promise.reject(new Error(`${cli} is missing: run npm run build first`));
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'replay', '--config', configFile, ...extraArgs, ...files], { stdio: ['ignore', 'pipe', 'pipe'] });
    const alerts: Alert[] = [];
    let bad = 0;
    let rest = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        try {
          alerts.push(JSON.parse(line) as Alert);
        } catch {
          bad++;
        }
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (rest.trim()) {
        try {
          alerts.push(JSON.parse(rest) as Alert);
        } catch {
          bad++;
        }
      }
      resolve({ alerts, stderr, exitCode: code, ms: Date.now() - started, badStdoutLines: bad });
    });
  });
}

export interface SeedRun {
  seed: number;
  scenario: Scenario;
  replay: ReplayResult;
  result: ScoreResult;
  generateMs: number;
  /** With `audit`: what the generator self-check found (see audit.ts). */
  audit?: AuditResult;
}

export interface RunOptions {
  /** Keep the scenario folders here instead of a temp folder that is removed. */
  keepDir?: string;
  /** Also derive the actions (`replay --actions`) and audit the scenario against them. */
  audit?: boolean;
}

/** `replay --actions` into a file beside the scenario, then the audit. */
async function auditScenario(scenario: Scenario): Promise<AuditResult> {
  const cli = path.join(repoRoot(), 'dist/src/cli.js');
  const out = path.join(scenario.dir, 'actions.jsonl');
  const fd = fs.openSync(out, 'w');
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [cli, 'replay', '--actions', '--config', scenario.configFile, scenario.tracesFile], { stdio: ['ignore', fd, 'ignore'] });
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`vigil replay --actions exited ${code}`))));
    });
  } finally {
    fs.closeSync(fd);
  }
  return audit(parseActions(fs.readFileSync(out, 'utf8')), await readParents(scenario.tracesFile), scenario.labels, scenario.manifest);
}

/**
 * Generates and replays each seed. Generation runs here while the previous seed's replay runs in its
 * child process, so two cores are kept busy. Scenario folders are removed unless `keepDir` is given.
 */
export async function runSeeds(seeds: number[], opts: Omit<ScenarioOptions, 'seed'>, run: RunOptions = {}): Promise<SeedRun[]> {
  const base = run.keepDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-scenarios-'));
  const pending: Array<Promise<SeedRun>> = [];
  try {
    for (const seed of seeds) {
      const t0 = Date.now();
      const scenario = generateScenario(path.join(base, `seed-${seed}`), { ...opts, seed });
      const generateMs = Date.now() - t0;
      pending.push(replay(scenario.configFile, [scenario.tracesFile]).then(async (r) => {
        if (r.exitCode !== 0) throw new Error(`vigil replay exited ${r.exitCode} on seed ${seed}:\n${r.stderr}`);
        const result = score(scenario.labels, r.alerts, scenario.manifest);
        return { seed, scenario, replay: r, result, generateMs, audit: run.audit ? await auditScenario(scenario) : undefined };
      }));
      // Keep at most two replays in flight on a two-core machine.
      if (pending.length >= 2) await pending[pending.length - 2];
    }
    return await Promise.all(pending);
  } finally {
    await Promise.allSettled(pending);
    if (!run.keepDir) fs.rmSync(base, { recursive: true, force: true });
  }
}
