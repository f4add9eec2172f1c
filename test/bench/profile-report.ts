/**
 * `--profile`: the summary of a child's `.cpuprofile` that goes into the report (profile-summary.ts reads
 * it), and how it is printed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fmt, out } from './bench-format.js';
import { inclusiveTime, selfTimeByPackage, topSelfTime, type SelfTime } from './profile-summary.js';

export type Profile = { file: string; totalMs: number; top: SelfTime[]; inclusive: SelfTime[]; byPackage: SelfTime[] };

export function summarizeProfile(file: string): Profile {
  const { totalMs, top } = topSelfTime(file, 25);
  return { file, totalMs, top, inclusive: inclusiveTime(file, 15), byPackage: selfTimeByPackage(file, 12) };
}

export function printProfile(p: Profile): void {
  out(`  profile (${p.file}, ${fmt(p.totalMs)} ms sampled) — top self time:`);
  for (const e of p.top) out(`    ${String(e.pct).padStart(5)}%  ${String(e.ms).padStart(6)} ms  ${e.fn}  ${e.where}`);
  out('    inclusive time of project functions:');
  for (const e of p.inclusive) out(`    ${String(e.pct).padStart(5)}%  ${String(e.ms).padStart(6)} ms  ${e.fn}  ${e.where}`);
  out('    self time by file/package:');
  for (const e of p.byPackage) out(`    ${String(e.pct).padStart(5)}%  ${String(e.ms).padStart(6)} ms  ${e.where}`);
}

/** The summary of the profile a child wrote into `dir` (--cpu-prof-dir), if it wrote one. */
export function profileIn(dir: string): Profile | undefined {
  const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  return file ? summarizeProfile(path.join(dir, file)) : undefined;
}
