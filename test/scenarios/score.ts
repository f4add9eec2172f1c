/**
 * Scores Vigil's alerts against a scenario's labels.
 *
 * - A label is **detected** when an alert of its detector for its identity shares an evidence span or
 *   trace id with it, or has its eventTime within [startTime, endTime + 10 min].
 * - An alert is a **hit** when it detects some label of its own detector; **explained** when it matches
 *   (the same way) a label of another detector for that identity, or its evidence touches a labelled
 *   trace of any identity (a write to a new target is scope drift too; a delegated anomaly can surface
 *   on the callee); **warm-up** when it falls in the learning period of the fleet's original identities
 *   (nothing is learned yet at the very start, and CONTRACT §4 owes detection only after 48 h / 300
 *   actions); otherwise **false**.
 * - False alerts of severity ≥ medium per 100k benign actions is the gate's figure; precision is
 *   hits / (hits + false alerts of any severity).
 */
import { DETECTORS, type Detector, type Label, type Manifest, type TrapKind } from './labels.js';

export interface Alert {
  id?: string;
  seq?: number;
  detector: string;
  severity: 'low' | 'medium' | 'high' | 'critical';
  score?: number;
  identity: string;
  eventTime: string;
  title?: string;
  explanation?: string;
  count?: number;
  evidence?: { traceIds?: string[]; spanIds?: string[] };
}

/** Grace after a label's end within which an alert of its detector still counts for it. */
export const MATCH_GRACE_MS = 10 * 60_000;
const SEVERITY_RANK = { low: 0, medium: 1, high: 2, critical: 3 } as const;

export interface DetectorScore {
  detector: string;
  labels: number;
  detected: number;
  recall: number;
  alerts: number;
  hits: number;
  explained: number;
  warmup: number;
  /** False alerts of severity ≥ medium (the gate's figure) and of severity low. */
  falseAlerts: number;
  falseLow: number;
  falsePer100k: number;
  precision: number;
  delaysMs: number[];
  delayP50Ms: number | null;
  delayMaxMs: number | null;
  missed: string[];
}

export interface FalseAlert {
  seed: number;
  detector: string;
  severity: string;
  identity: string;
  eventTime: string;
  title: string;
  /** Benign traps of that identity around that time — what most likely provoked it. */
  nearTraps: TrapKind[];
}

export interface ScoreResult {
  seeds: number[];
  benignActions: number;
  labels: number;
  perDetector: DetectorScore[];
  total: DetectorScore;
  falseAlerts: FalseAlert[];
  missed: Label[];
}

const ms = (iso: string) => Date.parse(iso);

function touches(alert: Alert, label: Label, spanSet: Set<string>, traceSet: Set<string>): boolean {
  for (const s of alert.evidence?.spanIds ?? []) if (spanSet.has(s)) return true;
  for (const t of alert.evidence?.traceIds ?? []) if (traceSet.has(t)) return true;
  const t = ms(alert.eventTime);
  return t >= ms(label.startTime) && t <= ms(label.endTime) + MATCH_GRACE_MS;
}

function emptyScore(detector: string): DetectorScore {
  return {
    detector, labels: 0, detected: 0, recall: 0, alerts: 0, hits: 0, explained: 0, warmup: 0, falseAlerts: 0, falseLow: 0,
    falsePer100k: 0, precision: 0, delaysMs: [], delayP50Ms: null, delayMaxMs: null, missed: [],
  };
}

function finish(s: DetectorScore, benignActions: number): DetectorScore {
  s.recall = s.labels ? s.detected / s.labels : 0;
  s.precision = s.hits + s.falseAlerts + s.falseLow ? s.hits / (s.hits + s.falseAlerts + s.falseLow) : 0;
  s.falsePer100k = benignActions ? (s.falseAlerts / benignActions) * 100_000 : 0;
  const d = s.delaysMs.slice().sort((a, b) => a - b);
  s.delayP50Ms = d.length ? d[Math.floor((d.length - 1) / 2)] : null;
  s.delayMaxMs = d.length ? d[d.length - 1] : null;
  return s;
}

