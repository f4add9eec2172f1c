/**
 * The command-line options of `npm run bench` (run.ts's header lists them), parsed once, and the fixed
 * settings and targets derived from them that the benchmark's parts share.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

export const TARGETS = { decode: 300_000, grpc: 150_000, http: 200_000, replay: 200_000, memoryMiB: 1024, alertP99Ms: 50 } as const;

const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '16' },
    only: { type: 'string', default: 'decode,grpc,http,latency,webhooks,sdk,detect' },
    'sdk-spans': { type: 'string', default: '20000' },
    probes: { type: 'string', default: '200' },
    'probe-interval': { type: 'string', default: '50' },
    'webhook-probes': { type: 'string', default: '2000' },
    profile: { type: 'boolean', default: false },
    'daemon-flags': { type: 'string', default: '' },
    'daemon-config': { type: 'string', default: '' },
  },
  strict: true,
});
/** A numeric option within [min, max]; the default when it is not a number. */
const num = (v: string, def: number, min: number, max: number) => {
  const n = Number(v);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : def;
};
export const DURATION_MS = num(opts.duration, 10, 1, 60) * 1000;
export const WARMUP_MS = num(opts.warmup, 2, 0, 30) * 1000;
export const CONCURRENCY = Math.round(num(opts.concurrency, 16, 1, 256));
export const SDK_SPANS = Math.round(num(opts['sdk-spans'], 20_000, 1000, 200_000));
export const ONLY = new Set(opts.only.split(',').map((s) => s.trim()));
export const PROBES = Math.round(num(opts.probes, 200, 10, 5000));
export const PROBE_INTERVAL_MS = num(opts['probe-interval'], 50, 5, 1000);
export const WEBHOOK_PROBES = Math.round(num(opts['webhook-probes'], 2000, 10, 20_000));
/** Identities that learn a baseline and then raise the probes' alerts (each probe a new tool and target). */
export const LATENCY_IDENTITIES = 100;
export const WEBHOOK_IDENTITIES = 50;
/** Spans of baseline per identity: tool + GET traces over 48 h (> baselines.minActions actions). */
export const BASELINE_TRACES = 200;
/** A probe without its alert frame this long after its export is counted as missing. */
export const ALERT_TIMEOUT_MS = 5000;

export const DAEMON_FLAGS = opts['daemon-flags'].split(/\s+/).filter(Boolean);
export const DAEMON_CONFIG = opts['daemon-config'].split('\n').filter((l) => l.trim() !== '');

/** With --profile, node flags that write a CPU profile into a fresh temporary folder, and that folder. */
export function profileOptions(label: string): { nodeArgs: string[]; dir: string } | null {
  if (!opts.profile) return null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `vigil-prof-${label}-`));
  return { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir], dir };
}

/** A daemon's extra node flags: --daemon-flags, then the profiling ones. */
export function daemonArgs(prof: { nodeArgs: string[] } | null): string[] {
  return [...DAEMON_FLAGS, ...(prof?.nodeArgs ?? [])];
}
