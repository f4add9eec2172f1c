/**
 * `vigil replay` is a backtest: it calls no broker and records no revocation, but an alert a revocation
 * rule matches says so in its `response` (CONTRACT §5), as a dry run (review22 F2: replay left it out,
 * so a backtest could not show what a rule would have revoked).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { encodeJson, makeSpans, reportsToolCall as toolCall, type SpanSpec } from '../helpers/otlp-payloads.js';
import { CLI, ROOT } from '../helpers/serve-process.js';
import { validateAlert } from '../helpers/alert-schema.js';

const ID = 'spiffe://acme.example/agent/reporter';

it('an alert a revocation rule matches carries response {revoke, dry_run}; others carry none', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-replay-response-'));
  const specs: SpanSpec[] = [];
  for (let i = 0; i < 320; i++) specs.push(...toolCall(48 - (i * 47) / 320, 'reports.read', 'GET', i));
  specs.push(...toolCall(0.5, 'reports.delete', 'DELETE', 1000)); // the first write ever
  const lines: string[] = [];
  for (let i = 0; i < specs.length; i += 100) {
    lines.push(encodeJson(makeSpans(specs.slice(i, i + 100), { resource: { 'service.name': 'reporter', 'nhi.identity': ID, 'nhi.credential.id': 'tok-1', 'nhi.credential.type': 'oauth_token' } })));
  }
  fs.writeFileSync(path.join(dir, 'traces.jsonl'), lines.join('\n') + '\n');
  // A broker nothing listens on: a backtest that called it would fail or hang.
  fs.writeFileSync(
    path.join(dir, 'config.yaml'),
    `revocation:
  mode: enforce
  rules: [{ detectors: ["unexpected_write"], minSeverity: "medium", broker: "broker" }]
  brokers: [{ name: "broker", type: "webhook", url: "http://127.0.0.1:9/revoke", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }]
`,
  );
  const r = spawnSync(process.execPath, [CLI, 'replay', '--config', path.join(dir, 'config.yaml'), path.join(dir, 'traces.jsonl')], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  const alerts = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { detector: string; response?: unknown });
  expect(alerts.map((a) => a.detector)).toContain('unexpected_write');
  for (const a of alerts) expect([a.detector, a.response]).toEqual([a.detector, a.detector === 'unexpected_write' ? { action: 'revoke', mode: 'dry_run' } : undefined]);

  for (const a of alerts) expect(validateAlert(a), JSON.stringify(validateAlert.errors)).toBe(true);
});
