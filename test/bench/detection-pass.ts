/**
 * The detection benchmarks of `npm run bench`: detect-bench.ts's parts, each in a process of its own —
 * replay of a generated fleet week with every detector (spans/s, µs per action; profiled with --profile),
 * and memory for 100k identities (peak RSS, with --expose-gc) — and how their figures are printed.
 */
import { profileOptions, TARGETS } from './bench-options.js';
import { fmt, out, verdict, verdictAtMost } from './bench-format.js';
import { Child } from './child-runner.js';
import { hostBusySeconds } from './daemon-process.js';
import type { DetectPart, MemoryFigures, ReplayFigures } from './detect-bench.js';
import { printProfile, profileIn, type Profile } from './profile-report.js';

export interface DetectFigures {
  replay?: ReplayFigures & { target: number; met: boolean; otherCpuPct: number; profile?: Profile } | { error: string };
  memory?: MemoryFigures & { target: number; met: boolean; otherCpuPct: number } | { error: string };
}

/** Runs a detect-bench part in its own process; the host's other CPU use over its lifetime. */
async function detectPart<R extends { cpuSec: number }>(part: DetectPart, execArgv: string[], timeoutMs: number): Promise<{ r: R; otherCpuPct: number; child: Child<R> }> {
  const host0 = hostBusySeconds();
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  const child = new Child<R>('./detect-bench.js', part, timeoutMs, undefined, execArgv);
  const r = await child.result;
  await child.exited;
  const sec = (performance.now() - t0) / 1000;
  const self = process.cpuUsage(self0);
  const other = hostBusySeconds() - host0 - r.cpuSec - (self.user + self.system) / 1e6;
  return { r, otherCpuPct: Math.max(0, Math.round((other / sec) * 1000) / 10), child };
}

export async function detection(): Promise<DetectFigures> {
  const f: DetectFigures = {};
  try {
    const prof = profileOptions('replay');
    const { r, otherCpuPct } = await detectPart<ReplayFigures>({ part: 'replay' }, prof?.nodeArgs ?? [], 180_000);
    const replay: NonNullable<DetectFigures['replay']> = { ...r, target: TARGETS.replay, met: r.spansPerSec >= TARGETS.replay, otherCpuPct };
    if (prof) {
      const profile = profileIn(prof.dir);
      if (profile) (replay as ReplayFigures & { profile?: Profile }).profile = profile;
    }
    f.replay = replay;
  } catch (err) {
    f.replay = { error: (err as Error).message };
  }
  try {
    const { r, otherCpuPct } = await detectPart<MemoryFigures>({ part: 'memory' }, ['--expose-gc'], 300_000);
    f.memory = { ...r, target: TARGETS.memoryMiB, met: r.peakRssMiB <= TARGETS.memoryMiB, otherCpuPct };
  } catch (err) {
    f.memory = { error: (err as Error).message };
  }
  return f;
}

export function printDetection(f: DetectFigures): void {
  const r = f.replay;
  if (r && 'error' in r) out(`Replay with all detectors: FAILED — ${r.error}`);
  else if (r) {
    out(`Replay with all detectors (in process, child; generated week of a ${r.identities}-identity fleet, OTLP/JSON lines ${r.fileMb} MB, in-memory SQLite)`);
    out(`  throughput       ${fmt(r.spansPerSec).padStart(9)} spans/s   ${verdict(r.spansPerSec, r.target)}   (${fmt(r.spans)} spans, ${fmt(r.actions)} actions, ${r.alerts} alerts in ${r.seconds.toFixed(2)} s)`);
    out(`  per action       ${r.usPerAction.toFixed(1)} µs end to end (read, decode, build, detect + learn, commit); detection engine ${r.engineUsPerAction.toFixed(1)} µs (${Math.round(r.engineShare * 100)}% of the replay; every detector, then learning); engine commits ${r.engineCommitSec.toFixed(2)} s`);
    out(`  host             other processes ${r.otherCpuPct}% of one core`);
    if (r.otherCpuPct > 15) out(`  WARNING: other processes used ${r.otherCpuPct}% of a core meanwhile: figures may be understated`);
    if (r.profile) printProfile(r.profile);
    out();
  }
  const m = f.memory;
  if (m && 'error' in m) out(`Memory for 100k identities: FAILED — ${m.error}`);
  else if (m) {
    out(`Memory for ${fmt(m.identities)} identities (detection engine + SQLite file, own process with --expose-gc; ${fmt(m.actions)} synthetic actions, 8 peer groups)`);
    out(`  peak RSS         ${fmt(m.peakRssMiB).padStart(9)} MiB       ${verdictAtMost(m.peakRssMiB, m.target, 'MiB')}   (VmHWM over the whole run)`);
    out(`  after full GC    RSS ${fmt(m.rssMiB)} MiB, V8 heap used ${fmt(m.heapMiB)} MiB of ${fmt(m.heapTotalMiB)} committed, external ${fmt(m.externalMiB)} MiB${m.gcExposed ? '' : ' (no gc(): --expose-gc missing)'}; hot baselines ${fmt(m.hot)} (bound ${fmt(m.maxHot)}), the rest in SQLite; ${m.seconds.toFixed(1)} s`);
    out(`  host             other processes ${m.otherCpuPct}% of one core`);
    out();
  }
}
