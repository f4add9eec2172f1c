/**
 * Top self-time functions of a V8 `.cpuprofile` (what `node --cpu-prof` writes), for `run.ts --profile`
 * or on its own: `node dist/test/bench/profile-summary.js FILE.cpuprofile [N]`.
 */
import fs from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  fn: string;
  /** path:line (1-based), relative to the project when inside it. */
  where: string;
  ms: number;
  pct: number;
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url)); // dist/test/bench -> project root

const maps = new Map<string, SourceMap | null>();

/** The TypeScript position of a compiled position, through the .js.map tsc wrote next to the file. */
function original(file: string, line: number, column: number): { file: string; line: number } | null {
  let map = maps.get(file);
  if (map === undefined) {
    try {
      map = new SourceMap(JSON.parse(fs.readFileSync(`${file}.map`, 'utf8')));
    } catch {
      map = null;
    }
    maps.set(file, map);
  }
  const entry = map?.findEntry(line, column) as { originalSource?: string; originalLine?: number } | undefined;
  if (!entry?.originalSource || entry.originalLine === undefined) return null;
  const src = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : path.resolve(path.dirname(file), entry.originalSource);
  return { file: src, line: entry.originalLine };
}

function location(url: string, line: number, column: number): string {
  if (url === '') return '(native)';
  let p = url.startsWith('file://') ? fileURLToPath(url) : url;
  if (p.startsWith(ROOT) && !p.includes('/node_modules/')) {
    const o = original(p, line, column);
    if (o) {
      p = o.file;
      line = o.line;
    }
  }
  if (p.startsWith(ROOT)) p = path.relative(ROOT, p);
  return `${p}:${line + 1}`;
}

/** Self time per function (summed over call sites), largest first; idle/program/GC are kept as V8 names them. */
export function topSelfTime(file: string, limit = 25): { totalMs: number; top: SelfTime[] } {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    // timeDeltas[i] is the time before sample i; attribute the interval after a sample to it.
    const dt = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + dt);
  }
  const agg = new Map<string, SelfTime>();
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    totalUs += us;
    const { functionName, url, lineNumber, columnNumber } = byId.get(id)!.callFrame;
    const fn = functionName || '(anonymous)';
    const where = location(url, lineNumber, columnNumber);
    const key = `${fn}@${where}`;
    const e = agg.get(key) ?? { fn, where, ms: 0, pct: 0 };
    e.ms += us / 1000;
    agg.set(key, e);
  }
  const top = [...agg.values()].sort((a, b) => b.ms - a.ms).slice(0, limit);
  for (const e of top) {
    e.pct = Math.round((e.ms / (totalUs / 1000)) * 1000) / 10;
    e.ms = Math.round(e.ms);
  }
  return { totalMs: Math.round(totalUs / 1000), top };
}

/**
 * Inclusive (self + callees) time of the project's own functions (src/, detectors/, baselines/), largest
 * first: where the time goes by stage (decode, submit, builder, commit). A function on the stack twice
 * (recursion) is counted once per sample.
 */
export function inclusiveTime(file: string, limit = 15): SelfTime[] {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const keyOf = new Map<number, { key: string; fn: string; where: string } | null>();
  const key = (id: number) => {
    let k = keyOf.get(id);
    if (k === undefined) {
      const { functionName, url, lineNumber, columnNumber } = byId.get(id)!.callFrame;
      const where = location(url, lineNumber, columnNumber);
      k = /^(src|detectors|baselines)\//.test(where) ? { key: `${functionName}@${where}`, fn: functionName || '(anonymous)', where } : null;
      keyOf.set(id, k);
    }
    return k;
  };
  const agg = new Map<string, SelfTime>();
  let totalUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    totalUs += dt;
    const seen = new Set<string>();
    for (let id: number | undefined = profile.samples[i]; id !== undefined; id = parentOf.get(id)) {
      const k = key(id);
      if (k === null || seen.has(k.key)) continue;
      seen.add(k.key);
      const e = agg.get(k.key) ?? { fn: k.fn, where: k.where, ms: 0, pct: 0 };
      e.ms += dt / 1000;
      agg.set(k.key, e);
    }
  }
  return [...agg.values()]
    .sort((a, b) => b.ms - a.ms)
    .slice(0, limit)
    .map((e) => ({ ...e, ms: Math.round(e.ms), pct: Math.round((e.ms / (totalUs / 1000)) * 1000) / 10 }));
}

/** The same, but folding everything under node_modules/<pkg> or node:internal into one row per package. */
export function selfTimeByPackage(file: string, limit = 12): SelfTime[] {
  const { top, totalMs } = topSelfTime(file, Number.MAX_SAFE_INTEGER);
  const agg = new Map<string, number>();
  for (const e of top) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(e.where);
    const key = m ? m[1] : e.where.startsWith('node:') ? 'node:internal' : e.where.startsWith('(native)') ? `(native) ${e.fn}` : e.where.split(':')[0];
    agg.set(key, (agg.get(key) ?? 0) + e.ms);
  }
  return [...agg.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([where, ms]) => ({ fn: '', where, ms: Math.round(ms), pct: Math.round((ms / totalMs) * 1000) / 10 }));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node dist/test/bench/profile-summary.js FILE.cpuprofile [N]\n');
    process.exit(1);
  }
  const { totalMs, top } = topSelfTime(file, Number(process.argv[3] ?? 30));
  console.log(`total sampled ${totalMs} ms`);
  for (const e of top) console.log(`${String(e.pct).padStart(5)}%  ${String(e.ms).padStart(7)} ms  ${e.fn}  ${e.where}`);
  console.log('\ninclusive (project functions):');
  for (const e of inclusiveTime(file, 20)) console.log(`${String(e.pct).padStart(5)}%  ${String(e.ms).padStart(7)} ms  ${e.fn}  ${e.where}`);
  console.log('\nby file / package:');
  for (const e of selfTimeByPackage(file, 20)) console.log(`${String(e.pct).padStart(5)}%  ${String(e.ms).padStart(7)} ms  ${e.where}`);
}
