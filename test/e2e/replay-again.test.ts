/**
 * Replaying into a --db an earlier replay wrote (review27 H4): a finding that folds into an alert the
 * earlier run raised crashed the replay (its detector was looked up among this run's alerts only), and
 * the alerts this run had raised before, stored already, were never printed.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { encodeJson, makeSpans, reportsToolCall as toolCall, type SpanSpec } from '../helpers/otlp-payloads.js';
import { CLI, ROOT } from '../helpers/serve-process.js';

const RESOURCE = { 'service.name': 'reporter', 'nhi.identity': 'spiffe://acme.example/agent/reporter' };

function writeLines(file: string, specs: SpanSpec[]): void {
  const lines: string[] = [];
  for (let i = 0; i < specs.length; i += 100) lines.push(encodeJson(makeSpans(specs.slice(i, i + 100), { resource: RESOURCE })));
  fs.writeFileSync(file, lines.join('\n') + '\n');
}

function replay(db: string, file: string) {
  const r = spawnSync(process.execPath, [CLI, 'replay', '--db', db, file], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { ...r, alerts: r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { detector: string; title: string; count: number }) };
}

it('a finding folding into an earlier replay\'s alert is counted, and the run prints its own alerts', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-replay-again-'));
  const db = path.join(dir, 'vigil.db');
  const learn: SpanSpec[] = [];
  for (let i = 0; i < 320; i++) learn.push(...toolCall(48 - (i * 46) / 320, 'reports.read', 'GET', i));
  writeLines(path.join(dir, 'first.jsonl'), [...learn, ...toolCall(1.5, 'reports.delete', 'DELETE', 1000)]);
  // 30 minutes later, within the suppression window: the same delete again (folds), after a new write elsewhere.
  writeLines(path.join(dir, 'second.jsonl'), [...toolCall(1.2, 'reports.archive', 'PUT', 1001), ...toolCall(1, 'reports.delete', 'DELETE', 1002)]);

  const first = replay(db, path.join(dir, 'first.jsonl'));
  expect(first.status, first.stderr).toBe(0);
  expect(first.alerts.map((a) => [a.detector, a.title])).toContainEqual(['unexpected_write', expect.stringContaining('reports.delete')]);

  const second = replay(db, path.join(dir, 'second.jsonl'));
  expect(second.status, second.stderr).toBe(0);
  expect(second.alerts.map((a) => [a.detector, a.title])).toEqual([
    ['unexpected_write', 'Unexpected write on reports.archive'],
    ['scope_drift', 'New tool reports.archive'],
  ]);
  // Each detector: one alert raised, two findings: its own and the delete folded into the first run's alert.
  expect(second.stderr).toContain('alerts      2 (unexpected_write=1 alerts/2 findings scope_drift=1 alerts/2 findings)');
});
