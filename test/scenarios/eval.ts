/**
 * `npm run eval`: generates scenarios for several seeds, replays each through Vigil and prints, per
 * detector, recall, precision, false alerts per 100k benign actions and detection delay — per seed and
 * pooled — then one JSON line. Reports; never fails on the figures (the quality gate test does that).
 *
 *   npm run eval -- [--seeds 1,2,3] [--days 7] [--rate 1.9] [--fleet 1] [--keep DIR] [--audit] [--verbose] [--callee-first]
 *
 * --audit also derives every action (`replay --actions`) and checks the scenario itself: what in the
 * benign traffic is new after the learning period, and that each label is new where it should be.
 */
import { parseArgs } from 'node:util';
import { summarize } from './audit.js';
import { runSeeds } from './run.js';
import { combine, formatTable, summaryJson } from './score.js';

/** The seeds used while developing detectors. The gate uses other ones (see README). */
export const DEV_SEEDS = [1, 2, 3];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string' }, days: { type: 'string' }, rate: { type: 'string' }, fleet: { type: 'string' },
      keep: { type: 'string' }, verbose: { type: 'boolean', default: false }, audit: { type: 'boolean', default: false },
      'callee-first': { type: 'boolean', default: false },
    },
  });
  const seeds = values.seeds ? values.seeds.split(',').map(Number) : DEV_SEEDS;
  const opts = {
    days: values.days ? Number(values.days) : undefined,
    rateScale: values.rate ? Number(values.rate) : undefined,
    fleetScale: values.fleet ? Number(values.fleet) : undefined,
    calleeFirst: values['callee-first'],
  };
  const started = Date.now();
  const runs = await runSeeds(seeds, opts, { keepDir: values.keep, audit: values.audit });
  for (const run of runs) {
    const m = run.scenario.manifest;
    console.log(`\nseed ${run.seed}: ${m.identities} identities, ${m.benignActions.toLocaleString('en')} benign actions, ${run.scenario.labels.length} labels, ` +
      `${run.replay.alerts.length} alerts · generate ${(run.generateMs / 1000).toFixed(1)} s, replay ${(run.replay.ms / 1000).toFixed(1)} s (${m.spans.toLocaleString('en')} spans)`);
    console.log(formatTable(run.result));
    if (run.audit) {
      const groups = summarize(run.audit.benign);
      console.log(`audit: ${run.audit.benign.length} findings in benign traffic after learning${groups.length ? ':' : ''}`);
      for (const g of groups.slice(0, 12)) console.log(`  ${String(g.count).padStart(5)}  ${g.kind}  ${g.subject}  (${g.identities} identities)`);
      // Rate anomalies (retry storms, bulk reads) and scopes (not in the actions) show nothing new by design.
      const plain = run.scenario.labels.filter((l) => l.detector !== 'retry_storm' && l.variant !== 'new-scope' && l.variant !== 'bulk-sensitive-read' && run.audit!.labels.get(l.id)!.size === 0);
      if (plain.length) console.log(`audit: labels with nothing new in their actions: ${plain.map((l) => l.id).join(', ')}`);
    }
  }
  const all = combine(runs.map((r) => r.result));
  console.log(`\nall seeds (${seeds.join(', ')}): ${all.benignActions.toLocaleString('en')} benign actions, ${all.labels} labels · ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(formatTable(all));
  if (all.missed.length) {
    console.log('\nmissed labels:');
    for (const l of all.missed) console.log(`  ${l.id}  ${l.identity.split('/').pop()}  ${l.strength} ${l.strengthUnit}  ${l.startTime}${l.newInstance ? '  (new instance)' : ''}`);
  }
  if (all.falseAlerts.length) {
    const groups = new Map<string, number>();
    for (const f of all.falseAlerts) {
      const key = `${f.detector} ${f.severity} [${f.nearTraps.join(',') || 'no trap'}] ${f.title.replace(/spiffe:\/\/\S+/g, '<id>').replace(/\d[\d,.]*/g, 'N').slice(0, 110)}`;
      groups.set(key, (groups.get(key) ?? 0) + 1);
    }
    console.log('\nunexplained alerts after warm-up, grouped (detector, severity, nearby benign traps, title):');
    const sorted = [...groups].sort((a, b) => b[1] - a[1]);
    for (const [k, n] of values.verbose ? sorted : sorted.slice(0, 15)) console.log(`  ${String(n).padStart(5)}  ${k}`);
    if (!values.verbose && sorted.length > 15) console.log(`  … ${sorted.length - 15} more groups (--verbose)`);
  }
  console.log(JSON.stringify({ eval: summaryJson(all), perSeed: runs.map((r) => ({ seed: r.seed, ...summaryJson(r.result), replayMs: r.replay.ms, generateMs: r.generateMs })) }));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exit(1);
});
