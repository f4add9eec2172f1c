/** How `npm run bench` prints its report: numbers, target verdicts and latency percentiles, a line at a time. */
import type { Stats } from './probe-protocol.js';

export const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
export const verdict = (value: number, target: number) => `target ≥ ${fmt(target)}  ${value >= target ? 'MET' : 'MISSED'}`;
export const verdictAtMost = (value: number, target: number, unit: string) => `target ≤ ${fmt(target)} ${unit}  ${value <= target ? 'MET' : 'MISSED'}`;
export const ms = (s: Stats) => `p50 ${s.p50} ms, p90 ${s.p90} ms, p99 ${s.p99} ms, max ${s.max} ms`;
export const out = (line = '') => process.stdout.write(line + '\n');
