/**
 * The scenario generator itself: deterministic (same seed, same bytes), labels that point at spans that
 * exist, every detector and the new-instance case covered, and — through the actions Vigil derives —
 * benign traffic that is benign by CONTRACT §4 and labels that are anomalous by it (audit.ts).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { audit, parseActions, readParents } from './audit.js';
import { ROLLOUT } from './fleet.js';
import { generateScenario, type Scenario } from './generator.js';
import { DETECTORS } from './labels.js';
import { repoRoot } from './run.js';
import { spawnSync } from 'node:child_process';

/** Small enough to be quick, big enough to place the whole anomaly catalogue. */
const SMALL = { days: 5, rateScale: 1, fleetScale: 0.4 };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-generator-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const digest = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

interface SpanRow { traceId: string; spanId: string; startMs: number; line: number }
function readSpans(file: string): SpanRow[] {
  const rows: SpanRow[] = [];
  fs.readFileSync(file, 'utf8').split('\n').forEach((text, line) => {
    if (!text) return;
    for (const rs of JSON.parse(text).resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) {
      rows.push({ traceId: s.traceId, spanId: s.spanId, startMs: Number(BigInt(s.startTimeUnixNano) / 1_000_000n), line });
    }
  });
  return rows;
}

describe('scenario generator', () => {
  let first: Scenario;

  it('is deterministic: the same seed gives the same bytes, another seed other bytes', () => {
    first = generateScenario(path.join(tmp, 'a'), { seed: 11, ...SMALL });
    const again = generateScenario(path.join(tmp, 'b'), { seed: 11, ...SMALL });
    const other = generateScenario(path.join(tmp, 'c'), { seed: 12, ...SMALL });
    for (const f of ['tracesFile', 'labelsFile', 'configFile', 'manifestFile'] as const) {
      expect(digest(again[f]), f).toBe(digest(first[f]));
    }
    expect(digest(other.tracesFile)).not.toBe(digest(first.tracesFile));
  });

  it('labels point at spans that exist, in their own traces; ids are unique; lines are in event-time order', () => {
    const spans = readSpans(first.tracesFile);
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    expect(byId.size).toBe(spans.length);
    for (const l of first.labels) {
      expect(l.spanIds.length, l.id).toBeGreaterThan(0);
      for (const id of l.spanIds) {
        expect(byId.has(id), `${l.id}: span ${id}`).toBe(true);
        expect(l.traceIds, l.id).toContain(byId.get(id)!.traceId);
      }
      expect(Date.parse(l.endTime)).toBeGreaterThanOrEqual(Date.parse(l.startTime));
    }
    // Traces are written in start order: no line starts a trace earlier than a trace of a previous line.
    const traceStart = new Map<string, SpanRow>();
    for (const s of spans) if (!traceStart.has(s.traceId) || s.startMs < traceStart.get(s.traceId)!.startMs) traceStart.set(s.traceId, s);
    let lastLine = -1;
    let lastStart = 0;
    for (const s of [...traceStart.values()].sort((a, b) => a.line - b.line || a.startMs - b.startMs)) {
      if (s.line !== lastLine) lastLine = s.line;
      expect(s.startMs).toBeGreaterThanOrEqual(lastStart);
      lastStart = s.startMs;
    }
  });

  it('covers every detector at ≥ 10 labels, the new-instance case for each, after the learning period', () => {
    for (const d of DETECTORS) {
      const mine = first.labels.filter((l) => l.detector === d);
      expect(mine.length, d).toBeGreaterThanOrEqual(10);
      expect(mine.some((l) => l.newInstance), `${d}: new instance`).toBe(true);
      expect(new Set(mine.map((l) => l.strength)).size, `${d}: varied strengths`).toBeGreaterThan(1);
    }
    for (const l of first.labels.filter((x) => !x.newInstance)) {
      const facts = first.manifest.identityFacts[l.identity];
      expect(Date.parse(l.startTime), l.id).toBeGreaterThanOrEqual(Date.parse(facts.learned));
      expect(Date.parse(l.startTime) - Date.parse(facts.firstAction), l.id).toBeGreaterThanOrEqual(48 * 3_600_000);
    }
  });

  it('is benign where it means to be and anomalous where it says, in the actions Vigil derives', async () => {
    const cli = path.join(repoRoot(), 'dist/src/cli.js');
    const r = spawnSync(process.execPath, [cli, 'replay', '--actions', '--config', first.configFile, first.tracesFile], { encoding: 'utf8', maxBuffer: 1 << 30 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/rejected\s+0/);
    const actions = parseActions(r.stdout);
    const result = audit(actions, await readParents(first.tracesFile), first.labels, first.manifest);
    // After learning, the only new things in benign traffic are the rollout's tool, target and steps.
    const unexpected = result.benign.filter((f) => !f.subject.includes(ROLLOUT.tool) && !f.subject.includes(ROLLOUT.endpoint.path));
    expect(unexpected).toEqual([]);
    // Every label but rate anomalies (retry_storm) and scopes (not in actions) shows something new.
    for (const l of first.labels) {
      if (l.detector === 'retry_storm' || l.variant === 'new-scope') continue;
      expect(result.labels.get(l.id)!.size, l.id).toBeGreaterThan(0);
    }
    // The generator counts the same actions Vigil derives (model calls aside).
    const nonModel = actions.filter((a) => a.kind !== 'model').length;
    expect(nonModel).toBe(first.manifest.totalActions);
  }, 60_000);
});