/** Scores one scenario's alerts. */
export function score(labels: Label[], alerts: Alert[], manifest: Manifest): ScoreResult {
  const sets = labels.map((l) => ({ l, spans: new Set(l.spanIds), traces: new Set(l.traceIds) }));
  const allLabelTraces = new Set(labels.flatMap((l) => l.traceIds));
  const byDetector = new Map<string, DetectorScore>(DETECTORS.map((d) => [d, emptyScore(d)]));
  const detectedBy = new Map<string, number>();
  const falseAlerts: FalseAlert[] = [];

  for (const l of labels) byDetector.get(l.detector)!.labels++;
  for (const a of alerts) {
    if (!byDetector.has(a.detector)) byDetector.set(a.detector, emptyScore(a.detector));
    const s = byDetector.get(a.detector)!;
    s.alerts++;
    const t = ms(a.eventTime);
    let hit = false;
    for (const { l, spans, traces } of sets) {
      if (l.detector !== a.detector || l.identity !== a.identity || !touches(a, l, spans, traces)) continue;
      hit = true;
      const delay = Math.max(0, t - ms(l.startTime));
      const prev = detectedBy.get(l.id);
      detectedBy.set(l.id, prev === undefined ? delay : Math.min(prev, delay));
    }
    if (hit) {
      s.hits++;
      continue;
    }
    const explained = sets.some(({ l, spans, traces }) => l.identity === a.identity && touches(a, l, spans, traces))
      || (a.evidence?.traceIds ?? []).some((id) => allLabelTraces.has(id));
    if (explained) {
      s.explained++;
      continue;
    }
    const facts = manifest.identityFacts[a.identity];
    if (facts && !facts.joinedLate && t < ms(facts.learned)) {
      s.warmup++;
      continue;
    }
    if (SEVERITY_RANK[a.severity] >= SEVERITY_RANK.medium) s.falseAlerts++;
    else s.falseLow++;
    const nearTraps = [...new Set(manifest.traps
      .filter((tr) => tr.trap !== 'warmup' && tr.identity === a.identity && t >= ms(tr.startTime) && t <= ms(tr.endTime) + 3_600_000)
      .map((tr) => tr.trap))];
    falseAlerts.push({ seed: manifest.seed, detector: a.detector, severity: a.severity, identity: a.identity, eventTime: a.eventTime, title: a.title ?? '', nearTraps });
  }
  for (const l of labels) {
    const s = byDetector.get(l.detector)!;
    const delay = detectedBy.get(l.id);
    if (delay === undefined) s.missed.push(l.id);
    else {
      s.detected++;
      s.delaysMs.push(delay);
    }
  }
  return assemble([manifest.seed], manifest.benignActions, labels.length, [...byDetector.values()], falseAlerts, labels.filter((l) => !detectedBy.has(l.id)));
}

function assemble(seeds: number[], benignActions: number, labels: number, scores: DetectorScore[], falseAlerts: FalseAlert[], missed: Label[]): ScoreResult {
  const total = emptyScore('total');
  for (const s of scores) {
    finish(s, benignActions);
    for (const k of ['labels', 'detected', 'alerts', 'hits', 'explained', 'warmup', 'falseAlerts', 'falseLow'] as const) total[k] += s[k];
    total.delaysMs.push(...s.delaysMs);
    total.missed.push(...s.missed);
  }
  return { seeds, benignActions, labels, perDetector: scores, total: finish(total, benignActions), falseAlerts, missed };
}

/** Sums several seeds' results into one (recall and rates over the pooled counts). */
export function combine(results: ScoreResult[]): ScoreResult {
  const by = new Map<string, DetectorScore>();
  for (const r of results) for (const s of r.perDetector) {
    const acc = by.get(s.detector) ?? emptyScore(s.detector);
    for (const k of ['labels', 'detected', 'alerts', 'hits', 'explained', 'warmup', 'falseAlerts', 'falseLow'] as const) acc[k] += s[k];
    acc.delaysMs.push(...s.delaysMs);
    acc.missed.push(...s.missed);
    by.set(s.detector, acc);
  }
  return assemble(
    results.flatMap((r) => r.seeds), results.reduce((n, r) => n + r.benignActions, 0), results.reduce((n, r) => n + r.labels, 0),
    [...by.values()], results.flatMap((r) => r.falseAlerts), results.flatMap((r) => r.missed),
  );
}

function duration(msValue: number | null): string {
  if (msValue === null) return '-';
  if (msValue < 1000) return `${msValue} ms`;
  if (msValue < 120_000) return `${(msValue / 1000).toFixed(1)} s`;
  return `${(msValue / 60_000).toFixed(1)} min`;
}

/** A fixed-width table, one row per detector and a total. */
export function formatTable(r: ScoreResult): string {
  const head = ['detector', 'labels', 'found', 'recall', 'alerts', 'hits', 'explained', 'warm-up', 'false>=med', 'false low', 'false/100k', 'precision', 'delay p50', 'delay max'];
  const rows = [...r.perDetector.filter((s) => DETECTORS.includes(s.detector as Detector) || s.alerts > 0), r.total].map((s) => [
    s.detector, String(s.labels), String(s.detected), s.labels ? s.recall.toFixed(3) : '-', String(s.alerts), String(s.hits), String(s.explained),
    String(s.warmup), String(s.falseAlerts), String(s.falseLow), s.falsePer100k.toFixed(2), s.hits + s.falseAlerts + s.falseLow ? s.precision.toFixed(3) : '-',
    duration(s.delayP50Ms), duration(s.delayMaxMs),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), ...rows.map((row, i) => (i === rows.length - 1 ? `${'-'.repeat(widths.reduce((a, b) => a + b + 2, -2))}\n${line(row)}` : line(row)))].join('\n');
}

/** The JSON summary (delays in ms; the per-delay arrays left out). */
export function summaryJson(r: ScoreResult): Record<string, unknown> {
  const strip = (s: DetectorScore) => {
    const { delaysMs: _d, missed, ...rest } = s;
    return { ...rest, missed: missed.length };
  };
  return {
    seeds: r.seeds, benignActions: r.benignActions, labels: r.labels,
    perDetector: Object.fromEntries(r.perDetector.map((s) => [s.detector, strip(s)])), total: strip(r.total),
  };
}
