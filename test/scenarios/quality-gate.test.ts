/**
 * The quality gate of issue 4: over several seeds of generated fleets, every detector finds ≥ 90 % of
 * the injected anomalies of its kind, and all detectors together raise ≤ 1 false alert of severity ≥
 * medium per 100k benign actions. Vigil is run as a black box (the compiled `vigil replay`, built by
 * `npm test`'s pretest).
 *
 * The seeds here are not the ones `npm run eval` uses while developing (eval.ts DEV_SEEDS): detectors
 * are tuned against the eval seeds and checked here on fleets nobody tuned against. The thresholds are
 * the issue's, not fitted to any run.
 */
import { describe, expect, it } from 'vitest';
import { runSeeds } from './run.js';
import { combine, formatTable, type ScoreResult } from './score.js';
import { DETECTORS } from './labels.js';

const GATE_SEEDS = [7919, 104729, 1299709];
/** A week of a 56-identity fleet at a rate that gives ~68k benign actions a seed (~200k in all). */
const GATE_SIZE = { days: 7, rateScale: 1.2 };
const MIN_RECALL = 0.9;
const MAX_FALSE_PER_100K = 1;

function report(r: ScoreResult): string {
  const missed = r.missed.map((l) => `  missed ${l.id} ${l.identity} ${l.strength} ${l.strengthUnit}${l.newInstance ? ' (new instance)' : ''}`);
  const groups = new Map<string, number>();
  for (const f of r.falseAlerts.filter((x) => x.severity !== 'low')) {
    const k = `${f.detector} ${f.severity} [${f.nearTraps.join(',') || 'no trap'}] ${f.title}`;
    groups.set(k, (groups.get(k) ?? 0) + 1);
  }
  const top = [...groups].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([k, n]) => `  ${n} × ${k}`);
  return ['', formatTable(r), ...missed.slice(0, 20), ...(top.length ? ['false alerts (severity ≥ medium), top groups:', ...top] : [])].join('\n');
}

describe('quality gate', () => {
  it(`recall ≥ ${MIN_RECALL} per detector and ≤ ${MAX_FALSE_PER_100K} false alert per 100k benign actions over seeds ${GATE_SEEDS.join(', ')}`, async () => {
    const runs = await runSeeds(GATE_SEEDS, GATE_SIZE);
    const all = combine(runs.map((r) => r.result));
    const text = report(all);
    console.log(text);
    expect(all.benignActions).toBeGreaterThanOrEqual(100_000);
    for (const d of DETECTORS) {
      const s = all.perDetector.find((x) => x.detector === d)!;
      expect(s.labels, `${d}: labels`).toBeGreaterThanOrEqual(10 * GATE_SEEDS.length);
      expect.soft(s.recall, `${d}: recall${text}`).toBeGreaterThanOrEqual(MIN_RECALL);
    }
    expect.soft(all.total.falsePer100k, `false alerts (severity ≥ medium) per 100k benign actions${text}`).toBeLessThanOrEqual(MAX_FALSE_PER_100K);
    // Sorting by score puts every more severe alert first (review27 M8: 2,016 pairs were out of order).
    const alerts = runs.flatMap((r) => r.replay.alerts);
    const order = ['low', 'medium', 'high', 'critical'] as const;
    for (let i = 1; i < order.length; i++) {
      const below = alerts.filter((a) => a.severity === order[i - 1]).map((a) => a.score!);
      const above = alerts.filter((a) => a.severity === order[i]).map((a) => a.score!);
      if (below.length && above.length) expect.soft(Math.min(...above), `${order[i]} scores above ${order[i - 1]}`).toBeGreaterThan(Math.max(...below));
    }
  }, 240_000);

  // A remote agent's or MCP server's exporter often sends before its caller's (its spans end first). The
  // callee's work is the caller's task either way: the same fleet, sent that way, must raise the same alerts.
  it(`the same alerts when each trace's delegated agents' spans are exported before its owner's (seed ${GATE_SEEDS[0]})`, async () => {
    const seen = async (calleeFirst: boolean) => {
      const [run] = await runSeeds([GATE_SEEDS[0]], { ...GATE_SIZE, calleeFirst });
      return run.replay.alerts.map((a) => `${a.detector} ${a.severity} ${a.identity} ${a.title}`).sort();
    };
    const inOrder = await seen(false);
    expect(inOrder.length).toBeGreaterThan(100);
    expect(await seen(true)).toEqual(inOrder);
  }, 240_000);
});
