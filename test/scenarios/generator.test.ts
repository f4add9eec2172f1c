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
import { audit, parseActions, readParents, type ActionLine } from './audit.js';
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

interface SpanRow { traceId: string; spanId: string; parent: boolean; startMs: number; line: number }
function readSpans(file: string): SpanRow[] {
  const rows: SpanRow[] = [];
  fs.readFileSync(file, 'utf8').split('\n').forEach((text, line) => {
    if (!text) return;
    for (const rs of JSON.parse(text).resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) {
      rows.push({ traceId: s.traceId, spanId: s.spanId, parent: !!s.parentSpanId, startMs: Number(BigInt(s.startTimeUnixNano) / 1_000_000n), line });
    }
  });
  return rows;
}

describe('scenario generator', () => {
  let first: Scenario;

  it('is deterministic: the same seed gives the same bytes, another seed other bytes', () => {
    first = generateScenario(path.join(tmp, 'a'), { seed: 11, ...SMALL });
    const again = generateScenario(path.join(tmp, 'b'), { seed: 11, ...SMALL });
    // (Not seed 12: since the docs agents joined the fleet its plan draws differ, and in this small fleet its
    // quietest research agent then stays under the 300 actions an anomaly waits for, so one cannot be placed.)
    const other = generateScenario(path.join(tmp, 'c'), { seed: 13, ...SMALL });
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
    // A long session is written in parts, as its exporter sends them (each placed by its first span; the
    // root, which ends last, comes with the last part, so a root in a later part than the trace's first
    // does not count).
    const firstLine = new Map<string, number>();
    for (const s of spans) if (!firstLine.has(s.traceId) || s.line < firstLine.get(s.traceId)!) firstLine.set(s.traceId, s.line);
    const partStart = new Map<string, SpanRow>();
    for (const s of spans) {
      if (!s.parent && s.line !== firstLine.get(s.traceId)) continue;
      const k = `${s.traceId}/${s.line}`;
      if (!partStart.has(k) || s.startMs < partStart.get(k)!.startMs) partStart.set(k, s);
    }
    let lastStart = 0;
    for (const s of [...partStart.values()].sort((a, b) => a.line - b.line || a.startMs - b.startMs)) {
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

  let derived: ActionLine[] = [];

  it('is benign where it means to be and anomalous where it says, in the actions Vigil derives', async () => {
    const cli = path.join(repoRoot(), 'dist/src/cli.js');
    const r = spawnSync(process.execPath, [cli, 'replay', '--actions', '--config', first.configFile, first.tracesFile], { encoding: 'utf8', maxBuffer: 1 << 30 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/rejected\s+0/);
    const actions = parseActions(r.stdout);
    derived = actions;
    const result = audit(actions, await readParents(first.tracesFile), first.labels, first.manifest);
    // After learning, the only new things in benign traffic are the rollout's tool, target and steps.
    const unexpected = result.benign.filter((f) => !f.subject.includes(ROLLOUT.tool) && !f.subject.includes(ROLLOUT.endpoint.path));
    expect(unexpected).toEqual([]);
    // Every label but rate anomalies (retry_storm, bulk reads) and scopes (not in actions) shows something
    // new. A bulk read shows nothing new at all: only its volume is anomalous, so only a volume rule can
    // find it.
    for (const l of first.labels) {
      if (l.variant === 'bulk-sensitive-read') expect([...result.labels.get(l.id)!], l.id).toEqual([]);
      if (l.detector === 'retry_storm' || l.variant === 'new-scope' || l.variant === 'bulk-sensitive-read') continue;
      expect(result.labels.get(l.id)!.size, l.id).toBeGreaterThan(0);
    }
    expect(first.labels.filter((l) => l.variant === 'bulk-sensitive-read').length, 'bulk reads').toBeGreaterThan(0);
    // The generator counts the same actions Vigil derives (model calls aside).
    const nonModel = actions.filter((a) => a.kind !== 'model').length;
    expect(nonModel).toBe(first.manifest.totalActions);
  }, 60_000);

  it('has benign traffic of each kind the access, egress and flow rules read (review31 F1–F8), from the first day', () => {
    const labelled = new Set(first.labels.flatMap((l) => l.traceIds));
    const benign = derived.filter((a) => a.kind !== 'model' && !labelled.has(a.traceId));
    const t0 = Date.parse(first.manifest.startTime);
    const firstDay = (xs: ActionLine[]) => xs.filter((a) => Date.parse(a.time) < t0 + 24 * 3_600_000);
    const where = (f: (a: ActionLine) => boolean) => benign.filter(f);
    // WebDAV verbs (`_OTHER` in the spans) and a custom verb recorded as sent are writes; QUERY reads.
    const dav = where((a) => a.peerGroup === 'docs-agent' && a.target.startsWith('dav.internal/') && a.access === 'write');
    const purge = where((a) => a.target.startsWith('varnish.internal/') && a.access === 'write');
    const query = where((a) => a.target.startsWith('search.internal/') && a.access === 'read');
    for (const [what, xs] of [['WebDAV', dav], ['PURGE', purge], ['QUERY', query]] as const) expect(firstDay(xs).length, what).toBeGreaterThan(0);
    // The read-only role stays read-only with its QUERY calls and its external database.
    expect(where((a) => a.peerGroup === 'reporting-agent' && a.access !== null && a.access !== 'read')).toEqual([]);
    // Statement text on internal databases: reads and writes, as the operation names say (a CTE reads). The
    // ledger's spans name no collection (instrumentation-pg): one target for the database.
    expect(firstDay(where((a) => a.target === 'postgresql/ledger' && a.access === 'write')).length).toBeGreaterThan(0);
    let statements = 0;
    let others = 0;
    for (const line of fs.readFileSync(first.tracesFile, 'utf8').split('\n')) {
      if (!line) continue;
      for (const rs of JSON.parse(line).resourceSpans) for (const ss of rs.scopeSpans) for (const sp of ss.spans) {
        const attr = (k: string) => sp.attributes.find((x: { key: string }) => x.key === k)?.value.stringValue as string | undefined;
        const text = attr('db.query.text');
        if (text !== undefined) {
          statements++;
          const op = attr('db.operation.name')!;
          expect(text.startsWith(`${op} `) || (op === 'SELECT' && text.startsWith('WITH ')), text).toBe(true);
        }
        if (attr('http.request.method') === '_OTHER') {
          others++;
          expect(attr('http.request.method_original')).toMatch(/^(PROPFIND|SEARCH|MKCOL|LOCK|UNLOCK|MOVE)$/);
        }
      }
    }
    expect(statements).toBeGreaterThan(0);
    expect(others).toBeGreaterThan(0);
    // Managed databases outside the zones, read and written; a remote agent and a hosted MCP server outside.
    const externalDb = where((a) => a.kind === 'db' && a.zone === 'external');
    expect(new Set(firstDay(externalDb).map((a) => `${a.target} ${a.access}`))).toEqual(new Set([
      'postgresql/revenue/invoice_facts read', 'postgresql/revenue/invoice_facts write', 'mongodb/product/usage_events read',
    ]));
    expect(firstDay(where((a) => a.kind === 'delegation' && a.zone === 'external')).length, 'remote agent').toBeGreaterThan(0);
    expect(firstDay(where((a) => a.kind === 'tool' && a.zone === 'external')).length, 'hosted MCP').toBeGreaterThan(0);

    const ms = (a: ActionLine) => Date.parse(a.time);
    const sensitive = (a: ActionLine) => a.target === 'postgresql/billing/customers' || a.target.startsWith('vault.internal/') || /^crm\.internal\/v2\/customers\/./.test(a.target);
    const egress = (a: ActionLine) => a.kind !== 'model' && a.zone === 'external';
    // Long sessions: a sensitive read, then external egress 20 minutes or more later in the same trace.
    const byTrace = new Map<string, ActionLine[]>();
    for (const a of benign) byTrace.set(a.traceId, [...(byTrace.get(a.traceId) ?? []), a]);
    const sessions = [...byTrace.values()].filter((xs) => {
      const read = xs.filter(sensitive).map(ms);
      return read.length > 0 && xs.some((a) => egress(a) && ms(a) - Math.min(...read) >= 20 * 60_000);
    });
    expect(sessions.length, 'long sessions').toBeGreaterThan(first.manifest.traps.filter((t) => t.trap === 'session').length / 2);
    // Overlapping tasks: a customer record read in one trace, and the routine Slack post of another trace of
    // the same identity within 10 minutes after it.
    const reads = where(sensitive);
    const overlaps = where((a) => a.target.startsWith('hooks.slack.com/')).filter((e) =>
      reads.some((r) => r.identity === e.identity && r.traceId !== e.traceId && ms(e) - ms(r) >= 0 && ms(e) - ms(r) <= 10 * 60_000));
    expect(overlaps.length, 'sensitive read and routine egress in two overlapping tasks').toBeGreaterThan(0);
  });
});
