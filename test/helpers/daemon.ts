/**
 * Starts a real daemon for a test: every listener on 127.0.0.1 port 0, SQLite in a fresh temp folder,
 * logs captured in memory (so tests can search them, e.g. for leaked secrets), every derived action
 * collected in order.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Action } from '../../src/actions/types.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { REDACT_PATHS } from '../../src/log.js';
import { REDACTED } from '../../src/redaction.js';
import { startDaemon, type Daemon } from '../../src/main.js';

export const TEST_TOKEN = 'test-token-0123456789abcdef';

export interface TestDaemon {
  daemon: Daemon;
  dir: string;
  logs: string[];
  actions: Action[];
  grpcUrl: string;
  httpUrl: string;
  apiUrl: string;
  close(): Promise<void>;
}

/** Deep-merges plain objects (arrays replace), for config overrides. */
function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
      ? merge(b as Record<string, unknown>, v as Record<string, unknown>)
      : v;
  }
  return out;
}

export function testConfig(dir: string, overrides: Record<string, unknown> = {}): Config {
  return configSchema.parse(
    merge(
      {
        receivers: { otlp: { grpc: { endpoint: '127.0.0.1:0' }, http: { endpoint: '127.0.0.1:0' } } },
        api: { endpoint: '127.0.0.1:0', token: TEST_TOKEN },
        storage: { path: path.join(dir, 'vigil.db') },
        log: { level: 'debug' },
      },
      overrides,
    ),
  );
}

/**
 * @param adjust edits the validated config, to start a daemon with a setting the loader refuses (tests of
 *   the runtime's own defences, which must not depend on the loader catching everything).
 */
export async function startTestDaemon(overrides: Record<string, unknown> = {}, dir?: string, adjust: (c: Config) => Config = (c) => c): Promise<TestDaemon> {
  dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-test-'));
  const config = adjust(testConfig(dir, overrides));
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const logger = pino({ level: config.log.level, redact: { paths: REDACT_PATHS, censor: REDACTED } }, sink);
  const daemon = await startDaemon({ config, logger });
  const actions: Action[] = [];
  daemon.pipeline.addSink((batch) => actions.push(...batch));
  return {
    daemon,
    dir,
    logs,
    actions,
    grpcUrl: `http://127.0.0.1:${daemon.ports.grpc}`,
    httpUrl: `http://127.0.0.1:${daemon.ports.http}`,
    apiUrl: `http://127.0.0.1:${daemon.ports.api}`,
    close: () => daemon.close(),
  };
}

/** The value of one series of the daemon's /metrics, named with its labels (`name{a="b"}`); NaN when absent. */
export async function metricValue(t: TestDaemon, series: string): Promise<number> {
  const text = await t.daemon.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
